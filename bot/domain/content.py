"""Content on the PDCA loop, the pure parts: the item's state machine, `<when>`, quiet hours.

An item moves idea → draft → approved → scheduled → published → measured → reviewed, and may
also be rejected, paused, cancelled, deferred (a promo over the ad-share cap), missed (down past
the grace period) or failed (Telegram refused it). `step` says what an action does to a state,
or why it may not, as data; the service stores each transition with who and when.

A recurring item stays scheduled: each occurrence is a post of its own (published, measured,
reviewed, missed, failed), and the item carries its next due time. A one-off item follows its
only post.

`<when>` is read in the group's time zone. Recurrences are rules (`Rule`) whose next run is
computed by APScheduler's `CronTrigger` outside the domain (`bot/recurrence.py`), handed in as
`NextRun`, so no calendar arithmetic is written here. Wall times are turned into instants with
zoneinfo: a time in the spring-forward gap is moved past the gap, an ambiguous one (the hour
that repeats in autumn) is its first instance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

GRACE = timedelta(minutes=15)  # a post missed while down still goes out this late
MEASURE_AFTER = (timedelta(hours=1), timedelta(hours=6), timedelta(hours=24))
MAX_TITLE = 120


class ContentKind(StrEnum):
    ORGANIC = "organic"
    ANNOUNCEMENT = "announcement"
    PROMO = "promo"


class ContentState(StrEnum):
    IDEA = "idea"
    DRAFT = "draft"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PAUSED = "paused"
    DEFERRED = "deferred"
    PUBLISHED = "published"
    MEASURED = "measured"
    REVIEWED = "reviewed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    MISSED = "missed"
    FAILED = "failed"


# States in which the item waits for its due time (the tick's index).
WAITING = frozenset({ContentState.SCHEDULED, ContentState.DEFERRED})
# No action changes these (a one-off's post has its own life: measured, reviewed).
CLOSED = frozenset({ContentState.REJECTED, ContentState.CANCELLED})


class ContentAction(StrEnum):
    WRITE = "write"  # a body is given (idea → draft, or a draft rewritten)
    APPROVE = "approve"
    REJECT = "reject"
    SCHEDULE = "schedule"  # also /move: a new time for a scheduled item
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"
    DEFER = "defer"  # the ad cap: not now, at a later time
    PUBLISH = "publish"
    MISS = "miss"
    FAIL = "fail"
    MEASURE = "measure"  # the 24 h measure is stored
    REVIEW = "review"


_EDITABLE = {ContentState.IDEA, ContentState.DRAFT, ContentState.APPROVED}
_ALLOWED: dict[ContentAction, frozenset[ContentState]] = {
    ContentAction.WRITE: frozenset(_EDITABLE),
    ContentAction.APPROVE: frozenset({ContentState.DRAFT}),
    ContentAction.REJECT: frozenset({ContentState.IDEA, ContentState.DRAFT, ContentState.APPROVED}),
    ContentAction.SCHEDULE: frozenset(
        {
            ContentState.APPROVED,
            ContentState.SCHEDULED,
            ContentState.DEFERRED,
            ContentState.MISSED,
            ContentState.FAILED,
        }
    ),
    ContentAction.PAUSE: frozenset({ContentState.SCHEDULED, ContentState.DEFERRED}),
    ContentAction.RESUME: frozenset({ContentState.PAUSED}),
    ContentAction.CANCEL: frozenset(
        {
            ContentState.IDEA,
            ContentState.DRAFT,
            ContentState.APPROVED,
            ContentState.SCHEDULED,
            ContentState.PAUSED,
            ContentState.DEFERRED,
            ContentState.MISSED,
            ContentState.FAILED,
        }
    ),
    ContentAction.DEFER: frozenset({ContentState.SCHEDULED, ContentState.DEFERRED}),
    ContentAction.PUBLISH: frozenset(WAITING),
    ContentAction.MISS: frozenset(WAITING),
    ContentAction.FAIL: frozenset(WAITING),
    ContentAction.MEASURE: frozenset({ContentState.PUBLISHED}),
    ContentAction.REVIEW: frozenset({ContentState.PUBLISHED, ContentState.MEASURED}),
}
_WHY = {
    ContentAction.WRITE: "Only an idea or a draft not yet scheduled can be rewritten.",
    ContentAction.APPROVE: "Only a draft can be approved (an idea needs its text: /draft).",
    ContentAction.REJECT: "Only an item not yet scheduled can be rejected.",
    ContentAction.SCHEDULE: "Approve it first (/approve), then schedule it.",
    ContentAction.PAUSE: "Only a scheduled item can be paused.",
    ContentAction.RESUME: "Only a paused item can be resumed.",
    ContentAction.CANCEL: "It is already done with; there is nothing to cancel.",
    ContentAction.DEFER: "Only a scheduled item can be deferred.",
    ContentAction.PUBLISH: "Only a scheduled item is published.",
    ContentAction.MISS: "Only a scheduled item can be missed.",
    ContentAction.FAIL: "Only a scheduled item can fail.",
    ContentAction.MEASURE: "Only a published post is measured.",
    ContentAction.REVIEW: "Only a published post can be reviewed.",
}


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an action may not happen: an English template the handlers translate."""

    reason: str
    state: ContentState


