"""Question hand-off storage on both databases: a question opens once, the tick finds exactly
the due ones through `due_at`, texts go 48 hours after closing and with their asker, the FAQ,
the rota and the settings round-trip."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.handoff import Answered, Answerer, Tick, deadlines, open_handoff, step
from bot.ports import HandoffSettings, JoinedFollowUps, QuestionRecord, ShiftRecord
from storage.uow import SqlUnitOfWorkFactory

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GROUP = -1_002_000_000_001


def _question(message_id: int, asker: int = 7, at: datetime = T0) -> QuestionRecord:
    handoff = open_handoff(asker, at, deadlines(at, 600, 1800))
    return QuestionRecord(GROUP, message_id, handoff, asker_name="Ann", text=f"how {message_id}?")


async def test_a_question_opens_once_and_the_tick_finds_only_the_due(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.handoff.open(_question(1))
        assert await uow.handoff.open(_question(2, at=T0 + timedelta(minutes=5)))
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.handoff.open(_question(1, asker=8))  # applied again: no change
        assert await uow.handoff.due(T0 + timedelta(seconds=599), 10) == []
        due = await uow.handoff.due(T0 + timedelta(minutes=16), 10)
        assert [record.message_id for record in due] == [1, 2]  # earliest deadline first
        assert due[0].handoff.asker_id == 7 and due[0].text == "how 1?"
        handed = step(due[0].handoff, Tick(), T0 + timedelta(minutes=10))
        await uow.handoff.save(replace(due[0], handoff=handed.handoff, notices=((-5, 9),)))
        await uow.commit()
    async with uow_factory() as uow:
        due = await uow.handoff.due(T0 + timedelta(minutes=16), 10)
        assert [record.message_id for record in due] == [2]  # 1 is next due at its SLA
        stored = await uow.handoff.get(GROUP, 1)
        assert stored is not None
        assert stored.handoff == handed.handoff
        assert stored.notices == ((-5, 9),)
        assert [r.message_id for r in await uow.handoff.unclosed(GROUP)] == [1, 2]


async def test_get_many_returns_only_the_pairs_asked_for(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    """Chats and message ids are searched apart (a row-value IN scans on SQLite): the other
    pairs their cross product finds are not returned."""
    other_group = GROUP - 1
    async with uow_factory() as uow:
        await uow.handoff.open_many(
            [_question(1), _question(2), replace(_question(1), chat_id=other_group)]
        )
        await uow.handoff.open_many([replace(_question(2), chat_id=other_group)])
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.handoff.get_many({(GROUP, 1), (other_group, 2)})
    assert set(found) == {(GROUP, 1), (other_group, 2)}
    assert found[(other_group, 2)].chat_id == other_group


async def test_save_many_stores_each_question_whole_and_only_its_own(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.handoff.open_many([_question(1), _question(2), _question(3)])
        await uow.commit()
    answered = step(_question(1).handoff, Answered(Answerer.MEMBER, 9), T0 + timedelta(minutes=3))
    handed = step(_question(2).handoff, Tick(), T0 + timedelta(minutes=10))
    saved = [
        replace(_question(1), handoff=answered.handoff, notices=((-5, 11),)),
        replace(_question(2), handoff=handed.handoff, follow_ups=(4,)),
    ]
    async with uow_factory() as uow:
        await uow.handoff.save_many(saved)
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.handoff.get_many({(GROUP, 1), (GROUP, 2), (GROUP, 3)})
    assert found[(GROUP, 1)].handoff == answered.handoff
    assert found[(GROUP, 1)].notices == ((-5, 11),)
    assert found[(GROUP, 2)].handoff == handed.handoff
    assert found[(GROUP, 2)].follow_ups == (4,)
    assert found[(GROUP, 3)].handoff == _question(3).handoff  # untouched


async def test_follow_ups_are_joined_without_touching_the_rest(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    later = T0 + timedelta(minutes=2)
    async with uow_factory() as uow:
        await uow.handoff.open_many([_question(1), _question(2)])
        await uow.handoff.join_follow_ups([JoinedFollowUps(GROUP, 1, (3, 5), later)])
        await uow.commit()
    async with uow_factory() as uow:
        joined, other = await uow.handoff.get(GROUP, 1), await uow.handoff.get(GROUP, 2)
    assert joined is not None and other is not None
    assert (joined.follow_ups, joined.last_message_at) == ((3, 5), later)
    assert joined.handoff == _question(1).handoff and joined.text == "how 1?"
    assert (other.follow_ups, other.last_message_at) == ((), T0)  # another question: as it was


async def test_texts_go_48_hours_after_closing_and_with_their_asker(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for message_id, asker in ((1, 7), (2, 7), (3, 8)):
            await uow.handoff.open(_question(message_id, asker))
        record = await uow.handoff.get(GROUP, 1)
        assert record is not None
        answered = step(record.handoff, Answered(Answerer.MEMBER, 9), T0 + timedelta(minutes=1))
        await uow.handoff.save(replace(record, handoff=answered.handoff))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.handoff.erase_text_closed_before(T0) == 0
        assert await uow.handoff.erase_text_closed_before(T0 + timedelta(hours=49)) == 1
        assert [r.message_id for r in await uow.handoff.unclosed(GROUP)] == [2, 3]
        assert [r.message_id for r in await uow.handoff.asked_by(7)] == [2]
        assert await uow.handoff.erase_member(7) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.handoff.asked_by(7) == []
        kept = await uow.handoff.asked_since(GROUP, T0)
        assert len(kept) == 3  # the rows stay for the measures, without text
        assert {r.text for r in kept if r.handoff.asker_id == 7} == {None}


async def test_faq_rota_and_settings_round_trip(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        first = await uow.handoff.add_faq(GROUP, "reset password?", "Settings → Reset", 1, T0)
        await uow.handoff.add_faq(GROUP, "refund?", "Within 14 days", 1, T0)
        await uow.handoff.add_shift(GROUP, ShiftRecord(11, "@olga", "Mon-Fri 09:00-18:00"))
        await uow.handoff.add_shift(GROUP, ShiftRecord(12, "@max", "Sat,Sun 10:00-16:00"))
        await uow.handoff.add_shift(GROUP, ShiftRecord(11, "@olga", "Mon-Fri 09:00-18:00"))
        await uow.handoff.save_settings(HandoffSettings(GROUP, handoff_after=60, ops_chat_id=-9))
        await uow.commit()
    async with uow_factory() as uow:
        assert [e.question for e in await uow.handoff.faq(GROUP)] == ["reset password?", "refund?"]
        assert await uow.handoff.remove_faq(GROUP, first)
        assert not await uow.handoff.remove_faq(GROUP + 1, first + 1)  # another group's entry
        assert [s.moderator_id for s in await uow.handoff.rota(GROUP)] == [11, 12]
        assert await uow.handoff.remove_shifts(GROUP, 11) == 1
        assert await uow.handoff.settings(GROUP) == HandoffSettings(GROUP, 60, None, -9, False)
        assert await uow.handoff.settings(GROUP + 1) == HandoffSettings(GROUP + 1)
        await uow.handoff.save_settings(HandoffSettings(GROUP, sla=30, sla_follows_hours=True))
        await uow.commit()
    async with uow_factory() as uow:
        assert [e.answer for e in await uow.handoff.faq(GROUP)] == ["Within 14 days"]
        assert [s.moderator_name for s in await uow.handoff.rota(GROUP)] == ["@max"]
        assert await uow.handoff.settings(GROUP) == HandoffSettings(GROUP, None, 30, None, True)
