"""Hand-off rules: when a question is answered, the escalation state machine, the on-call rota.

Three pure parts, each a function of plain data and the time it is given (never a clock):

- **Answered** (`judge_message`): a message seen while a question is open answers it when
  someone other than the asker replies to it or quotes it (a moderator's reply counts as the
  moderator's); the asker answers it by saying it is solved; "+1", "same", "同问" or an emoji
  are no answer; the asker's own messages within `FOLLOW_UP_SECONDS` join the question.
- **Escalation** (`step`): open → handed off (at the hand-off deadline) → claimed → answered or
  not a question; at the SLA deadline with no human answer it is escalated (a breach), and may
  still be answered after. `step(handoff, event, now)` returns the new record and the actions
  to take, as data. The deadlines are stored in the record when the question opens, so after a
  restart the tick recomputes nothing: a record whose state has moved past a deadline never
  acts on it again, and one still before it acts once (the service stores the new record and
  its actions in one unit of work).
- **Rota** (`parse_shift`, `on_call`, `next_on_call`, `deadlines`): who is on call at an
  instant in the group's time zone, when someone next is ("a moderator will answer by …"),
  and the SLA clock that counts only on-call time when a group asks for it. Shifts are read
  in local wall time and turned into instants day by day through zoneinfo, so a shift keeps
  its wall-clock hours across a DST change.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.questions import detect_question, normalise

# The asker's own messages this soon after the question's last one add to it ("…on Android",
# "I tried restarting"): in chat people send a question in pieces, mostly within a minute or
# two; five minutes keeps the pieces together without swallowing their next question.
FOLLOW_UP_SECONDS = 300

# --- answered ------------------------------------------------------------------------------


class Answerer(StrEnum):
    """Who answered a question."""

    MEMBER = "member"
    MODERATOR = "moderator"
    FAQ = "faq"
    ASKER = "asker"  # the asker said it is solved


class MessageRole(StrEnum):
    """What a message seen while a question is open is to that question."""

    ANSWER = "answer"  # someone else replied to it or quoted it
    SOLVED = "solved"  # the asker says it is solved
    FOLLOW_UP = "follow_up"  # the asker adds to it
    NO_ANSWER = "no_answer"  # "+1", "same", an emoji: a reply that answers nothing
    UNRELATED = "unrelated"


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """What the answered rules need of an open question: who asked and in which messages."""

    asker_id: int
    message_ids: frozenset[int]
    last_message_at: datetime


@dataclass(frozen=True, slots=True)
class SeenMessage:
    """A message in the question's chat, as the answered rules need it.

    `text` is its text or caption. A reply with none (a sticker) answers nothing; give media
    that may answer (a screenshot, a file) a word of text, such as its kind.
    """

    author_id: int
    message_id: int
    sent_at: datetime
    text: str
    reply_to: int | None = None  # the message it replies to
    quotes: int | None = None  # the message it quotes, if it quotes one
    by_moderator: bool = False


@dataclass(frozen=True, slots=True)
class Judgement:
    """What a message is to an open question, and who answered if it answers."""

    role: MessageRole
    answerer: Answerer | None = None


# A reply made only of these words (any number, in any order) answers nothing.
_NO_ANSWER_WORD = re.compile(
    r"(?:\+\d*|same|here|me|too|question|issue|problem|also|following|bump|up|ditto|this|lol|"
    r"pls|please|同问|同求|顶|蹲一个|蹲|插眼|加一|我也是|我也想知道|一样|同|мне|тоже|тот|же|вопрос|"
    r"такой)+"
)
_SOLVED = re.compile(
    r"\b(?:solved|resolved|fixed|sorted|figured\s+(?:it\s+)?out|never\s*mind|nvm|works\s+now|"
    r"it\s+worked|got\s+it\s+working|all\s+good\s+now|found\s+it|решено|решил|разобрался|"
    r"заработало|уже\s+не\s+надо|неактуально)\b|解决了|搞定了|弄好了|可以了|没事了|找到了|不用了"
)
_NOT_SOLVED = re.compile(
    r"(?:\bnot|n't|\bstill\s+no|\bnever\s+got|\bне)\s+(?:\w+\s+)?(?:solved|resolved|fixed|sorted|"
    r"working|решено|разобрался|заработало)\b|(?:没|未|还没|没有)(?:有)?(?:解决|搞定|弄好)"
)
_SYMBOLS = re.compile(r"[^\w+]+")


def is_no_answer(text: str) -> bool:
    """Whether a reply answers nothing: "+1", "same", "me too", "同问", emoji or punctuation."""
    words = _SYMBOLS.sub(" ", normalise(text)).split()
    return all(_NO_ANSWER_WORD.fullmatch(word) for word in words)


def says_solved(text: str) -> bool:
    """Whether the asker says the question is solved ("fixed it, thanks", "解决了"); asking
    whether it is ("solved now?", "可以了吗") is not saying so."""
    said = normalise(text)
    return (
        bool(_SOLVED.search(said))
        and not _NOT_SOLVED.search(said)
        and not detect_question(text).is_question
    )


def judge_message(
    question: OpenQuestion, message: SeenMessage, follow_up_seconds: int = FOLLOW_UP_SECONDS
) -> Judgement:
    """What `message` is to the open `question` (see the module's first part)."""
    touches = bool({message.reply_to, message.quotes} & question.message_ids)
    if message.author_id == question.asker_id:
        if says_solved(message.text):
            return Judgement(MessageRole.SOLVED, Answerer.ASKER)
        soon = message.sent_at - question.last_message_at <= timedelta(seconds=follow_up_seconds)
        return Judgement(MessageRole.FOLLOW_UP if touches or soon else MessageRole.UNRELATED)
    if not touches:
        return Judgement(MessageRole.UNRELATED)
    if is_no_answer(message.text):
        return Judgement(MessageRole.NO_ANSWER)
    return Judgement(
        MessageRole.ANSWER, Answerer.MODERATOR if message.by_moderator else Answerer.MEMBER
    )


def with_follow_up(question: OpenQuestion, message: SeenMessage) -> OpenQuestion:
    """The question with the asker's follow-up joined to it."""
    return replace(
        question,
        message_ids=question.message_ids | {message.message_id},
        last_message_at=max(question.last_message_at, message.sent_at),
    )


# --- escalation ------------------------------------------------------------------------------


class HandoffState(StrEnum):
    """Where a question is on its way to a human answer."""

    OPEN = "open"  # asked; nobody has answered yet
    HANDED_OFF = "handed_off"  # sent to the ops chat and the on-call moderators
    CLAIMED = "claimed"  # a moderator took it
    ESCALATED = "escalated"  # the SLA passed with no human answer: admins and owner told
    ANSWERED = "answered"
    NOT_A_QUESTION = "not_a_question"


CLOSED = frozenset({HandoffState.ANSWERED, HandoffState.NOT_A_QUESTION})


@dataclass(frozen=True, slots=True)
class Deadlines:
    """When an unanswered question goes to the humans, and when it breaches the SLA."""

    handoff_at: datetime
    sla_at: datetime


@dataclass(frozen=True, slots=True)
class Handoff:
    """One question's escalation record: its state, its deadlines and what happened when."""

    asker_id: int
    asked_at: datetime
    deadlines: Deadlines
    state: HandoffState = HandoffState.OPEN
    handed_off_at: datetime | None = None
    claimed_by: int | None = None
    breached_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: int | None = None
    answerer: Answerer | None = None

    @property
    def next_deadline(self) -> datetime | None:
        """When the tick must look at this record next (None: never again)."""
        if self.state is HandoffState.OPEN:
            return self.deadlines.handoff_at
        if self.state in (HandoffState.HANDED_OFF, HandoffState.CLAIMED):
            return self.deadlines.sla_at
        return None


@dataclass(frozen=True, slots=True)
class Tick:
    """Time has passed: act on any deadline that is due."""


@dataclass(frozen=True, slots=True)
class Answered:
    """A human, the FAQ or the asker answered (see `judge_message`); `by` is None for the FAQ."""

    answerer: Answerer
    by: int | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A moderator pressed Claim."""

    by: int
    by_moderator: bool


@dataclass(frozen=True, slots=True)
class Close:
    """A moderator pressed Answered or Not a question."""

    by: int
    by_moderator: bool
    not_a_question: bool = False


@dataclass(frozen=True, slots=True)
class Reopen:
    """The asker pressed "Not what I asked" under the FAQ's answer: back to the humans, with
    deadlines counted again from now (the member, in effect, asks again)."""

    by: int
    deadlines: Deadlines


HandoffEvent = Tick | Answered | Claim | Close | Reopen


class Refusal(StrEnum):
    """Why a button press changed nothing."""

    NOT_A_MODERATOR = "not_a_moderator"
    NOT_THE_ASKER = "not_the_asker"
    ALREADY_CLAIMED = "already_claimed"
    ALREADY_CLOSED = "already_closed"
    NOT_ANSWERED_BY_FAQ = "not_answered_by_faq"


@dataclass(frozen=True, slots=True)
class SendHandoff:
    """Send the question to the ops chat and, in private, to the on-call moderators."""


@dataclass(frozen=True, slots=True)
class SendEscalation:
    """Tell all admins and the owner that the question breached the SLA; record the breach."""


@dataclass(frozen=True, slots=True)
class UpdateHandoff:
    """Show the hand-off's new state on the messages already sent about it."""

    state: HandoffState


@dataclass(frozen=True, slots=True)
class Refuse:
    """Tell whoever pressed the button why nothing changed."""

    reason: Refusal


HandoffAction = SendHandoff | SendEscalation | UpdateHandoff | Refuse


@dataclass(frozen=True, slots=True)
class Transition:
    """The record after an event and what to do about it."""

    handoff: Handoff
    actions: tuple[HandoffAction, ...] = field(default_factory=tuple)


def open_handoff(asker_id: int, asked_at: datetime, deadlines: Deadlines) -> Handoff:
    """The record of a question just asked."""
    return Handoff(asker_id=asker_id, asked_at=asked_at, deadlines=deadlines)


def step(handoff: Handoff, event: HandoffEvent, now: datetime) -> Transition:
    """The record after `event` at `now`, and the actions to take (as data)."""
    match event:
        case Tick():
            return _tick(handoff, now)
        case Answered():
            return _answer(handoff, event, now)
        case Claim():
            return _claim(handoff, event)
        case Close():
            return _close(handoff, event, now)
        case Reopen():
            return _reopen(handoff, event)


def _tick(handoff: Handoff, now: datetime) -> Transition:
    actions: list[HandoffAction] = []
    if handoff.state is HandoffState.OPEN and now >= handoff.deadlines.handoff_at:
        handoff = replace(handoff, state=HandoffState.HANDED_OFF, handed_off_at=now)
        actions.append(SendHandoff())
    # Both due at once (the bot was down past both): hand off, then escalate, in one tick.
    if (
        handoff.state in (HandoffState.HANDED_OFF, HandoffState.CLAIMED)
        and now >= handoff.deadlines.sla_at
    ):
        handoff = replace(handoff, state=HandoffState.ESCALATED, breached_at=now)
        actions.append(SendEscalation())
    return Transition(handoff, tuple(actions))


def _answer(handoff: Handoff, event: Answered, now: datetime) -> Transition:
    if handoff.state in CLOSED:
        return Transition(handoff)
    answered = replace(
        handoff,
        state=HandoffState.ANSWERED,
        closed_at=now,
        closed_by=event.by,
        answerer=event.answerer,
    )
    return Transition(answered, _shown(handoff, HandoffState.ANSWERED))


def _claim(handoff: Handoff, event: Claim) -> Transition:
    if not event.by_moderator:
        return Transition(handoff, (Refuse(Refusal.NOT_A_MODERATOR),))
    if handoff.state in CLOSED:
        return Transition(handoff, (Refuse(Refusal.ALREADY_CLOSED),))
    if handoff.claimed_by is not None and handoff.claimed_by != event.by:
        return Transition(handoff, (Refuse(Refusal.ALREADY_CLAIMED),))
    # A claim after the breach keeps the breach: the state stays escalated.
    state = (
        HandoffState.ESCALATED if handoff.state is HandoffState.ESCALATED else HandoffState.CLAIMED
    )
    claimed = replace(handoff, state=state, claimed_by=event.by)
    return Transition(claimed, (UpdateHandoff(state),))


def _close(handoff: Handoff, event: Close, now: datetime) -> Transition:
    if not event.by_moderator:
        return Transition(handoff, (Refuse(Refusal.NOT_A_MODERATOR),))
    if handoff.state in CLOSED:
        return Transition(handoff, (Refuse(Refusal.ALREADY_CLOSED),))
    state = HandoffState.NOT_A_QUESTION if event.not_a_question else HandoffState.ANSWERED
    closed = replace(
        handoff,
        state=state,
        closed_at=now,
        closed_by=event.by,
        answerer=None if event.not_a_question else Answerer.MODERATOR,
    )
    return Transition(closed, (UpdateHandoff(state),))


def _reopen(handoff: Handoff, event: Reopen) -> Transition:
    if event.by != handoff.asker_id:
        return Transition(handoff, (Refuse(Refusal.NOT_THE_ASKER),))
    if handoff.state is not HandoffState.ANSWERED or handoff.answerer is not Answerer.FAQ:
        return Transition(handoff, (Refuse(Refusal.NOT_ANSWERED_BY_FAQ),))
    reopened = replace(
        handoff,
        state=HandoffState.OPEN,
        deadlines=event.deadlines,
        closed_at=None,
        closed_by=None,
        answerer=None,
    )
    return Transition(reopened)


def _shown(handoff: Handoff, state: HandoffState) -> tuple[HandoffAction, ...]:
    """Update the hand-off messages, if any were sent."""
    return (UpdateHandoff(state),) if handoff.handed_off_at is not None else ()


# --- rota and office hours ---------------------------------------------------------------------

# Day names people type, by weekday (Monday is 0), in English, Chinese and Russian.
_DAYS = {
    name: number
    for number, names in enumerate(
        (
            "mon monday 周一 星期一 一 пн понедельник",
            "tue tues tuesday 周二 星期二 二 вт вторник",
            "wed weds wednesday 周三 星期三 三 ср среда",
            "thu thur thurs thursday 周四 星期四 四 чт четверг",
            "fri friday 周五 星期五 五 пт пятница",
            "sat saturday 周六 星期六 六 сб суббота",
            "sun sunday 周日 周天 星期日 星期天 日 вс воскресенье",
        )
    )
    for name in names.split()
}
_EVERY_DAY = frozenset({"daily", "everyday", "every day", "每天", "ежедневно"})
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm)?$")
# Range marks people type, with any spaces around them: "Mon - Fri", "9:00–18:00", "周一至周五".
_RANGE = re.compile(r"\s*(?:-|–|—|~|至|到)\s*")
SHIFT_USAGE = "Mon-Fri 09:00-18:00"


