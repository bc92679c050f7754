"""Moderation's pure rules: whom a command targets, warn limits and expiry, refusals and locks.

Commands read `[target] [duration] [reason]`: the target is the replied-to message's author,
or a first word `@username` or numeric id; a duration (`10m`, `2h`, `1d12h`, read by
`bot/domain/durations.py`) must carry a unit here, because a bare number is a member's id or
the start of a reason. Problems are English templates (`ModerationInputError`) the handlers
translate and answer with the command's right form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.durations import DurationInputError, parse_duration
from bot.domain.events import MessageKind
from bot.domain.rights import Gap

DEFAULT_WARN_LIMIT = 3
DEFAULT_WARN_SECONDS = 86_400  # a day's mute when the limit is reached
DEFAULT_WARN_EXPIRY_DAYS = 30
MAX_WARN_LIMIT = 20
MAX_EXPIRY_DAYS = 365
# Telegram treats a restriction shorter than 30 s (or longer than 366 days) as for ever.
SHORTEST_RESTRICTION = 30
REASON_LIMIT = 200  # characters of a reason kept in the log
RULES_LIMIT = 3_500  # a /rules text fits one message with its heading
WELCOME_LIMIT = 1_000

_USERNAME = re.compile(r"@([A-Za-z0-9_]{2,32})")
_USER_ID = re.compile(r"\d{1,15}", re.ASCII)


class ModAction(StrEnum):
    """What a moderator did (the log's `what`)."""

    WARN = "warn"
    UNWARN = "unwarn"
    MUTE = "mute"
    UNMUTE = "unmute"
    BAN = "ban"
    UNBAN = "unban"
    KICK = "kick"
    DELETE = "delete"
    PURGE = "purge"
    LOCK = "lock"
    UNLOCK = "unlock"
    RULES = "rules"  # set or cleared
    WELCOME = "welcome"  # on (or changed) or off


class WarnPunishment(StrEnum):
    """What reaching the warn limit does."""

    MUTE = "mute"
    BAN = "ban"
    KICK = "kick"


class LockKind(StrEnum):
    """Content a group may lock: posted by a non-admin, it is deleted."""

    LINKS = "links"
    FORWARDS = "forwards"
    MEDIA = "media"
    STICKERS = "stickers"


# The admin right each action needs from the bot (a warning may end in a mute or ban).
RIGHT_NEEDED: dict[ModAction, Gap] = {
    ModAction.WARN: Gap.CANNOT_RESTRICT,
    ModAction.MUTE: Gap.CANNOT_RESTRICT,
    ModAction.UNMUTE: Gap.CANNOT_RESTRICT,
    ModAction.BAN: Gap.CANNOT_RESTRICT,
    ModAction.UNBAN: Gap.CANNOT_RESTRICT,
    ModAction.KICK: Gap.CANNOT_RESTRICT,
    ModAction.DELETE: Gap.CANNOT_DELETE,
    ModAction.PURGE: Gap.CANNOT_DELETE,
    ModAction.LOCK: Gap.CANNOT_DELETE,
}


@dataclass(frozen=True, slots=True)
class WarnPolicy:
    """How many active warnings a member may have, what the last one does, when one expires."""

    limit: int = DEFAULT_WARN_LIMIT
    punishment: WarnPunishment = WarnPunishment.MUTE
    seconds: int = DEFAULT_WARN_SECONDS  # for a mute or ban; 0 for ever
    expiry_days: int = DEFAULT_WARN_EXPIRY_DAYS

    def counts_since(self, now: datetime) -> datetime:
        """Warnings given before this no longer count."""
        return now - timedelta(days=self.expiry_days)


@dataclass(frozen=True, slots=True)
class ModerationSettings:
    """A group's moderation settings as stored (a group without a row has these defaults)."""

    chat_id: int
    warn: WarnPolicy = WarnPolicy()
    rules: str | None = None
    welcome: str | None = None  # None: no welcome
    locks: frozenset[LockKind] = frozenset()


@dataclass(frozen=True, slots=True)
class Person:
    """Someone a moderation entry names: a member (by id) or a chat posting as itself."""

    user_id: int | None
    name: str


@dataclass(frozen=True, slots=True)
class WarningRecord:
    """One warning as stored."""

    id: int
    chat_id: int
    user_id: int
    reason: str
    given_by: str
    given_at: datetime


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One moderation action: who, whom, what, why, when, until."""

    chat_id: int
    actor: Person
    action: ModAction
    at: datetime
    target: Person | None = None
    reason: str = ""
    until: datetime | None = None  # for a mute or ban; None for ever or not timed
    count: int | None = None  # messages a purge deleted, warnings for a warning


@dataclass(frozen=True, slots=True)
class Joined:
    """A member's join, as the welcome reads it from the recorded events."""

    event_id: int
    user_id: int
    name: str
    at: datetime
    is_bot: bool = False


# --- the words of a command ---------------------------------------------------------------------


@dataclass(frozen=True)
class ModerationInputError(ValueError):
    """The words do not form the command. `problem` is an English template for `values`."""

    problem: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.problem.format(**self.values)


@dataclass(frozen=True, slots=True)
class ByUsername:
    username: str  # without the @


@dataclass(frozen=True, slots=True)
class ById:
    user_id: int


TargetRef = ByUsername | ById


@dataclass(frozen=True, slots=True)
class ModArgs:
    """A moderation command's words: its target (None: the replied-to message's author), how
    long (seconds; None for ever or not asked), and why."""

    target: TargetRef | None
    seconds: int | None = None
    reason: str = ""


NO_TARGET = "Reply to the member's message, or name them: @username or their numeric id."


def read_target(word: str) -> TargetRef | None:
    """`@username` or a numeric id, or None when the word is neither."""
    if (named := _USERNAME.fullmatch(word)) is not None:
        return ByUsername(named.group(1))
    if _USER_ID.fullmatch(word) is not None:
        return ById(int(word))
    return None


def parse_mod_args(args: str | None, *, replied: bool, timed: bool = False) -> ModArgs:
    """Read `[target] [duration] [reason]`; a reply names the target, so its words are
    `[duration] [reason]`. `timed` commands (/mute, /ban) take a duration."""
    words = (args or "").split()
    target: TargetRef | None = None
    if not replied:
        if not words:
            raise ModerationInputError(NO_TARGET)
        target = read_target(words[0])
        if target is None:
            raise ModerationInputError(
                "“{word}” is not a member: use @username or their numeric id, or reply to "
                "their message.",
                {"word": words[0]},
            )
        words = words[1:]
    seconds = None
    if timed and words and _looks_timed(words[0]):
        seconds = restriction_seconds(words[0])
        words = words[1:]
    return ModArgs(target, seconds, " ".join(words)[:REASON_LIMIT])


def _looks_timed(word: str) -> bool:
    # A word starting with a digit and carrying letters is meant as a duration ("10m", "2h");
    # digits alone are a reason's start ("3 times"), since a bare number would be seconds.
    return word[:1].isdigit() and not word.isdigit()


def restriction_seconds(word: str) -> int:
    """A mute's or ban's length; at least 30 s, which Telegram would take as for ever."""
    try:
        seconds = parse_duration(word)
    except DurationInputError as error:
        raise ModerationInputError(error.problem, error.values) from error
    if seconds < SHORTEST_RESTRICTION:
        raise ModerationInputError(
            "A mute or ban lasts at least 30 seconds (Telegram would take a shorter one as for "
            "ever)."
        )
    return seconds


# --- whom a command may target ------------------------------------------------------------------


class Refusal(StrEnum):
    """Why a moderation command is refused before it reaches Telegram."""

    TARGET_IS_ADMIN = "target_is_admin"  # admins (and anonymous admins) are not moderated
    TARGET_IS_BOT = "target_is_bot"  # the bot itself
    TARGET_IS_CHANNEL = "target_is_channel"  # a message posted as a channel
    UNKNOWN_MEMBER = "unknown_member"  # an @username never seen in the group


def refusal(
    chat_id: int,
    user_id: int | None,
    sender_chat_id: int | None,
    *,
    bot_id: int,
    admins: Iterable[int],
) -> Refusal | None:
    """Whether a member (or a message's sender chat) may be warned, muted, banned or kicked."""
    if sender_chat_id is not None:
        # An anonymous admin posts as the group itself; anything else is a channel.
        return Refusal.TARGET_IS_ADMIN if sender_chat_id == chat_id else Refusal.TARGET_IS_CHANNEL
    if user_id is None:
        return Refusal.UNKNOWN_MEMBER
    if user_id == bot_id:
        return Refusal.TARGET_IS_BOT
    if user_id in set(admins):
        return Refusal.TARGET_IS_ADMIN
    return None


# --- warnings -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarnOutcome:
    """What a new warning leads to: the count after it, and the punishment once at the limit."""

    count: int
    limit: int
    punishment: WarnPunishment | None = None
    until: datetime | None = None  # when the punishment ends; None for ever (or a kick)


def after_warning(active: int, policy: WarnPolicy, now: datetime) -> WarnOutcome:
    """`active` counts the new warning; at the limit the policy's punishment applies."""
    if active < policy.limit:
        return WarnOutcome(active, policy.limit)
    timed = policy.punishment is not WarnPunishment.KICK and policy.seconds > 0
    until = now + timedelta(seconds=policy.seconds) if timed else None
    return WarnOutcome(active, policy.limit, policy.punishment, until)


def active_warnings(given: Iterable[datetime], policy: WarnPolicy, now: datetime) -> int:
    """How many of these warnings still count (younger than the policy's expiry)."""
    since = policy.counts_since(now)
    return sum(1 for at in given if at > since)


# --- locks --------------------------------------------------------------------------------------

_LOCK_WORDS = {
    "links": LockKind.LINKS,
    "link": LockKind.LINKS,
    "url": LockKind.LINKS,
    "urls": LockKind.LINKS,
    "forwards": LockKind.FORWARDS,
    "forward": LockKind.FORWARDS,
    "media": LockKind.MEDIA,
    "photos": LockKind.MEDIA,
    "stickers": LockKind.STICKERS,
    "sticker": LockKind.STICKERS,
}
LOCK_USAGE = "/lock links|forwards|media|stickers · /unlock links|forwards|media|stickers"


def parse_lock_kinds(args: str | None) -> frozenset[LockKind]:
    """The kinds named (`links forwards`, `all`); raise ModerationInputError otherwise."""
    words = (args or "").replace(",", " ").lower().split()
    if not words:
        raise ModerationInputError(
            "Name what to lock or unlock: links, forwards, media or stickers."
        )
    if words == ["all"]:
        return frozenset(LockKind)
    kinds = set()
    for word in words:
        kind = _LOCK_WORDS.get(word)
        if kind is None:
            raise ModerationInputError(
                "“{word}” cannot be locked: choose links, forwards, media or stickers.",
                {"word": word},
            )
        kinds.add(kind)
    return frozenset(kinds)


def locked_kind(
    message_kind: MessageKind | None, has_link: bool, locks: frozenset[LockKind]
) -> LockKind | None:
    """The locked kind a message is, if any (a forward first, then stickers, media, links)."""
    if not locks:
        return None
    if message_kind is MessageKind.FORWARD and LockKind.FORWARDS in locks:
        return LockKind.FORWARDS
    if message_kind is MessageKind.STICKER and LockKind.STICKERS in locks:
        return LockKind.STICKERS
    if message_kind is MessageKind.MEDIA and LockKind.MEDIA in locks:
        return LockKind.MEDIA
    if has_link and LockKind.LINKS in locks:
        return LockKind.LINKS
    return None


class Cooldown:
    """At most one event per key per `every` seconds (lock notices per chat, reports per
    member). Bounded: the oldest keys are forgotten past `max_keys`."""

    def __init__(self, every: float, max_keys: int = 100_000) -> None:
        self._every = every
        self._max_keys = max_keys
        self._last: dict[object, float] = {}

    def ready(self, key: object, now: float) -> bool:
        """True (and the key's time taken) when `key` last went `every` seconds ago or never."""
        last = self._last.get(key)
        if last is not None and now - last < self._every:
            return False
        if last is None and len(self._last) >= self._max_keys:
            del self._last[next(iter(self._last))]
        self._last.pop(key, None)
        self._last[key] = now
        return True

    def wait(self, key: object, now: float) -> float:
        """Seconds until `key` is ready again (0 when it is)."""
        last = self._last.get(key)
        return 0.0 if last is None else max(0.0, self._every - (now - last))


# --- the welcome --------------------------------------------------------------------------------

WELCOME_QUIET = timedelta(seconds=10)  # joins this close together share one welcome
WELCOME_LONGEST = timedelta(seconds=60)  # …but the first joiner waits no longer than this
WELCOME_MOST = 50  # and no more people than this in one


def welcome_due(joins: list[Joined], now: datetime) -> bool:
    """Whether waiting joins are welcomed now: the joining has paused, the first has waited
    long enough, or the batch is full. Many joining at once get one welcome, not one each."""
    if not joins:
        return False
    return (
        len(joins) >= WELCOME_MOST
        or now - joins[-1].at >= WELCOME_QUIET
        or now - joins[0].at >= WELCOME_LONGEST
    )
