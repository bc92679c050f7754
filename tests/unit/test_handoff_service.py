"""The question watcher's decisions over small in-memory fakes, the measures /sla shows, and the
button data and message links the hand-off messages carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import pytest

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.domain.handoff import (
    Answered,
    Answerer,
    Claim,
    Tick,
    deadlines,
    open_handoff,
    step,
)
from bot.domain.watching import Decision, WatchedMessage
from bot.ports import ChatAdmin, FaqRecord, JoinedFollowUps, QuestionRecord
from bot.services.admins import AdminDirectory
from bot.services.handoff import (
    ANSWER,
    CREDIT,
    FOLLOW_UP,
    OPEN,
    SHOW,
    TRACKED_PER_CHAT,
    Defaults,
    HandoffService,
    _link,
    measure,
    parse_callback,
)
from handlers.handoff import Wording
from tests.fakes import FakeClock, FakeGateway

GROUP = GroupRef(-1_002_000_000_001, "Makers", "supergroup")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ASKER, MEMBER, MODERATOR = 1, 2, 3


class _Handoffs:
    """What the watcher reads: a group's unclosed questions and its FAQ."""

    def __init__(self, faq: list[FaqRecord]) -> None:
        self._faq = faq

    async def unclosed(self, chat_id: int) -> list[QuestionRecord]:
        return []

    async def faq(self, chat_id: int) -> list[FaqRecord]:
        return list(self._faq)


class _Uow:
    def __init__(self, faq: list[FaqRecord]) -> None:
        self.handoff = _Handoffs(faq)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class _FaqByWord:
    """Matches an entry when the question contains its first word (the real matcher has its
    own tests: tests/unit/test_faq.py)."""

    def __init__(self, entries: Sequence[FaqRecord]) -> None:
        self._words = [entry.question.split()[0] for entry in entries]

    def match(self, question: str) -> int | None:
        return next((i for i, word in enumerate(self._words) if word in question), None)


def _service(faq: list[FaqRecord] | None = None) -> HandoffService:
    clock = FakeClock(T0)
    moderator = ChatAdmin(MODERATOR, is_bot=False, status="administrator")
    gateway = FakeGateway({GROUP.chat_id: [moderator]})
    return HandoffService(
        lambda: _Uow(faq or []),  # type: ignore[arg-type,return-value]
        clock,
        AdminDirectory(gateway, clock),  # type: ignore[arg-type]
        gateway,  # type: ignore[arg-type]
        defaults=Defaults(),
        faq_index=_FaqByWord,
        wording=Wording(),
    )


def _message(
    message_id: int,
    author: int,
    text: str,
    *,
    reply_to: int | None = None,
    after: float = 0,
    kind: MessageKind = MessageKind.TEXT,
    **extra: Any,
) -> WatchedMessage:
    event = EngagementEvent(
        dedup_key=EngagementEvent.message_key(GROUP.chat_id, message_id),
        update_id=message_id,
        kind=EventKind.MESSAGE,
        group=GROUP,
        occurred_at=T0 + timedelta(seconds=after),
        actor=Actor(author, f"User{author}"),
        message_id=message_id,
        message_kind=kind,
        reply_to_message_id=reply_to,
    )
    return WatchedMessage(event, text, **extra)


def _actions(decisions: Sequence[Decision]) -> list[tuple[str, int | None]]:
    return [(decision.action, decision.message_id) for decision in decisions]


async def test_a_question_opens_and_a_reply_from_someone_else_answers_it() -> None:
    service = _service()
    opened = await service.watch(_message(10, ASKER, "How do I reset my password?"))
    assert _actions(opened) == [(OPEN, 10)]
    assert opened[0].params["text"] == "How do I reset my password?"
    assert opened[0].params["faq_entry_id"] is None
    assert await service.watch(_message(11, MEMBER, "+1", reply_to=10, after=5)) == []
    answered = await service.watch(_message(12, MEMBER, "Settings, then Reset", reply_to=10))
    assert _actions(answered) == [(ANSWER, 10)]
    assert answered[0].params == {"answerer": Answerer.MEMBER.value, "by": MEMBER}
    # Answered once: a second reply is ordinary chat.
    assert await service.watch(_message(13, MEMBER, "or ask support", reply_to=10)) == []


async def test_anyone_elses_reply_and_a_photo_answer_too() -> None:
    service = _service()
    await service.watch(_message(10, ASKER, "How do I reset my password?"))
    await service.watch(_message(20, MEMBER, "Where is the settings page?", after=1))
    # Whether the one answering moderates is asked when the answer is applied (off the
    # chat's lane): the end-to-end claim test sees a moderator's answer stored as one.
    by_moderator = await service.watch(_message(11, MODERATOR, "Use the app", reply_to=10))
    assert by_moderator[0].params == {"answerer": Answerer.MEMBER.value, "by": MODERATOR}
    # A screenshot without a caption still answers: its kind stands in for its text.
    photo = await service.watch(_message(21, ASKER, "", reply_to=20, kind=MessageKind.MEDIA))
    assert _actions(photo) == [(ANSWER, 20)]


