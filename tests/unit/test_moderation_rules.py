"""Moderation's pure rules: command words (targets, durations, reasons), refusals, the warn
limit and expiry, locks, the cooldown and the welcome's batching; and every problem and
string translated."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.events import MessageKind
from bot.domain.group_settings import (
    SettingsInputError,
    SetWarnExpiry,
    SetWarnLimit,
    parse_settings,
)
from bot.domain.moderation import (
    ById,
    ByUsername,
    Cooldown,
    Joined,
    LockKind,
    ModArgs,
    ModerationInputError,
    Refusal,
    WarnPolicy,
    WarnPunishment,
    active_warnings,
    after_warning,
    locked_kind,
    parse_lock_kinds,
    parse_mod_args,
    refusal,
    welcome_due,
)
from handlers.i18n import gettext, translations

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("args", "replied", "timed", "expected"),
    [
        ("@ann spam", False, False, ModArgs(ByUsername("ann"), None, "spam")),
        ("123456789", False, False, ModArgs(ById(123456789), None, "")),
        (
            "@ann 10m flooding the chat",
            False,
            True,
            ModArgs(ByUsername("ann"), 600, "flooding the chat"),
        ),
        ("@ann 1d12h", False, True, ModArgs(ByUsername("ann"), 129_600, "")),
        ("2h off topic", True, True, ModArgs(None, 7_200, "off topic")),
        ("3 times in a row", True, True, ModArgs(None, None, "3 times in a row")),  # not 3 s
        ("10m spam", True, False, ModArgs(None, None, "10m spam")),  # /warn takes no duration
        (None, True, True, ModArgs(None, None, "")),
        ("@ann " + "x" * 300, False, False, ModArgs(ByUsername("ann"), None, "x" * 200)),
    ],
)
def test_reads_targets_durations_and_reasons(
    args: str | None, replied: bool, timed: bool, expected: ModArgs
) -> None:
    assert parse_mod_args(args, replied=replied, timed=timed) == expected


@pytest.mark.parametrize(
    ("args", "timed", "problem"),
    [
        (None, False, "Reply to the member's message"),
        ("ann spam", False, "“{word}” is not a member"),
        ("@a", False, "“{word}” is not a member"),  # too short for a username
        ("@ann 10x", True, "“{text}” is not a duration"),
        ("@ann 10s", True, "at least 30 seconds"),
        ("@ann 400d", True, "A duration must be at most"),
    ],
)
def test_refuses_wrong_words_with_a_reason(args: str | None, timed: bool, problem: str) -> None:
    with pytest.raises(ModerationInputError) as caught:
        parse_mod_args(args, replied=False, timed=timed)
    assert problem in caught.value.problem


def test_who_may_not_be_moderated() -> None:
    chat, bot = -100, 7
    assert refusal(chat, 5, None, bot_id=bot, admins=[1, 2]) is None
    assert refusal(chat, 1, None, bot_id=bot, admins=[1, 2]) is Refusal.TARGET_IS_ADMIN
    assert refusal(chat, 7, None, bot_id=bot, admins=[1, 7]) is Refusal.TARGET_IS_BOT
    assert refusal(chat, None, chat, bot_id=bot, admins=[]) is Refusal.TARGET_IS_ADMIN  # anonymous
    assert refusal(chat, None, -200, bot_id=bot, admins=[]) is Refusal.TARGET_IS_CHANNEL
    assert refusal(chat, None, None, bot_id=bot, admins=[]) is Refusal.UNKNOWN_MEMBER


def test_the_limit_punishes_with_an_end_time() -> None:
    policy = WarnPolicy()
    assert after_warning(2, policy, NOW).punishment is None
    reached = after_warning(3, policy, NOW)
    assert reached.punishment is WarnPunishment.MUTE
    assert reached.until == NOW + timedelta(days=1)
    ban = after_warning(2, WarnPolicy(2, WarnPunishment.BAN, 0), NOW)
    assert (ban.punishment, ban.until) == (WarnPunishment.BAN, None)  # for ever
    kick = after_warning(5, WarnPolicy(5, WarnPunishment.KICK, 3600), NOW)
    assert (kick.punishment, kick.until) == (WarnPunishment.KICK, None)


def test_warnings_expire() -> None:
    policy = WarnPolicy(expiry_days=30)
    given = [NOW - timedelta(days=31), NOW - timedelta(days=30), NOW - timedelta(days=29), NOW]
    assert active_warnings(given, policy, NOW) == 2
    assert policy.counts_since(NOW) == NOW - timedelta(days=30)


@pytest.mark.parametrize(
    ("args", "kinds"),
    [
        ("links", {LockKind.LINKS}),
        ("url, stickers", {LockKind.LINKS, LockKind.STICKERS}),
        ("ALL", set(LockKind)),
        ("forward media", {LockKind.FORWARDS, LockKind.MEDIA}),
    ],
)
def test_reads_lock_kinds(args: str, kinds: set[LockKind]) -> None:
    assert parse_lock_kinds(args) == kinds


@pytest.mark.parametrize("args", [None, "", "everything", "links gifs"])
def test_refuses_unknown_lock_kinds(args: str | None) -> None:
    with pytest.raises(ModerationInputError):
        parse_lock_kinds(args)


def test_which_locked_kind_a_message_is() -> None:
    every = frozenset(LockKind)
    assert locked_kind(MessageKind.TEXT, False, every) is None
    assert locked_kind(MessageKind.TEXT, True, every) is LockKind.LINKS
    assert locked_kind(MessageKind.FORWARD, True, every) is LockKind.FORWARDS
    assert locked_kind(MessageKind.STICKER, False, every) is LockKind.STICKERS
    assert locked_kind(MessageKind.MEDIA, True, every) is LockKind.MEDIA
    assert locked_kind(MessageKind.MEDIA, True, frozenset({LockKind.LINKS})) is LockKind.LINKS
    assert locked_kind(MessageKind.TEXT, True, frozenset({LockKind.MEDIA})) is None
    assert locked_kind(MessageKind.FORWARD, False, frozenset()) is None


def test_cooldown_lets_one_through_per_period() -> None:
    gate = Cooldown(60)
    assert gate.ready("a", 0)
    assert not gate.ready("a", 59)
    assert gate.wait("a", 59) == pytest.approx(1)
    assert gate.ready("b", 59)
    assert gate.ready("a", 60)


def _joins(*seconds_ago: int) -> list[Joined]:
    return [
        Joined(i, 100 + i, f"M{i}", NOW - timedelta(seconds=ago))
        for i, ago in enumerate(seconds_ago)
    ]


def test_the_welcome_waits_for_joining_to_pause() -> None:
    assert not welcome_due([], NOW)
    assert not welcome_due(_joins(5, 3), NOW)  # still coming
    assert welcome_due(_joins(20, 12), NOW)  # a pause of 10 s
    assert welcome_due(_joins(61, 5), NOW)  # the first waited a minute
    assert welcome_due(_joins(*([1] * 50)), NOW)  # a full batch


@pytest.mark.parametrize(
    ("args", "change"),
    [
        ("warnlimit 3", SetWarnLimit(3, "mute", 86_400)),
        ("warnlimit 3 mute 1d", SetWarnLimit(3, "mute", 86_400)),
        ("warnlimit 5 mute 2h", SetWarnLimit(5, "mute", 7_200)),
        ("warnlimit 2 ban", SetWarnLimit(2, "ban", 0)),
        ("warnlimit 2 ban 7d", SetWarnLimit(2, "ban", 604_800)),
        ("warnlimit 4 kick", SetWarnLimit(4, "kick", 0)),
        ("warnexpiry 30d", SetWarnExpiry(30)),
        ("warnexpiry 7", SetWarnExpiry(7)),
    ],
)
def test_reads_the_warn_settings(args: str, change: object) -> None:
    assert parse_settings(args) == change


@pytest.mark.parametrize(
    "args",
    [
        "warnlimit",
        "warnlimit 0",
        "warnlimit 21",
        "warnlimit ３",
        "warnlimit 3 shout",
        "warnlimit 3 kick 1d",
        "warnlimit 3 mute 10s",
        "warnlimit 3 mute forever",
        "warnlimit 3 mute 1d extra",
        "warnexpiry 0d",
        "warnexpiry 1000",
    ],
)
def test_refuses_wrong_warn_settings(args: str) -> None:
    with pytest.raises(SettingsInputError):
        parse_settings(args)


def _templates(path: Path, names: set[str]) -> tuple[set[str], set[tuple[str, str]]]:
    """English strings in a module: the first argument of `names(...)` calls, the text of
    `_(locale, …)`, `_usage(locale, name, …)` and `MenuEntry(scope, command, …)`, and the
    (singular, plural) pairs of `ngettext`."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    plurals: set[tuple[str, str]] = set()
    at = {"_": 1, "_usage": 2, "MenuEntry": 2}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", "")
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        if name in names and args and isinstance(args[0], str):
            found.add(args[0])
        if name in at and len(args) > at[name] and isinstance(args[at[name]], str):
            found.add(args[at[name]])  # type: ignore[arg-type]
        if name == "ngettext" and len(args) > 2 and isinstance(args[1], str):
            plurals.add((args[1], args[2]))  # type: ignore[arg-type]
    return found, plurals