@dataclass(frozen=True)
class ShiftInputError(ValueError):
    """The words are not a shift. `problem` is an English template for `values`."""

    problem: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.problem.format(**self.values)


@dataclass(frozen=True, slots=True)
class Shift:
    """Days of the week and a wall-clock span; an end at or before the start runs past
    midnight into the next day (the shift belongs to the day it starts)."""

    days: frozenset[int]
    start: time
    end: time  # time(0) with start time(0): the whole day

    def __str__(self) -> str:
        return f"{_days_text(self.days)} {self.start:%H:%M}-{_end_text(self.end)}"


@dataclass(frozen=True, slots=True)
class RotaEntry:
    """One moderator's shift."""

    moderator_id: int
    shift: Shift


@dataclass(frozen=True, slots=True)
class Rota:
    """A group's on-call rota, read in the group's time zone (an IANA name)."""

    timezone: str
    entries: tuple[RotaEntry, ...] = ()


def parse_shift(text: str) -> Shift:
    """Read `Mon-Fri 09:00-18:00` (or `Sat,Sun 10-16`, `daily 9am-6pm`, `周一至周五 9-18`)."""
    words = _RANGE.sub("-", normalise(text)).split()
    if len(words) < 2:
        raise ShiftInputError("Give days and hours, like {usage}.", {"usage": SHIFT_USAGE})
    days = _parse_days(" ".join(words[:-1]))
    start, _, end = words[-1].partition("-")
    return Shift(days, _parse_time(start, text), _parse_end(end, text))