async def test_the_askers_next_messages_join_the_question_and_replies_to_them_answer_it() -> None:
    service = _service()
    await service.watch(_message(10, ASKER, "How do I reset my password?"))
    joined = await service.watch(_message(11, ASKER, "on Android", after=30))
    assert _actions(joined) == [(FOLLOW_UP, 10)]
    assert joined[0].params["follow_up"] == 11
    again = await service.watch(_message(12, ASKER, "version 14", after=40))
    assert again[0].params["follow_ups"] == [11, 12]  # all of them: written without a read
    answered = await service.watch(_message(13, MEMBER, "Android: Settings", reply_to=11))
    assert _actions(answered) == [(ANSWER, 10)]


async def test_a_message_is_judged_against_the_questions_it_concerns_oldest_first() -> None:
    service = _service()
    await service.watch(_message(10, ASKER, "How do I reset my password?"))
    await service.watch(_message(20, MEMBER, "Where is the settings page?", after=1))
    # The asker's own question (a follow-up, soon after) and the one replied to (answered).
    both = await service.watch(_message(21, ASKER, "Top right corner", reply_to=20, after=2))
    assert _actions(both) == [(FOLLOW_UP, 10), (ANSWER, 20)]
    # Someone else's message replying to neither concerns neither.
    assert await service.watch(_message(30, MODERATOR, "Welcome all", after=3)) == []


async def test_a_chat_tracks_its_latest_questions_only() -> None:
    service = _service()
    await service.watch(_message(10, ASKER, "How do I reset my password?"))
    for n in range(TRACKED_PER_CHAT):
        await service.watch(_message(100 + n, 1000 + n, f"What is step {n}?", after=1 + n))
    assert await service.watch(_message(11, MODERATOR, "Settings", reply_to=10)) == []
    latest = await service.watch(_message(12, MODERATOR, "Step one", reply_to=100))
    assert _actions(latest) == [(ANSWER, 100)]


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("how are you?", {}),  # chit-chat
        ("Big sale? Order now", {"forward_origin": "channel"}),
        ("Want 50% off?", {"url_buttons": ("https://shop.example",)}),
    ],
)
async def test_what_is_no_question_for_a_human_opens_nothing(
    text: str, extra: dict[str, Any]
) -> None:
    assert list(await _service().watch(_message(10, ASKER, text, **extra))) == []


async def test_a_question_the_faq_knows_opens_with_its_entry() -> None:
    faq = [FaqRecord(41, "password reset", "Settings → Reset")]
    service = _service(faq)
    opened = await service.watch(_message(10, ASKER, "Where is the password reset?"))
    assert opened[0].params["faq_entry_id"] == 41
    # Answered by the FAQ, it is not tracked: a reply to it is ordinary chat.
    assert await service.watch(_message(11, MEMBER, "see the FAQ", reply_to=10)) == []


def _record(message_id: int, handoff: Any) -> QuestionRecord:
    return QuestionRecord(-1, message_id, handoff)


def test_measures_count_who_answered_how_fast_and_the_breaches() -> None:
    def asked(message_id: int) -> Any:
        return open_handoff(ASKER, T0, deadlines(T0, 600, 1800))

    member = step(asked(1), Answered(Answerer.MEMBER, MEMBER), T0 + timedelta(minutes=2))
    faq = step(asked(2), Answered(Answerer.FAQ), T0)
    claimed = step(step(asked(3), Tick(), T0 + timedelta(minutes=10)).handoff, Claim(9, True), T0)
    moderated = step(claimed.handoff, Answered(Answerer.MODERATOR, 9), T0 + timedelta(minutes=20))
    breached = step(asked(4), Tick(), T0 + timedelta(hours=1))
    records = [_record(n, t.handoff) for n, t in enumerate((member, faq, moderated, breached), 1)]
    measures = measure(records)
    assert (measures.asked, measures.by_member, measures.by_faq, measures.by_moderator) == (
        4,
        1,
        1,
        1,
    )
    assert measures.breaches == 1
    assert measures.median_seconds == 120  # of 0 s, 2 min and 20 min
    assert measures.p90_seconds == 1200
    assert measures.per_moderator == [(9, 1, 1)]
    assert measure([]).median_seconds is None


def test_button_data_and_message_links() -> None:
    assert parse_callback("hq:claim:-1002000000001:10") == ("claim", -1002000000001, 10)
    assert parse_callback("erase") is None
    assert parse_callback("hq:claim:x:10") is None
    handoff = open_handoff(ASKER, T0, deadlines(T0, 600, 1800))
    supergroup = QuestionRecord(-1_002_000_000_001, 10, handoff)
    assert _link(supergroup) == "https://t.me/c/2000000001/10"
    assert _link(QuestionRecord(-4242, 10, handoff)) is None  # a basic group has no links


