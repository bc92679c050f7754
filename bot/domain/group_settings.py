"""What an admin may change about a group with /settings, read from the command's words.

/settings                       show the settings
/settings timezone Europe/Berlin
/settings language zh           the language of notices to the whole group (en or zh)
/settings text on [days]        store message text, erased after `days` (default 30)
/settings text off              stop storing text and erase what is stored
/settings warnlimit 3 mute 1d   warnings before a mute (or ban [1d], or kick); issue 13
/settings warnexpiry 30d        how long a warning counts
/settings digest on|off         the weekly digest to the ops chat; issue 12
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from zoneinfo import available_timezones

from bot.domain.content import WhenError, parse_quiet
from bot.domain.durations import DurationInputError, parse_duration

MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 365
DEFAULT_RETENTION_DAYS = 30

USAGE = (
    "/settings · /settings timezone Europe/Berlin · /settings language zh · "
    "/settings text on 30 · /settings text off"
)

# The languages groupops speaks, by the words an admin may use for them, as Telegram codes.
LANGUAGES = {
    "en": "en",
    "english": "en",
    "zh": "zh-hans",
    "zh-hans": "zh-hans",
    "zh-cn": "zh-hans",
    "chinese": "zh-hans",
    "中文": "zh-hans",
    "ru": "ru",
    "russian": "ru",
    "русский": "ru",
}


@dataclass(frozen=True, slots=True)
class ShowSettings:
    """No change: show what is set."""


@dataclass(frozen=True, slots=True)
class SetTimezone:
    """Count days and schedule in this IANA time zone."""

    timezone: str


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """Write notices to the whole group in this language (a Telegram language code)."""

    language: str


@dataclass(frozen=True, slots=True)
class StoreText:
    """Store message text from now on, erasing each after `days`."""

    days: int


@dataclass(frozen=True, slots=True)
class StopStoringText:
    """Stop storing message text and erase what is stored."""


SettingsChange = ShowSettings | SetTimezone | SetLanguage | StoreText | StopStoringText


@dataclass(frozen=True)
class SettingsInputError(ValueError):
    """The words do not form a setting. `problem` is an English template for `values`."""

    problem: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.problem.format(**self.values)


@cache
def _zones() -> dict[str, str]:
    """IANA zone names by their lower-case spelling (people type "europe/berlin")."""
    return {name.lower(): name for name in available_timezones()}


def canonical_timezone(name: str) -> str | None:
    """The IANA spelling of a zone name typed in any case, or None if there is no such zone."""
    return _zones().get(name.strip().lower())


def parse_settings(
    args: str | None,
) -> SettingsChange | WarnChange | SetDigest | SetQuietHours:
    """Read a /settings command's arguments; raise SettingsInputError saying what is wrong."""
    words = (args or "").split()
    if not words:
        return ShowSettings()
    name, rest = words[0].lower(), words[1:]
    if name in ("timezone", "tz"):
        return _timezone(rest)
    if name in ("language", "lang"):
        return _language(rest)
    if name == "text":
        return _text(rest)
    if name in ("warnlimit", "warnexpiry"):
        return _warns(name, rest)
    if name == "digest":
        return _digest(rest)
    if name == "quiet":
        return _quiet_hours(rest)
    raise SettingsInputError("There is no setting “{name}”.", {"name": words[0]})


def _timezone(rest: list[str]) -> SetTimezone:
    if len(rest) != 1:
        raise SettingsInputError("Give one time zone name, like Europe/Berlin or Asia/Shanghai.")
    zone = canonical_timezone(rest[0])
    if zone is None:
        raise SettingsInputError(
            "“{zone}” is not a time zone name; use one like Europe/Berlin or Asia/Shanghai.",
            {"zone": rest[0]},
        )
    return SetTimezone(zone)


def _language(rest: list[str]) -> SetLanguage:
    code = LANGUAGES.get(rest[0].lower().replace("_", "-")) if len(rest) == 1 else None
    if code is None:
        raise SettingsInputError(
            "Choose the language: en (English), zh (简体中文) or ru (Русский)."
        )
    return SetLanguage(code)


