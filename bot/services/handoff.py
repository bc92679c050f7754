"""No question waits: the question watcher, its actions, the deadline tick and the buttons.

The watcher (`watch`) judges each new group message against the chat's unclosed questions
(`judge_message`: an answer, the asker's follow-up or "solved") and, if it answers none, asks
the detector whether it is a question. What it decides is data written with the message's
event: `question.open` (with the FAQ entry that answers it, if one matches), `question.answer`
and `question.follow_up`. Their actions store the question rows, keyed by chat and message,
so applying one twice changes nothing; the question's text is stored only in its row (while
open and 48 hours after), never in a group that does not store text otherwise.

The tick (`run_due`) selects the rows whose due time has come (an index on `due_at`), steps
each with `Tick()` and, in the same unit of work, stores the new record and a decision per
send (`handoff.send`, `handoff.escalate`). It then sends and forgets those decisions; a crash
in between leaves them to `DecisionApplier.start`, which applies them with the same actions.
So a restart never drops a hand-off, and never repeats one past the send that completed.

The watcher keeps each chat's unclosed questions in memory (loaded from the table the first
time the chat is seen), because a question's own decision is applied only after its event is
committed, and the very next message may already answer it.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain.events import MessageKind
from bot.domain.handoff import (
    Answered,
    Answerer,
    Claim,
    Close,
    HandoffAction,
    HandoffState,
    MessageRole,
    OpenQuestion,
    Refusal,
    Refuse,
    Reopen,
    Rota,
    RotaEntry,
    SeenMessage,
    SendEscalation,
    SendHandoff,
    Tick,
    UpdateHandoff,
    deadlines,
    judge_message,
    next_on_call,
    on_call,
    open_handoff,
    parse_shift,
    step,
    with_follow_up,
)
from bot.domain.questions import detect_question
from bot.domain.watching import Decision, WatchedMessage
from bot.ports import (
    ChatGateway,
    Clock,
    FaqRecord,
    HandoffSettings,
    JoinedFollowUps,
    Priority,
    QuestionRecord,
    ShiftRecord,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.services.admins import AdminDirectory, AdminsUnknown

log = logging.getLogger(__name__)

OPEN = "question.open"
ANSWER = "question.answer"
FOLLOW_UP = "question.follow_up"
CREDIT = "question.credit"  # an answer written before its author's admin status was known
SHOW = "question.show"  # the hand-off messages to edit after a question's state changed
NOTIFY = "question.notify"  # an FAQ answer or "outside office hours", once the question is stored
SEND_HANDOFF = "handoff.send"
SEND_ESCALATION = "handoff.escalate"
WATCHER = "question"
KEPT_FOR = timedelta(hours=48)  # a closed question's text, for /mydata
DUE_BATCH = 500  # rows stepped in one unit of work by the tick
# How long a group's hand-off settings, rota and zone are reused for new questions; changes made
# through this service clear them at once, a time zone changed in /settings counts from then.
CONTEXT_KEPT = timedelta(seconds=10)
LAG_KEPT = 10_000
# A chat's watcher keeps its most recent unclosed questions only (memory stays bounded); an
# older question still goes to the humans and closes by their buttons.
TRACKED_PER_CHAT = 50
# The asker's first follow-ups (a question sent in pieces) are stored, so that after a restart a
# reply to any piece still answers it; later ones join in memory only, because each stored one
# costs a commit and a chatty asker's every message would be one.
STORED_FOLLOW_UPS = 2
# What a message without text says to the answered rules: a photo may well answer a question.
_MEDIA_WORD = {MessageKind.MEDIA: "photo", MessageKind.POLL: "poll", MessageKind.FORWARD: "forward"}

# Button verbs (callback data `hq:<verb>:<chat>:<message>`).
CLAIM, ANSWERED, NOT_A_QUESTION, HELPFUL, NOT_WHAT_I_ASKED = "claim", "answered", "notq", "ok", "re"
CALLBACK_PREFIX = "hq"


class FaqLookup(Protocol):
    """A group's FAQ, ready to match (built by the caller, e.g. `bot.detectors.faq`)."""

    def match(self, question: str) -> int | None:
        """The position of the entry that answers `question`, or None."""
        ...


@dataclass(frozen=True, slots=True)
class QuestionView:
    """What a hand-off or escalation message shows."""

    record: QuestionRecord
    group_title: str
    link: str | None  # https://t.me/c/… for supergroups
    claimed_by_name: str = ""