class _Questions(_Handoffs):
    """Stored questions, for the writes (`get_many`, `save_many`) and the actions after them."""

    def __init__(self, records: Sequence[QuestionRecord]) -> None:
        super().__init__([])
        self.rows = {(r.chat_id, r.message_id): r for r in records}

    async def get(self, chat_id: int, message_id: int) -> QuestionRecord | None:
        return self.rows.get((chat_id, message_id))

    async def get_many(self, keys: Any) -> dict[tuple[int, int], QuestionRecord]:
        return {key: self.rows[key] for key in keys if key in self.rows}

    async def save(self, record: QuestionRecord) -> None:
        self.rows[(record.chat_id, record.message_id)] = record

    async def save_many(self, records: Sequence[QuestionRecord]) -> None:
        for record in records:
            await self.save(record)

    async def join_follow_ups(self, joined: Sequence[JoinedFollowUps]) -> None:
        for j in joined:
            key = (j.chat_id, j.message_id)
            if key in self.rows:
                self.rows[key] = replace(
                    self.rows[key], follow_ups=j.follow_ups, last_message_at=j.at
                )


class _QuestionsUow(_Uow):
    def __init__(self, questions: _Questions) -> None:
        self.handoff = questions

    async def commit(self) -> None:
        return None


def _answering(records: Sequence[QuestionRecord]) -> tuple[HandoffService, _Questions]:
    questions = _Questions(records)
    service = _service()
    service._uow_factory = lambda: _QuestionsUow(questions)  # type: ignore[assignment,return-value]
    return service, questions


def _open(message_id: int, handed_off: bool = False) -> QuestionRecord:
    handoff = open_handoff(ASKER, T0, deadlines(T0, 1800, 7200, None))
    if handed_off:
        handoff = step(handoff, Tick(), T0 + timedelta(minutes=30)).handoff
    return QuestionRecord(GROUP.chat_id, message_id, handoff, asker_name="A", text="?")


def _answer(message_id: int, by: int) -> Decision:
    return Decision(ANSWER, GROUP.chat_id, message_id, {"answerer": "member", "by": by})


async def test_an_answer_written_with_its_batch_is_a_moderators_once_the_admin_check_says_so() -> (
    None
):
    service, questions = _answering([_open(10), _open(20, handed_off=True)])
    uow = _QuestionsUow(questions)
    # The admins are not cached yet: written as a member's, checked after the commit.
    follow_ups = await service.write_answers(uow, [_answer(10, MODERATOR)])  # type: ignore[arg-type]
    assert _actions(follow_ups) == [(CREDIT, 10)]
    assert questions.rows[(GROUP.chat_id, 10)].handoff.answerer is Answerer.MEMBER
    assert await service.apply_credit(follow_ups[0])
    assert questions.rows[(GROUP.chat_id, 10)].handoff.answerer is Answerer.MODERATOR
    # Now cached: a moderator's at once; a handed-off question's messages are to be updated.
    follow_ups = await service.write_answers(uow, [_answer(20, MODERATOR)])  # type: ignore[arg-type]
    assert _actions(follow_ups) == [(SHOW, 20)]
    assert questions.rows[(GROUP.chat_id, 20)].handoff.answerer is Answerer.MODERATOR


async def test_a_members_answer_stays_a_members_and_a_closed_question_is_not_answered_again() -> (
    None
):
    service, questions = _answering([_open(10)])
    await service._admins.admins(GROUP.chat_id)  # cached: MEMBER is no admin
    uow = _QuestionsUow(questions)
    assert await service.write_answers(uow, [_answer(10, MEMBER)]) == []  # type: ignore[arg-type]
    closed = questions.rows[(GROUP.chat_id, 10)]
    assert (closed.handoff.answerer, closed.handoff.closed_by) == (Answerer.MEMBER, MEMBER)
    assert await service.write_answers(uow, [_answer(10, MODERATOR)]) == []  # type: ignore[arg-type]
    assert questions.rows[(GROUP.chat_id, 10)] == closed
    # A credit for someone who is no admin changes nothing.
    assert await service.apply_credit(Decision(CREDIT, GROUP.chat_id, 10, {"by": MEMBER}))
    assert questions.rows[(GROUP.chat_id, 10)] == closed


async def test_follow_ups_written_with_their_batch_are_stored_once() -> None:
    service, questions = _answering([_open(10)])
    uow = _QuestionsUow(questions)
    at = (T0 + timedelta(minutes=1)).isoformat()
    params = {"follow_up": 11, "at": at, "follow_ups": [11]}
    follow_up = Decision(FOLLOW_UP, GROUP.chat_id, 10, params)
    assert await service.write_follow_ups(uow, [follow_up, follow_up]) == ()  # type: ignore[arg-type]
    stored = questions.rows[(GROUP.chat_id, 10)]
    # After a restart a reply to message 11 still answers question 10.
    assert stored.follow_ups == (11,)
    assert stored.last_message_at == T0 + timedelta(minutes=1)