def step(state: ContentState, action: ContentAction, *, recurring: bool = False) -> ContentState:
    """The state after `action`; raise `StepRefused` when the state does not allow it.

    A recurring item stays scheduled when an occurrence is published, missed or failed (the
    occurrence records that); a one-off item takes the post's state.
    """
    if state not in _ALLOWED[action]:
        raise StepRefused(Refusal(_WHY[action], state))
    match action:
        case ContentAction.WRITE:
            return ContentState.DRAFT
        case ContentAction.APPROVE:
            return ContentState.APPROVED
        case ContentAction.REJECT:
            return ContentState.REJECTED
        case ContentAction.SCHEDULE | ContentAction.RESUME:
            return ContentState.SCHEDULED
        case ContentAction.PAUSE:
            return ContentState.PAUSED
        case ContentAction.CANCEL:
            return ContentState.CANCELLED
        case ContentAction.DEFER:
            return ContentState.DEFERRED
        case ContentAction.PUBLISH:
            return ContentState.SCHEDULED if recurring else ContentState.PUBLISHED
        case ContentAction.MISS:
            return ContentState.SCHEDULED if recurring else ContentState.MISSED
        case ContentAction.FAIL:
            return ContentState.SCHEDULED if recurring else ContentState.FAILED
        case ContentAction.MEASURE:
            return ContentState.MEASURED
        case ContentAction.REVIEW:
            return ContentState.REVIEWED
    raise AssertionError(action)  # pragma: no cover - every action is matched


class StepRefused(ValueError):
    """An action the item's state does not allow."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


# --- <when> ------------------------------------------------------------------------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_WORDS = {
    **{d: d for d in DAYS},
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Rule:
    """A recurrence at one wall time: on these weekdays (None: every day), or on one day of the
    month (and month), in the group's time zone. `cron()` is what `CronTrigger` takes."""

    hour: int
    minute: int
    days: tuple[str, ...] | None = None  # "mon", "thu"…
    day_of_month: int | None = None
    month: int | None = None

    def cron(self) -> dict[str, str]:
        fields = {"hour": str(self.hour), "minute": str(self.minute), "second": "0"}
        if self.days is not None:
            fields["day_of_week"] = ",".join(self.days)
        if self.day_of_month is not None:
            fields["day"] = str(self.day_of_month)
        if self.month is not None:
            fields["month"] = str(self.month)
        return fields

    def text(self) -> str:
        """The rule in the words `parse_when` reads (for lists and the CSV export)."""
        at = f"{self.hour:02d}:{self.minute:02d}"
        if self.month is not None and self.day_of_month is not None:
            return f"yearly {MONTHS[self.month - 1]} {self.day_of_month} {at}"
        if self.day_of_month is not None:
            return f"monthly {self.day_of_month} {at}"
        if self.days is None:
            return f"daily {at}"
        return f"every {','.join(self.days)} {at}"

    def at(self, hour: int, minute: int) -> Rule:
        """The same days at another time (an experiment's slot)."""
        return Rule(hour, minute, self.days, self.day_of_month, self.month)


