"""The words of `/adcap`: show, a cap (`12%`), a window (`window 3d`), a policy, exemptions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bot.domain.durations import DurationInputError, format_duration, parse_duration

USAGE = (
    "/adcap · /adcap 12% · /adcap window 3d · /adcap policy delete|warn|mute 1h|report · "
    "/adcap exempt @user · /adcap unexempt @user"
)
POLICIES = ("delete", "warn", "mute", "report")
MIN_CAP_PERCENT = 1
MAX_CAP_PERCENT = 90  # a cap of 100% is no cap; above 90 the budget arithmetic means little
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=30)  # what the watcher's in-memory tally holds
DEFAULT_MUTE = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ShowAdCap:
    """No change: show the share, the budget and the settings."""


@dataclass(frozen=True, slots=True)
class SetCap:
    cap: float  # a fraction, 0.12 for 12%


@dataclass(frozen=True, slots=True)
class SetWindow:
    window: timedelta


@dataclass(frozen=True, slots=True)
class SetPolicy:
    policy: str  # one of POLICIES
    mute: timedelta = timedelta(0)  # for "mute"


@dataclass(frozen=True, slots=True)
class Exempt:
    username: str  # without the @
    exempt: bool


AdCapChange = ShowAdCap | SetCap | SetWindow | SetPolicy | Exempt


@dataclass(frozen=True)
class AdCapInputError(ValueError):
    """The words do not form an /adcap change. `problem` is an English template for `values`."""

    problem: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.problem.format(**self.values)


def parse_adcap(args: str | None) -> AdCapChange:
    """Read an /adcap command's arguments; raise AdCapInputError saying what is wrong."""
    words = (args or "").split()
    if not words:
        return ShowAdCap()
    name, rest = words[0].lower(), words[1:]
    if name == "window":
        return _window(rest)
    if name == "policy":
        return _policy(rest)
    if name in ("exempt", "unexempt"):
        return _exempt(rest, name == "exempt")
    if len(words) == 1 and words[0][0].isdigit():
        return _cap(words[0])
    raise AdCapInputError("There is no /adcap setting “{name}”.", {"name": words[0]})


def _cap(word: str) -> SetCap:
    digits = word.removesuffix("%")
    try:
        percent = float(digits)
    except ValueError:
        raise AdCapInputError("“{cap}” is not a percentage, like 12%.", {"cap": word}) from None
    if not MIN_CAP_PERCENT <= percent <= MAX_CAP_PERCENT:
        raise AdCapInputError(
            "The cap must be from {low}% to {high}%, not {cap}.",
            {"low": MIN_CAP_PERCENT, "high": MAX_CAP_PERCENT, "cap": word},
        )
    return SetCap(round(percent / 100, 4))


def _window(rest: list[str]) -> SetWindow:
    if not rest:
        raise AdCapInputError("Give the window, like 3d or 24h.")
    try:
        window = timedelta(seconds=parse_duration(" ".join(rest)))
    except DurationInputError as error:
        raise AdCapInputError(error.problem, error.values) from None
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise AdCapInputError(
            "The window must be from {low} to {high}.",
            {
                "low": format_duration(int(MIN_WINDOW.total_seconds())),
                "high": format_duration(int(MAX_WINDOW.total_seconds())),
            },
        )
    return SetWindow(window)


def _policy(rest: list[str]) -> SetPolicy:
    choice = rest[0].lower() if rest else ""
    if choice == "mute" and len(rest) <= 2:
        if len(rest) == 1:
            return SetPolicy("mute", DEFAULT_MUTE)
        try:
            return SetPolicy("mute", timedelta(seconds=parse_duration(rest[1])))
        except DurationInputError as error:
            raise AdCapInputError(error.problem, error.values) from None
    if choice in POLICIES and len(rest) == 1:
        return SetPolicy(choice)
    raise AdCapInputError("Choose the policy: delete, warn, mute 1h or report.")


def _exempt(rest: list[str], exempt: bool) -> Exempt:
    if len(rest) != 1 or not rest[0].startswith("@") or len(rest[0]) < 2:
        raise AdCapInputError("Name one member by their @username.")
    return Exempt(rest[0][1:], exempt)