def on_call(rota: Rota, instant: datetime) -> tuple[int, ...]:
    """The moderators on call at `instant` (aware), in rota order, each once."""
    present = []
    for entry in rota.entries:
        if entry.moderator_id not in present and any(
            start <= instant < end for start, end in _occurrences(entry.shift, rota, instant, 1)
        ):
            present.append(entry.moderator_id)
    return tuple(present)


def next_on_call(rota: Rota, instant: datetime) -> datetime | None:
    """The first instant at or after `instant` when someone is on call (None: empty rota).

    This is the "a moderator will answer by …" time; it is `instant` itself during hours.
    """
    best: datetime | None = None
    for entry in rota.entries:
        for start, end in _occurrences(entry.shift, rota, instant, 8):
            if end > instant and (best is None or max(start, instant) < best):
                best = max(start, instant)
    return best


def deadlines(
    asked_at: datetime, handoff_after: int, sla: int, rota: Rota | None = None
) -> Deadlines:
    """When a question asked at `asked_at` is handed off and breaches the SLA.

    By default (24/7) both are plain seconds after the question. With a `rota` (a group whose
    SLA follows its office hours) only on-call time counts: a question asked at 17:50 with a
    30-minute SLA and hours ending at 18:00 is due 20 minutes after they start again.
    """
    if rota is None or not rota.entries:
        return Deadlines(
            asked_at + timedelta(seconds=handoff_after), asked_at + timedelta(seconds=sla)
        )
    return Deadlines(
        _after_on_call(rota, asked_at, handoff_after), _after_on_call(rota, asked_at, sla)
    )