class HandoffWording(Protocol):
    """The person-readable texts (translated by the handlers), in the group's language."""

    def handoff(self, view: QuestionView, locale: str) -> str: ...

    def escalation(self, view: QuestionView, locale: str) -> str: ...

    def faq_answer(self, answer: str, locale: str) -> str: ...

    def outside_hours(self, until: datetime, timezone: str, locale: str) -> str: ...

    def buttons(self, verbs: Sequence[str], locale: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Defaults:
    """The bot-wide settings a group without its own follows."""

    handoff_after: int = 600
    sla: int = 1800
    ops_chat_id: int | None = None
    timezone: str = "UTC"


@dataclass(slots=True)
class HandoffMetrics:
    """Counters since start, for /health."""

    questions: int = 0
    faq_answers: int = 0
    handoffs: int = 0
    escalations: int = 0
    # Seconds past the deadline of the most recent sends (for /health and the benchmark).
    lag: deque[float] = field(default_factory=lambda: deque(maxlen=LAG_KEPT))


@dataclass(frozen=True, slots=True)
class Measures:
    """What /sla shows over a period."""

    asked: int
    by_member: int
    by_faq: int
    by_moderator: int
    by_asker: int
    median_seconds: float | None  # to the first answer
    p90_seconds: float | None
    breaches: int
    per_moderator: list[tuple[int, int, int]]  # moderator, claims, answers


@dataclass(frozen=True, slots=True)
class _GroupContext:
    """What sending about a group's question needs of the group."""

    settings: HandoffSettings
    rota: Rota
    title: str
    locale: str


@dataclass(slots=True)
class _Tracked:
    """An unclosed question as the watcher follows it."""

    message_id: int
    question: OpenQuestion


class _ChatQuestions:
    """A chat's tracked questions, oldest first, found by asker and by message id.

    Every message of the chat is judged against the questions it concerns: its author's, and
    the one whose message it replies to. Most messages concern none, and are passed over
    without a look at each question.
    """

    __slots__ = ("_asked", "_by_asker", "_by_message")

    def __init__(self, questions: Sequence[_Tracked] = ()) -> None:
        self._asked: OrderedDict[int, _Tracked] = OrderedDict()  # by question message id
        self._by_asker: dict[int, list[_Tracked]] = {}
        self._by_message: dict[int, _Tracked] = {}
        for question in questions:
            self.add(question)

    def concerning(self, author_id: int, reply_to: int | None) -> list[_Tracked]:
        """The questions `author_id` asked and the one `reply_to` belongs to, oldest first."""
        found = self._by_asker.get(author_id)
        replied = self._by_message.get(reply_to) if reply_to is not None else None
        if replied is None:
            return list(found) if found else []
        if not found:
            return [replied]
        if replied in found:
            return list(found)
        order = list(self._asked)
        return sorted([*found, replied], key=lambda t: order.index(t.message_id))

    def add(self, question: _Tracked, keep: int | None = None) -> None:
        """Track `question` (a question tracked already is replaced); past `keep`, the oldest
        are dropped."""
        self.remove(question.message_id)
        self._asked[question.message_id] = question
        self._by_asker.setdefault(question.question.asker_id, []).append(question)
        for message_id in question.question.message_ids:
            self._by_message[message_id] = question
        while keep is not None and len(self._asked) > keep:
            self.remove(next(iter(self._asked)))

    def join(self, question: _Tracked, asked: OpenQuestion) -> None:
        """`question` now spans `asked`'s messages (a follow-up joined it)."""
        question.question = asked
        for message_id in asked.message_ids:
            self._by_message[message_id] = question

    def remove(self, message_id: int) -> None:
        question = self._asked.pop(message_id, None)
        if question is None:
            return
        asker = question.question.asker_id
        others = [t for t in self._by_asker[asker] if t is not question]
        if others:
            self._by_asker[asker] = others
        else:
            del self._by_asker[asker]
        for joined in question.question.message_ids:
            if self._by_message.get(joined) is question:
                del self._by_message[joined]


@dataclass(frozen=True, slots=True)
class Pressed:
    """What a button press did: a refusal to show, or a new state."""

    refusal: Refusal | None = None
    state: HandoffState | None = None


class HandoffService:
    """Tracks member questions, answers known ones, and hands the rest to humans on time."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        admins: AdminDirectory,
        gateway: ChatGateway,
        *,
        defaults: Defaults,
        faq_index: Callable[[Sequence[FaqRecord]], FaqLookup],
        wording: HandoffWording,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._admins = admins
        self._gateway = gateway
        self._defaults = defaults
        self._faq_index = faq_index
        self._wording = wording
        self._tracked: dict[int, _ChatQuestions] = {}
        self._faqs: dict[int, tuple[list[FaqRecord], FaqLookup | None]] = {}
        self._contexts: dict[int, tuple[datetime, _GroupContext]] = {}
        self.metrics = HandoffMetrics()
        self.last_week = measure(())
        # Two runs at once (a tick and a caller) would both select the same due rows.
        self._due_lock = asyncio.Lock()

    # --- the watcher -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return WATCHER

    @property
    def wants_edits(self) -> bool:
        return False

    async def watch(self, message: WatchedMessage) -> Sequence[Decision]:
        """Answer, follow-up, or a new question (see the module's first paragraph)."""
        event = message.event
        actor = event.actor
        if actor is None or actor.is_bot or event.sender_chat_id is not None:
            return ()
        if event.message_id is None or event.message_kind is MessageKind.COMMAND:
            return ()
        if message.forward_origin is not None or message.url_buttons:
            # A forward is not the member asking, and URL buttons are an ad's: the promo
            # watcher's business, which this one cannot see (watchers do not share verdicts).
            return ()
        chat_id = message.chat_id
        tracked = await self._tracked_in(chat_id)
        text = message.text or _MEDIA_WORD.get(event.message_kind or MessageKind.OTHER, "")
        seen = SeenMessage(
            author_id=actor.user_id,
            message_id=event.message_id,
            sent_at=event.occurred_at,
            text=text,
            reply_to=event.reply_to_message_id,
        )
        decisions: list[Decision] = []
        joined = False
        # Only the asker's own messages and replies to the question's messages concern it.
        for question in tracked.concerning(actor.user_id, seen.reply_to):
            asked = question.question
            # A member's answer; whether they moderate is asked when it is applied, off the
            # chat's lane (an admin lookup may go to Telegram).
            judgement = judge_message(asked, seen)
            if judgement.role in (MessageRole.ANSWER, MessageRole.SOLVED):
                tracked.remove(question.message_id)
                assert judgement.answerer is not None
                decisions.append(
                    Decision(
                        ANSWER,
                        chat_id,
                        question.message_id,
                        {"answerer": judgement.answerer.value, "by": actor.user_id},
                    )
                )
            elif judgement.role is MessageRole.FOLLOW_UP and not joined:
                joined = True
                tracked.join(question, with_follow_up(asked, seen))
                if len(asked.message_ids) > STORED_FOLLOW_UPS:
                    continue  # joined in memory only (see STORED_FOLLOW_UPS)
                joined_ids = sorted(question.question.message_ids - {question.message_id})
                decisions.append(
                    Decision(
                        FOLLOW_UP,
                        chat_id,
                        question.message_id,
                        {
                            "follow_up": event.message_id,
                            "at": event.occurred_at.isoformat(),
                            "follow_ups": joined_ids,
                        },
                    )
                )
        if decisions or joined or not message.text or not detect_question(message.text).is_question:
            return decisions
        self.metrics.questions += 1
        faq_entry = await self._faq_match(chat_id, message.text)
        if faq_entry is None:
            # Answered by the FAQ, it is closed; "Not what I asked" brings it back.
            tracked.add(
                _Tracked(
                    event.message_id,
                    OpenQuestion(actor.user_id, frozenset({event.message_id}), event.occurred_at),
                ),
                keep=TRACKED_PER_CHAT,
            )
        name = " ".join(part for part in (actor.first_name, actor.last_name) if part)
        return [
            Decision(
                OPEN,
                chat_id,
                event.message_id,
                {
                    "asker_id": actor.user_id,
                    "asker_name": name,
                    "text": message.text,
                    "asked_at": event.occurred_at.isoformat(),
                    "faq_entry_id": faq_entry.id if faq_entry else None,
                    "language": actor.language_code,
                    "thread_id": event.thread_id,
                },
            )
        ]

    # --- the actions ------------------------------------------------------------------------

    async def write_open(self, uow: UnitOfWork, decisions: Sequence[Decision]) -> list[Decision]:
        """Store a batch's new questions in the transaction that stores their messages; the
        notices to send about them (FAQ answers, "outside office hours") follow as decisions."""
        opened = [
            await self._question(uow, decision, await self._recent_context(uow, decision.chat_id))
            for decision in decisions
        ]
        stored = await uow.handoff.open_many([record for record, _ in opened])
        return [
            notice
            for record, notice in opened
            if notice is not None and (record.chat_id, record.message_id) in stored
        ]

    async def apply_open(self, decision: Decision) -> bool:
        """`write_open` for one question in its own transaction (the fallback, and decisions
        stored before a restart), then its notice. Once: a second apply finds the row."""
        async with self._uow_factory() as uow:
            notice = await self._open(uow, decision, await self._context(uow, decision.chat_id))
            await uow.commit()
        if notice is not None:
            await self.apply_notify(notice)
        return True

    async def _open(
        self, uow: UnitOfWork, decision: Decision, context: _GroupContext
    ) -> Decision | None:
        """Store one question; the notice its asker gets, if any (None too when the question
        was stored before)."""
        record, notice = await self._question(uow, decision, context)
        return notice if await uow.handoff.open(record) else None

    async def _question(
        self, uow: UnitOfWork, decision: Decision, context: _GroupContext
    ) -> tuple[QuestionRecord, Decision | None]:
        """The question to store, with its deadlines (answered at once by a matching FAQ
        entry), and the notice its asker gets, if any."""
        params = decision.params
        chat_id, message_id = decision.chat_id, decision.message_id or 0
        asked_at = datetime.fromisoformat(str(params["asked_at"]))
        faq_id = _int_or_none(params.get("faq_entry_id"))
        settings, rota = context.settings, context.rota
        handoff = open_handoff(
            int(params["asker_id"]),  # type: ignore[arg-type]
            asked_at,
            deadlines(
                asked_at,
                settings.handoff_after or self._defaults.handoff_after,
                settings.sla or self._defaults.sla,
                rota if settings.sla_follows_hours else None,
            ),
        )
        entry = None if faq_id is None else await self._faq_entry(uow, chat_id, faq_id)
        if entry is not None:
            handoff = step(handoff, Answered(Answerer.FAQ), asked_at).handoff
        record = QuestionRecord(
            chat_id,
            message_id,
            handoff,
            asker_name=str(params.get("asker_name") or ""),
            text=str(params.get("text") or ""),
            last_message_at=asked_at,
            faq_entry_id=entry.id if entry else None,
        )
        reply = {"language": params.get("language"), "thread_id": params.get("thread_id")}
        if entry is not None:
            faq = {**reply, "faq_entry_id": entry.id}
            return record, Decision(NOTIFY, chat_id, message_id, faq)
        if rota.entries and not on_call(rota, asked_at):
            until = next_on_call(rota, asked_at)
            if until is not None:
                hours = {**reply, "until": until.isoformat(), "timezone": rota.timezone}
                return record, Decision(NOTIFY, chat_id, message_id, hours)
        return record, None

    async def apply_notify(self, decision: Decision) -> bool:
        """Answer a new question from the FAQ, or tell its asker when a moderator will."""
        params = decision.params
        chat_id, message_id = decision.chat_id, decision.message_id or 0
        thread_id = _int_or_none(params.get("thread_id"))
        locale = str(params.get("language") or "en")
        faq_id = _int_or_none(params.get("faq_entry_id"))
        if faq_id is not None:
            async with self._uow_factory() as uow:
                entry = await self._faq_entry(uow, chat_id, faq_id)
            if entry is None:
                return True  # removed from the FAQ since
            self.metrics.faq_answers += 1
            labels = self._wording.buttons((HELPFUL, NOT_WHAT_I_ASKED), locale)
            await self._send(
                chat_id,
                self._wording.faq_answer(entry.answer, locale),
                _keyboard(chat_id, message_id, (HELPFUL, NOT_WHAT_I_ASKED), labels),
                reply_to=message_id,
                thread_id=thread_id,
            )
        elif params.get("until"):
            await self._send(
                chat_id,
                self._wording.outside_hours(
                    datetime.fromisoformat(str(params["until"])),
                    str(params.get("timezone") or self._defaults.timezone),
                    locale,
                ),
                None,
                reply_to=message_id,
                thread_id=thread_id,
            )
        return True

    async def _faq_entry(self, uow: UnitOfWork, chat_id: int, faq_id: int) -> FaqRecord | None:
        cached = self._faqs.get(chat_id)
        entries = cached[0] if cached is not None else await uow.handoff.faq(chat_id)
        return next((entry for entry in entries if entry.id == faq_id), None)

    async def write_answers(self, uow: UnitOfWork, decisions: Sequence[Decision]) -> list[Decision]:
        """Close a batch's answered questions in the transaction that stores the answers. A
        member's answer counts as a moderator's when the cached admin list says so; when it
        cannot say, `question.credit` asks after the commit. Hand-off messages to update
        follow as `question.show`."""
        records = await uow.handoff.get_many(
            {(decision.chat_id, decision.message_id or 0) for decision in decisions}
        )
        now = self._clock.now()
        changed: dict[tuple[int, int], QuestionRecord] = {}
        follow_ups: list[Decision] = []
        for decision in decisions:
            key = (decision.chat_id, decision.message_id or 0)
            record = records.get(key)
            if record is None:
                continue
            answerer = Answerer(str(decision.params["answerer"]))
            by = _int_or_none(decision.params.get("by"))
            if answerer is Answerer.MEMBER and by is not None:
                known = self._admins.known_admin(decision.chat_id, by)
                if known:
                    answerer = Answerer.MODERATOR
                elif known is None:
                    follow_ups.append(Decision(CREDIT, *key, {"by": by}))
            transition = step(record.handoff, Answered(answerer, by), now)
            if transition.handoff == record.handoff:
                continue
            # The watcher stopped tracking the question when it decided the answer (this may
            # run in the ingest store's thread: it leaves the watcher's memory alone).
            records[key] = changed[key] = replace(record, handoff=transition.handoff)
            if any(isinstance(action, UpdateHandoff) for action in transition.actions):
                follow_ups.append(Decision(SHOW, *key))
        await uow.handoff.save_many(list(changed.values()))
        return follow_ups

    async def apply_answer(self, decision: Decision) -> bool:
        """Close the question as answered (a no-op on one already closed); a member's answer
        is a moderator's if they are an admin of the group."""
        answerer = Answerer(str(decision.params["answerer"]))
        by = _int_or_none(decision.params.get("by"))
        if (
            answerer is Answerer.MEMBER
            and by is not None
            and await self._is_admin(decision.chat_id, by)
        ):
            answerer = Answerer.MODERATOR
        await self._step(decision.chat_id, decision.message_id or 0, Answered(answerer, by))
        return True

    async def apply_credit(self, decision: Decision) -> bool:
        """A member's answer written before their admin status was known: a moderator's, if
        they are an admin of the group."""
        by = _int_or_none(decision.params.get("by"))
        if by is None or not await self._is_admin(decision.chat_id, by):
            return True
        async with self._uow_factory() as uow:
            record = await uow.handoff.get(decision.chat_id, decision.message_id or 0)
            if (
                record is None
                or record.handoff.answerer is not Answerer.MEMBER
                or record.handoff.closed_by != by
            ):
                return True
            moderator = replace(record.handoff, answerer=Answerer.MODERATOR)
            await uow.handoff.save(replace(record, handoff=moderator))
            await uow.commit()
        return True

    async def apply_show(self, decision: Decision) -> bool:
        """Show a question's new state on the hand-off messages sent about it."""
        async with self._uow_factory() as uow:
            record = await uow.handoff.get(decision.chat_id, decision.message_id or 0)
        if record is not None:
            await self._show_state(record)
        return True

    async def write_follow_ups(
        self, uow: UnitOfWork, decisions: Sequence[Decision]
    ) -> Sequence[Decision]:
        """Join askers' follow-ups to their questions, in the transaction that stores them.

        Each decision names all of its question's follow-ups as the watcher tracks them (read
        from the stored question, and only the watcher joins them): written as they are, with
        no read. A decision stored before a restart goes through `apply_follow_up` instead."""
        await uow.handoff.join_follow_ups(
            [
                JoinedFollowUps(
                    d.chat_id,
                    d.message_id or 0,
                    tuple(int(i) for i in d.params["follow_ups"]),  # type: ignore[union-attr,arg-type]
                    datetime.fromisoformat(str(d.params["at"])),
                )
                for d in decisions
            ]
        )
        return ()

    async def apply_follow_up(self, decision: Decision) -> bool:
        """Join the asker's follow-up to the question, so replies to it answer the question."""
        async with self._uow_factory() as uow:
            await self._follow_up(uow, decision)
            await uow.commit()
        return True

    async def _follow_up(self, uow: UnitOfWork, decision: Decision) -> None:
        record = await uow.handoff.get(decision.chat_id, decision.message_id or 0)
        if record is not None and (joined := _with_follow_up(record, decision)) is not record:
            await uow.handoff.save(joined)

    # --- the tick ---------------------------------------------------------------------------

    async def run_due(self) -> int:
        """Hand off and escalate every question whose deadline has come; how many were sent."""
        async with self._due_lock:
            return await self._run_due()

    async def _run_due(self) -> int:
        sent = 0
        while True:
            now = self._clock.now()
            async with self._uow_factory() as uow:
                due = await uow.handoff.due(now, DUE_BATCH)
                if not due:
                    return sent
                contexts = {
                    chat_id: await self._context(uow, chat_id)
                    for chat_id in {record.chat_id for record in due}
                }
                pending: list[tuple[str, Decision]] = []
                records: list[QuestionRecord] = []
                for record in due:
                    transition = step(record.handoff, Tick(), now)
                    record = replace(record, handoff=transition.handoff)
                    await uow.handoff.save(record)
                    for action in transition.actions:
                        kind = _send_kind(action)
                        if kind is not None:
                            pending.append(
                                (WATCHER, Decision(kind, record.chat_id, record.message_id))
                            )
                            records.append(record)
                stored = await uow.decisions.add(pending, now)
                await uow.commit()
            sent_about = [
                (
                    record,
                    await self._deliver(item.decision.action, record, contexts[record.chat_id]),
                )
                for item, record in zip(stored, records, strict=True)
            ]
            async with self._uow_factory() as uow:
                await uow.decisions.remove([item.id for item in stored])
                for record, notices in sent_about:
                    await _store_notices(uow, record, notices)
                await uow.commit()
            sent += len(stored)
            if len(due) < DUE_BATCH:
                return sent

    async def apply_send(self, decision: Decision) -> bool:
        """A hand-off or escalation a crash left unsent (`DecisionApplier.start`): send it."""
        async with self._uow_factory() as uow:
            record = await uow.handoff.get(decision.chat_id, decision.message_id or 0)
            context = await self._context(uow, decision.chat_id)
        if record is None:
            return True
        notices = await self._deliver(decision.action, record, context)
        async with self._uow_factory() as uow:
            await _store_notices(uow, record, notices)
            await uow.commit()
        return True

    async def _deliver(
        self, action: str, record: QuestionRecord, context: _GroupContext
    ) -> list[tuple[int, int]]:
        """Send a hand-off (to the ops chat and, in private, the on-call moderators) or an
        escalation (to the ops chat, every admin and the owner); the messages sent."""
        view = QuestionView(record, context.title, _link(record))
        deadlines = record.handoff.deadlines
        if action == SEND_HANDOFF:
            self.metrics.handoffs += 1
            self._lag(deadlines.handoff_at)
            text = self._wording.handoff(view, context.locale)
            people = list(on_call(context.rota, self._clock.now()))
        else:
            self.metrics.escalations += 1
            self._lag(deadlines.sla_at)
            text = self._wording.escalation(view, context.locale)
            try:
                admins = await self._admins.admins(record.chat_id)
            except AdminsUnknown:
                admins = {}
            people = [admin.user_id for admin in admins.values() if not admin.is_bot]
        verbs = (CLAIM, ANSWERED, NOT_A_QUESTION)
        labels = self._wording.buttons(verbs, context.locale)
        keyboard = _keyboard(record.chat_id, record.message_id, verbs, labels)
        targets = [self._ops_chat(context.settings)]
        targets += [person for person in people if person not in targets]
        notices = []
        for target in targets:
            # A moderator who never started the bot cannot be written to: Telegram refuses.
            message_id = await self._send(target, text, keyboard)
            if message_id is not None:
                notices.append((target, message_id))
        return notices

    # --- buttons ------------------------------------------------------------------------------

    async def press(self, chat_id: int, message_id: int, verb: str, by: int) -> Pressed:
        """A button under a hand-off or an FAQ answer, pressed by `by`."""
        event: Claim | Close | Reopen | None
        if verb in (CLAIM, ANSWERED, NOT_A_QUESTION):
            moderator = await self._is_admin(chat_id, by)
            if verb == CLAIM:
                event = Claim(by, moderator)
            else:
                event = Close(by, moderator, not_a_question=verb == NOT_A_QUESTION)
        elif verb == NOT_WHAT_I_ASKED:
            event = await self._reopen(chat_id, message_id, by)
        else:
            return Pressed()  # "Helpful": nothing to change
        if event is None:
            return Pressed(Refusal.ALREADY_CLOSED)
        actions, record = await self._step(chat_id, message_id, event)
        for action in actions:
            if isinstance(action, Refuse):
                return Pressed(action.reason)
        if isinstance(event, Reopen) and record is not None:
            (await self._tracked_in(chat_id)).add(_tracked(record))
        return Pressed(state=record.handoff.state if record else None)

    async def _reopen(self, chat_id: int, message_id: int, by: int) -> Reopen | None:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            if await uow.handoff.get(chat_id, message_id) is None:
                return None
            context = await self._context(uow, chat_id)
            settings, rota = context.settings, context.rota
        return Reopen(
            by,
            deadlines(
                now,
                settings.handoff_after or self._defaults.handoff_after,
                settings.sla or self._defaults.sla,
                rota if settings.sla_follows_hours else None,
            ),
        )

    # --- the FAQ, settings, rota ----------------------------------------------------------------

    async def faq(self, chat_id: int) -> list[FaqRecord]:
        async with self._uow_factory() as uow:
            return await uow.handoff.faq(chat_id)

    async def add_faq(self, chat_id: int, question: str, answer: str, by: int | None) -> int:
        async with self._uow_factory() as uow:
            entry_id = await uow.handoff.add_faq(chat_id, question, answer, by, self._clock.now())
            await uow.commit()
        self._faqs.pop(chat_id, None)
        return entry_id

    async def remove_faq(self, chat_id: int, position: int) -> bool:
        """Remove the entry shown as number `position` by /faq list."""
        async with self._uow_factory() as uow:
            entries = await uow.handoff.faq(chat_id)
            if not 1 <= position <= len(entries):
                return False
            await uow.handoff.remove_faq(chat_id, entries[position - 1].id)
            await uow.commit()
        self._faqs.pop(chat_id, None)
        return True

    async def settings(self, chat_id: int) -> HandoffSettings:
        async with self._uow_factory() as uow:
            return await uow.handoff.settings(chat_id)

    async def configure(self, chat_id: int, **changes: object) -> HandoffSettings:
        """Change `handoff_after=`, `sla=`, `ops_chat_id=` or `sla_follows_hours=`; the
        deadlines of questions already open stay as they were."""
        async with self._uow_factory() as uow:
            settings = replace(await uow.handoff.settings(chat_id), **changes)  # type: ignore[arg-type]
            await uow.handoff.save_settings(settings)
            await uow.commit()
        self._contexts.pop(chat_id, None)
        return settings

    def effective(self, settings: HandoffSettings) -> tuple[int, int, int | None]:
        """Hand-off seconds, SLA seconds and ops chat as they apply (defaults filled in)."""
        return (
            settings.handoff_after or self._defaults.handoff_after,
            settings.sla or self._defaults.sla,
            settings.ops_chat_id or self._defaults.ops_chat_id,
        )

    async def rota(self, chat_id: int) -> tuple[Rota, list[ShiftRecord]]:
        async with self._uow_factory() as uow:
            rota = (await self._context(uow, chat_id)).rota
            return rota, await uow.handoff.rota(chat_id)

    async def add_shift(self, chat_id: int, shift: ShiftRecord) -> None:
        async with self._uow_factory() as uow:
            await uow.handoff.add_shift(chat_id, shift)
            await uow.commit()
        self._contexts.pop(chat_id, None)

    async def remove_shifts(self, chat_id: int, moderator_id: int) -> int:
        async with self._uow_factory() as uow:
            removed = await uow.handoff.remove_shifts(chat_id, moderator_id)
            await uow.commit()
        self._contexts.pop(chat_id, None)
        return removed

    async def user_named(self, chat_id: int, username: str) -> int | None:
        """The member of the group with this @username (None if never seen there)."""
        async with self._uow_factory() as uow:
            return await uow.adshare.user_named(chat_id, username)

    async def names(self, user_ids: Sequence[int]) -> dict[int, str]:
        async with self._uow_factory() as uow:
            return await uow.rollups.names(list(user_ids))

    def now(self) -> datetime:
        return self._clock.now()

    # --- measures and upkeep --------------------------------------------------------------------

    async def measures(self, chat_id: int | None, period: timedelta) -> Measures:
        """Questions asked over `period`, who answered, how fast, breaches, per moderator."""
        async with self._uow_factory() as uow:
            records = await uow.handoff.asked_since(chat_id, self._clock.now() - period)
        return measure(records)

    async def waiting(self, chat_id: int) -> tuple[int, int]:
        """A group's questions still waiting for an answer, and how many of them are with the
        moderators (handed off, claimed or escalated), for /health there."""
        async with self._uow_factory() as uow:
            unclosed = await uow.handoff.unclosed(chat_id)
        with_moderators = sum(r.handoff.state is not HandoffState.OPEN for r in unclosed)
        return len(unclosed), with_moderators

    async def asked_by(self, user_id: int) -> list[QuestionRecord]:
        """A person's questions whose text is kept (for /mydata)."""
        async with self._uow_factory() as uow:
            return await uow.handoff.asked_by(user_id)

    async def erase_expired(self) -> int:
        """Erase the text of questions closed 48 hours ago."""
        async with self._uow_factory() as uow:
            erased = await uow.handoff.erase_text_closed_before(self._clock.now() - KEPT_FOR)
            await uow.commit()
        return erased

    async def refresh_measures(self) -> Measures:
        """The last 7 days' measures across all groups, kept for /health (which cannot wait
        for the database)."""
        self.last_week = await self.measures(None, timedelta(days=7))
        return self.last_week

    def lag_p99(self) -> float:
        """The 99th percentile of recent hand-offs' and escalations' seconds past deadline."""
        if not self.metrics.lag:
            return 0.0
        ordered = sorted(self.metrics.lag)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]

    # --- helpers ----------------------------------------------------------------------------

    async def _step(
        self, chat_id: int, message_id: int, event: Answered | Claim | Close | Reopen
    ) -> tuple[tuple[HandoffAction, ...], QuestionRecord | None]:
        now = self._clock.now()
        async with self._uow_factory() as uow:
            record = await uow.handoff.get(chat_id, message_id)
            if record is None:
                return (), None
            transition = step(record.handoff, event, now)
            record = replace(record, handoff=transition.handoff)
            await uow.handoff.save(record)
            await uow.commit()
        self._forget_closed(record)
        for action in transition.actions:
            if isinstance(action, UpdateHandoff):
                await self._show_state(record)
        return transition.actions, record

    def _forget_closed(self, record: QuestionRecord) -> None:
        """A question answered or dismissed is no longer tracked in its chat."""
        if record.handoff.state in (HandoffState.ANSWERED, HandoffState.NOT_A_QUESTION):
            tracked = self._tracked.get(record.chat_id)
            if tracked is not None:
                tracked.remove(record.message_id)

    async def _show_state(self, record: QuestionRecord) -> None:
        """Edit the hand-off messages: the state is shown, buttons only while still useful."""
        async with self._uow_factory() as uow:
            context = await self._context(uow, record.chat_id)
        locale = context.locale
        text = self._wording.handoff(QuestionView(record, context.title, _link(record)), locale)
        closed = record.handoff.state in (HandoffState.ANSWERED, HandoffState.NOT_A_QUESTION)
        verbs = (ANSWERED, NOT_A_QUESTION) if not closed else ()
        keyboard = (
            _keyboard(
                record.chat_id, record.message_id, verbs, self._wording.buttons(verbs, locale)
            )
            if verbs
            else {"inline_keyboard": []}
        )
        for chat_id, message_id in record.notices:
            await self._gateway.call(
                "editMessageText",
                {
                    "chat_id": chat_id,
                    "message_id": message_id,
                    "text": text,
                    "reply_markup": keyboard,
                },
                priority=Priority.MODERATION,
                chat_id=chat_id,
            )

    async def _send(
        self,
        chat_id: int,
        text: str,
        keyboard: dict[str, Any] | None,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int | None:
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if keyboard is not None:
            params["reply_markup"] = keyboard
        if reply_to is not None:
            params["reply_parameters"] = {
                "message_id": reply_to,
                "allow_sending_without_reply": True,
            }
        if thread_id is not None:
            params["message_thread_id"] = thread_id
        outcome = await self._gateway.call(
            "sendMessage", params, priority=Priority.MODERATION, chat_id=chat_id
        )
        if not outcome.ok:
            log.info("hand-off message to chat %s refused: %s", chat_id, outcome.reason)
        return outcome.message_id

    def _ops_chat(self, settings: HandoffSettings) -> int:
        return settings.ops_chat_id or self._defaults.ops_chat_id or settings.chat_id

    def _lag(self, deadline: datetime) -> None:
        self.metrics.lag.append((self._clock.now() - deadline).total_seconds())

    async def _recent_context(self, uow: UnitOfWork, chat_id: int) -> _GroupContext:
        """`_context`, read at most every `CONTEXT_KEPT` per group: new questions come in
        batches, and a group's settings seldom change (this service's own changes clear it)."""
        now = self._clock.now()
        kept = self._contexts.get(chat_id)
        if kept is not None and now - kept[0] < CONTEXT_KEPT:
            return kept[1]
        context = await self._context(uow, chat_id)
        self._contexts[chat_id] = (now, context)
        return context

    async def _context(self, uow: UnitOfWork, chat_id: int) -> _GroupContext:
        settings = await uow.handoff.settings(chat_id)
        group = await uow.groups.get(chat_id)
        zone = (group.timezone if group else None) or self._defaults.timezone
        entries = tuple(
            RotaEntry(shift.moderator_id, parse_shift(shift.shift))
            for shift in await uow.handoff.rota(chat_id)
        )
        return _GroupContext(
            settings,
            Rota(zone, entries),
            group.title if group else str(chat_id),
            group.language if group else "en",
        )

    async def _tracked_in(self, chat_id: int) -> _ChatQuestions:
        tracked = self._tracked.get(chat_id)
        if tracked is None:
            async with self._uow_factory() as uow:
                stored = await uow.handoff.unclosed(chat_id)
            tracked = self._tracked[chat_id] = _ChatQuestions(
                [_tracked(record) for record in stored[-TRACKED_PER_CHAT:]]
            )
        return tracked

    async def _faq_match(self, chat_id: int, text: str) -> FaqRecord | None:
        cached = self._faqs.get(chat_id)
        if cached is None:
            async with self._uow_factory() as uow:
                entries = await uow.handoff.faq(chat_id)
            # No matcher for a group without an FAQ: building one costs milliseconds.
            cached = self._faqs[chat_id] = (entries, self._faq_index(entries) if entries else None)
        entries, lookup = cached
        position = lookup.match(text) if lookup is not None else None
        return entries[position] if position is not None else None

    async def _is_admin(self, chat_id: int, user_id: int) -> bool:
        try:
            return await self._admins.is_admin(chat_id, user_id, None)
        except AdminsUnknown:
            return False


async def _store_notices(
    uow: UnitOfWork, record: QuestionRecord, notices: Sequence[tuple[int, int]]
) -> None:
    """Remember the messages sent about a question, so a claim can edit them."""
    if not notices:
        return
    stored = await uow.handoff.get(record.chat_id, record.message_id)
    if stored is not None:
        await uow.handoff.save(replace(stored, notices=(*stored.notices, *notices)))


def _with_follow_up(record: QuestionRecord, decision: Decision) -> QuestionRecord:
    """The question with a follow-up joined (the same record if it is joined already)."""
    follow_up = int(decision.params["follow_up"])  # type: ignore[arg-type]
    if follow_up in record.follow_ups:
        return record
    at = datetime.fromisoformat(str(decision.params["at"]))
    return replace(record, follow_ups=(*record.follow_ups, follow_up), last_message_at=at)


def measure(records: Sequence[QuestionRecord]) -> Measures:
    """The measures over stored questions (see `Measures`)."""
    answered = [r.handoff for r in records if r.handoff.state is HandoffState.ANSWERED]
    by = Counter(h.answerer for h in answered)
    waits = sorted(
        (h.closed_at - h.asked_at).total_seconds() for h in answered if h.closed_at is not None
    )
    claims = Counter(r.handoff.claimed_by for r in records if r.handoff.claimed_by is not None)
    answers = Counter(h.closed_by for h in answered if h.answerer is Answerer.MODERATOR)
    moderators = sorted(
        {m for m in (*claims, *answers) if m is not None},
        key=lambda m: (-claims[m] - answers[m], m),
    )
    return Measures(
        asked=len(records),
        by_member=by[Answerer.MEMBER],
        by_faq=by[Answerer.FAQ],
        by_moderator=by[Answerer.MODERATOR],
        by_asker=by[Answerer.ASKER],
        median_seconds=statistics.median(waits) if waits else None,
        p90_seconds=waits[min(len(waits) - 1, int(0.9 * len(waits)))] if waits else None,
        breaches=sum(1 for r in records if r.handoff.breached_at is not None),
        per_moderator=[(m, claims[m], answers[m]) for m in moderators],
    )


def parse_callback(data: str) -> tuple[str, int, int] | None:
    """A hand-off button's (verb, chat, message), or None if the data is not one."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != CALLBACK_PREFIX:
        return None
    try:
        return parts[1], int(parts[2]), int(parts[3])
    except ValueError:
        return None


def _keyboard(
    chat_id: int, message_id: int, verbs: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    return {
        "inline_keyboard": [
            [
                {"text": label, "callback_data": f"{CALLBACK_PREFIX}:{verb}:{chat_id}:{message_id}"}
                for verb, label in zip(verbs, labels, strict=True)
            ]
        ]
    }


def _link(record: QuestionRecord) -> str | None:
    """`https://t.me/c/<id>/<message>` for a supergroup (its id is -100 followed by <id>)."""
    text = str(record.chat_id)
    if not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text[4:]}/{record.message_id}"


def _tracked(record: QuestionRecord) -> _Tracked:
    h = record.handoff
    return _Tracked(
        record.message_id,
        OpenQuestion(
            h.asker_id,
            frozenset({record.message_id, *record.follow_ups}),
            record.last_message_at or h.asked_at,
        ),
    )


def _send_kind(action: HandoffAction) -> str | None:
    if isinstance(action, SendHandoff):
        return SEND_HANDOFF
    if isinstance(action, SendEscalation):
        return SEND_ESCALATION
    return None


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float | str) and value != "" else None