def _tables(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Dict) and not any(
            isinstance(t, ast.Name) and t.id in ("FORMS", "_RESTRICTIONS")
            for t in getattr(node, "targets", [getattr(node, "target", None)])
        ):
            found.update(
                v.value
                for v in value.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
    return found


def _warn_settings_problems() -> set[str]:
    """The /settings warnlimit and warnexpiry problems (the section after its heading)."""
    source = (ROOT / "bot" / "domain" / "group_settings.py").read_text()
    section = source[source.index("# --- warnings (issue 13") :]
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(section))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "SettingsInputError"
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_moderation_string_is_translated() -> None:
    handlers = ROOT / "handlers" / "moderation.py"
    problems = _warn_settings_problems()
    assert len(problems) >= 5
    texts, plurals = _templates(handlers, set())
    domain, _ = _templates(ROOT / "bot" / "domain" / "moderation.py", {"ModerationInputError"})
    strings = problems | texts | domain | _tables(handlers)
    strings |= {"Locked messages deleted", "👋 Welcome, {names}!", "a mute for {time}"}
    strings -= {"en"}
    assert len(strings) >= 100  # the walker found the strings, not nothing
    assert len(plurals) >= 3
    for locale in ("zh_Hans", "ru"):
        missing = sorted(s for s in strings if gettext(locale, s) == s)
        catalogue = translations(locale)
        missing += [one for one, many in plurals if catalogue.ngettext(one, many, 5) == many]
        assert missing == [], locale
        changed = [s for s in strings if _fields(gettext(locale, s)) != _fields(s)]
        assert changed == [], locale  # a translation keeps every placeholder


def _fields(text: str) -> set[str]:
    return set(re.findall(r"{(\w+)}", text))