def rota_without(rota: Rota, moderator_id: int) -> Rota:
    """The rota with a moderator's shifts taken out (`/oncall remove @mod`)."""
    return replace(rota, entries=tuple(e for e in rota.entries if e.moderator_id != moderator_id))


def rota_with(rota: Rota, moderator_id: int, shift: Shift) -> Rota:
    """The rota with a shift added for a moderator (`/oncall add @mod Mon-Fri 09:00-18:00`)."""
    if RotaEntry(moderator_id, shift) in rota.entries:
        return rota
    return replace(rota, entries=(*rota.entries, RotaEntry(moderator_id, shift)))


def moderators(rota: Rota) -> Sequence[int]:
    """Everyone on the rota, in the order they were added, each once."""
    return tuple(dict.fromkeys(entry.moderator_id for entry in rota.entries))


def _after_on_call(rota: Rota, start: datetime, seconds: int) -> datetime:
    """The instant when `seconds` of on-call time have passed since `start`."""
    left = timedelta(seconds=seconds)
    now = start
    while True:
        # Overlapping shifts count once: each span is walked from where the last one left off.
        spans = sorted(
            span for entry in rota.entries for span in _occurrences(entry.shift, rota, now, 8)
        )
        for span_start, span_end in spans:
            if span_end <= now:
                continue
            begin = max(span_start, now)
            if begin + left <= span_end:
                return begin + left
            left -= span_end - begin
            now = span_end
        # Not enough on-call time in these eight days: every shift recurs weekly, so the next
        # pass, from the end of the last span used, finds more.