# The next run of a rule strictly after an instant, in a zone, or None if it never fires.
NextRun = Callable[[Rule, datetime, str], datetime | None]


@dataclass(frozen=True, slots=True)
class Once:
    """One post at this instant (UTC)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class Every:
    """Posts by a rule; `first` is its first run after now (UTC)."""

    rule: Rule
    first: datetime


When = Once | Every


@dataclass(frozen=True)
class WhenError(ValueError):
    """`<when>` cannot be read, or names no time to come. `problem` is an English template."""

    problem: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.problem.format(**self.values)


WHEN_FORMS = "tomorrow 20:00 · 2026-12-24 08:00 · every mon,thu 20:00 · daily 08:00"


def zone(name: str) -> ZoneInfo:
    """The zone by its IANA name; `WhenError` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise WhenError(
            "“{zone}” is not a time zone name (like Europe/Berlin).", {"zone": name}
        ) from None


def parse_clock(word: str) -> time:
    """`20:00` → 20:00; `WhenError` for `25:00`, `7pm`…"""
    match = _TIME.match(word)
    if match is None:
        raise WhenError("“{time}” is not a time; write it as 20:00.", {"time": word})
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise WhenError("There is no time {time}: hours go to 23, minutes to 59.", {"time": word})
    return time(hour, minute)


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall time on a day: past the gap in spring, the first of the two
    in autumn."""
    # fold=0 (PEP 495): in the gap the offset before the change applies, which lands as far
    # past the gap as the wall time was into it (02:30 → 03:30); in the repeated hour, the first.
    return datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(UTC)


def parse_when(text: str, now: datetime, timezone: str, next_run: NextRun) -> When:
    """Read `<when>` in the group's zone (a trailing zone name overrides it).

    `tomorrow 20:00`, `today 20:00`, `20:00` (the next one), `2026-12-24 08:00`,
    `every mon,thu 20:00`, `daily 08:00`, `monthly 1 09:00`, `yearly dec 24 08:00`.
    """
    words = text.strip().lower().split()
    if not words:
        raise WhenError("Say when: {forms}.", {"forms": WHEN_FORMS})
    if "/" in words[-1] or words[-1] == "utc":
        name = text.strip().split()[-1]
        tz_name = "UTC" if name.lower() == "utc" else name
        words = words[:-1]
        if not words:
            raise WhenError("Say when: {forms}.", {"forms": WHEN_FORMS})
    else:
        tz_name = timezone
    tz = zone(tz_name)
    head = words[0]
    if head in ("every", "daily", "weekdays", "weekends", "monthly", "yearly"):
        rule = _rule(words)
        first = next_run(rule, now, tz_name)
        if first is None:
            raise WhenError("“{rule}” never happens.", {"rule": " ".join(words)})
        return Every(rule, first)
    if len(words) == 1:
        at = parse_clock(words[0])
        today = now.astimezone(tz).date()
        instant = local_instant(today, at, tz)
        if instant <= now:
            instant = local_instant(today + timedelta(days=1), at, tz)
        return Once(instant)
    if len(words) != 2:
        raise WhenError("“{when}” is not a time I can read; try {forms}.", _bad(text))
    day_word = words[0]
    if day_word not in ("today", "tomorrow") and _DATE.match(day_word) is None:
        raise WhenError("“{when}” is not a time I can read; try {forms}.", _bad(text))
    at = parse_clock(words[1])
    today = now.astimezone(tz).date()
    if day_word == "today":
        day = today
    elif day_word == "tomorrow":
        day = today + timedelta(days=1)
    else:
        match = _DATE.match(day_word)
        assert match is not None
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            raise WhenError("There is no date {date}.", {"date": day_word}) from None
    instant = local_instant(day, at, tz)
    if instant <= now:
        raise WhenError("{when} has already passed.", {"when": " ".join(words)})
    return Once(instant)


def _bad(text: str) -> dict[str, object]:
    return {"when": text.strip(), "forms": WHEN_FORMS}


def _rule(words: list[str]) -> Rule:
    head, rest = words[0], words[1:]
    if not rest:
        raise WhenError("Give the time too, like “{head} 08:00”.", {"head": head})
    at = parse_clock(rest[-1])
    args = rest[:-1]
    if head == "daily" or (head == "every" and args in (["day"], [])):
        if head == "daily" and args:
            raise WhenError("Write it as “daily 08:00”.")
        return Rule(at.hour, at.minute)
    if head == "weekdays" and not args:
        return Rule(at.hour, at.minute, DAYS[:5])
    if head == "weekends" and not args:
        return Rule(at.hour, at.minute, DAYS[5:])
    if head == "every" and len(args) == 1:
        days = []
        for word in args[0].split(","):
            day = _DAY_WORDS.get(word)
            if day is None:
                raise WhenError(
                    "“{day}” is not a day of the week (mon, tue, wed, thu, fri, sat, sun).",
                    {"day": word},
                )
            if day not in days:
                days.append(day)
        return Rule(at.hour, at.minute, tuple(sorted(days, key=DAYS.index)))
    if head == "monthly" and len(args) == 1:
        return Rule(at.hour, at.minute, day_of_month=_day_number(args[0]))
    if head == "yearly" and len(args) == 2 and args[0][:3] in MONTHS:
        month = MONTHS.index(args[0][:3]) + 1
        return Rule(at.hour, at.minute, day_of_month=_day_number(args[1]), month=month)
    raise WhenError("“{when}” is not a rule I can read; try {forms}.", _bad(" ".join(words)))


def _day_number(word: str) -> int:
    if word.isascii() and word.isdecimal() and len(word) <= 2 and 1 <= int(word) <= 31:
        return int(word)
    raise WhenError("“{day}” is not a day of the month (1 to 31).", {"day": word})


# --- quiet hours -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No posts from `start` to `end`, wall time (wrapping midnight when start > end)."""

    start: time
    end: time

    def text(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    def covers(self, at: time) -> bool:
        if self.start <= self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end


def parse_quiet(text: str) -> QuietHours | None:
    """`23:00-07:00` → quiet hours; `off` → None; `WhenError` otherwise."""
    value = text.strip().lower()
    if value in ("off", "none"):
        return None
    parts = value.replace(" ", "").split("-")
    if len(parts) != 2:
        raise WhenError("Give quiet hours as 23:00-07:00, or “off”.")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise WhenError("Quiet hours need a start and an end that differ, like 23:00-07:00.")
    return QuietHours(start, end)


def after_quiet(at: datetime, quiet: QuietHours | None, timezone: str) -> datetime:
    """`at`, or the end of the quiet period it falls in (the group's wall time)."""
    if quiet is None:
        return at
    tz = zone(timezone)
    local = at.astimezone(tz)
    if not quiet.covers(local.time().replace(tzinfo=None)):
        return at
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)  # late evening: the period ends tomorrow morning
    return local_instant(day, quiet.end, tz)


def occurrence_key(item_id: int, due: datetime) -> str:
    """The outbox's dedup key of one occurrence: the same item and due time, the same key."""
    return f"content:{item_id}:{int(due.astimezone(UTC).timestamp())}"