def _text(rest: list[str]) -> StoreText | StopStoringText:
    choice = rest[0].lower() if rest else ""
    if choice == "off" and len(rest) == 1:
        return StopStoringText()
    if choice == "on" and len(rest) == 1:
        return StoreText(DEFAULT_RETENTION_DAYS)
    if choice == "on" and len(rest) == 2:
        days = rest[1].lower().removesuffix("d")
        # ASCII digits only: "²".isdigit() holds but int("²") raises; and no 5,000-digit ints.
        if (
            days.isascii()
            and days.isdecimal()
            and len(days) <= 4
            and MIN_RETENTION_DAYS <= int(days) <= MAX_RETENTION_DAYS
        ):
            return StoreText(int(days))
        raise SettingsInputError(
            "Keep text for {low} to {high} days, not “{days}”.",
            {"low": MIN_RETENTION_DAYS, "high": MAX_RETENTION_DAYS, "days": rest[1]},
        )
    raise SettingsInputError("Say “text on”, “text on 30” (days to keep it) or “text off”.")


# --- warnings (issue 13: moderation) -----------------------------------------------------------

WARN_USAGE = "/settings warnlimit 3 mute 1d · /settings warnlimit 3 ban · /settings warnexpiry 30d"


@dataclass(frozen=True, slots=True)
class SetWarnLimit:
    """After `limit` active warnings: mute or ban (for `seconds`, 0 for ever), or kick."""

    limit: int
    punishment: str  # "mute", "ban" or "kick"
    seconds: int


@dataclass(frozen=True, slots=True)
class SetWarnExpiry:
    """A warning stops counting after `days`."""

    days: int


WarnChange = SetWarnLimit | SetWarnExpiry


def _warns(name: str, rest: list[str]) -> WarnChange:
    if name == "warnexpiry":
        days = rest[0].lower().removesuffix("d") if len(rest) == 1 else ""
        if days.isascii() and days.isdecimal() and len(days) <= 3 and 1 <= int(days) <= 365:
            return SetWarnExpiry(int(days))
        raise SettingsInputError("Warnings can count for 1 to 365 days, like “warnexpiry 30d”.")
    count = rest[0] if rest else ""
    if not (count.isascii() and count.isdecimal() and len(count) <= 2 and 1 <= int(count) <= 20):
        raise SettingsInputError("The warn limit is a number from 1 to 20, like “warnlimit 3”.")
    punishment = rest[1].lower() if len(rest) > 1 else "mute"
    if punishment not in ("mute", "ban", "kick") or len(rest) > 3:
        raise SettingsInputError(
            "After the limit: mute [for how long], ban [for how long] or kick."
        )
    seconds = 86_400 if punishment == "mute" and len(rest) < 3 else 0
    if len(rest) == 3:
        if punishment == "kick":
            raise SettingsInputError("A kick takes no duration.")
        try:
            seconds = parse_duration(rest[2])
        except DurationInputError as error:
            raise SettingsInputError(error.problem, error.values) from error
        if seconds < 30:
            raise SettingsInputError("A mute or ban lasts at least 30 seconds.")
    return SetWarnLimit(int(count), punishment, seconds)


# --- the weekly digest (issue 12: analytics) ---------------------------------------------------

DIGEST_USAGE = "/settings digest on · /settings digest off"


@dataclass(frozen=True, slots=True)
class SetDigest:
    """Send (or stop sending) the group's weekly digest to the ops chat."""

    enabled: bool


def _digest(rest: list[str]) -> SetDigest:
    word = rest[0].lower() if len(rest) == 1 else ""
    if word in ("on", "off"):
        return SetDigest(word == "on")
    raise SettingsInputError("Say “digest on” or “digest off”.")


# --- quiet hours for scheduled content (issue 11) ----------------------------------------------

QUIET_USAGE = "/settings quiet 23:00-07:00 · /settings quiet off"


@dataclass(frozen=True, slots=True)
class SetQuietHours:
    """No scheduled posts from `start` to `end` (the group's wall time); None: no quiet hours.
    A post due in them goes out at their end."""

    start: str | None
    end: str | None


def _quiet_hours(rest: list[str]) -> SetQuietHours:
    words = "".join(rest).lower()
    if words == "off":
        return SetQuietHours(None, None)
    try:
        quiet = parse_quiet(words)
    except WhenError:
        raise SettingsInputError("Give quiet hours as 23:00-07:00, or “off”.") from None
    if quiet is None:
        return SetQuietHours(None, None)
    return SetQuietHours(f"{quiet.start:%H:%M}", f"{quiet.end:%H:%M}")