def _occurrences(
    shift: Shift, rota: Rota, around: datetime, days_ahead: int
) -> Iterator[tuple[datetime, datetime]]:
    """The shift's spans as UTC instants, from the local day before `around` (a night shift
    may still run) to `days_ahead` days after it, each built from local wall time."""
    zone = ZoneInfo(rota.timezone)
    today = around.astimezone(zone).date()
    for offset in range(-1, days_ahead + 1):
        day = today + timedelta(days=offset)
        if day.weekday() in shift.days:
            yield _local(day, shift.start, zone), _local(_end_day(day, shift), shift.end, zone)


def _end_day(day: date, shift: Shift) -> date:
    return day + timedelta(days=1) if shift.end <= shift.start else day


def _local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # A wall time skipped by a DST change (02:30 in spring) maps past the gap (fold=0).
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _parse_days(text: str) -> frozenset[int]:
    if text in _EVERY_DAY:
        return frozenset(range(7))
    days: set[int] = set()
    for part in re.split(r"\s*[,，、/]\s*|\s+", text.strip()):
        first, dash, last = part.partition("-")
        if first not in _DAYS or (dash and last not in _DAYS):
            raise ShiftInputError(
                "“{days}” are not days of the week; write them like Mon-Fri or Sat,Sun.",
                {"days": text},
            )
        start, end = _DAYS[first], _DAYS[last] if dash else _DAYS[first]
        days.update((start + step) % 7 for step in range((end - start) % 7 + 1))
    return frozenset(days)


def _parse_time(word: str, text: str) -> time:
    match = _TIME.match(word)
    hour, minute = (int(match.group(1)), int(match.group(2) or 0)) if match else (24, 0)
    if match and match.group(3):  # 12am is midnight, 12pm noon
        hour = hour % 12 + (12 if match.group(3) == "pm" else 0) if hour <= 12 else 24
    if hour > 23 or minute > 59:
        raise ShiftInputError("“{text}” has no hours like 09:00-18:00.", {"text": text.strip()})
    return time(hour, minute)


def _parse_end(word: str, text: str) -> time:
    # 24:00 is how people write "until midnight".
    return time(0) if word in ("24", "24:00") else _parse_time(word, text)


def _days_text(days: frozenset[int]) -> str:
    names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    ordered = sorted(days)
    if len(ordered) == 7:
        return "daily"
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{names[ordered[0]]}-{names[ordered[-1]]}"
    return ",".join(names[day] for day in ordered)


def _end_text(end: time) -> str:
    return "24:00" if end == time(0) else f"{end:%H:%M}"
