"""Decisions a feature writes itself go into the transaction that stores their messages; a
failing write falls back to the applier, and never costs an event."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from sqlalchemy import Table, func, select

from bot.domain.watching import Decision
from bot.features import Feature, composed_writes
from bot.ports import UnitOfWork
from bot.services.engagement import EngagementRecorder
from storage.errors import is_transient
from storage.models import decisions_table, events_table
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.unit.test_services import GROUP, message

GUARD = 10.0  # seconds: only a hung test waits this long; no verdict rests on it
COUNT, NOTE, ELSEWHERE = "test.count", "test.note", "test.elsewhere"


class Counting:
    """A feature's write: counts the decisions it is given and the transactions they came in,
    and follows each with a NOTE to send after the commit."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.batches: list[list[int]] = []
        self.events_seen: list[int] = []

    async def write(self, uow: UnitOfWork, decisions: Sequence[Decision]) -> list[Decision]:
        # The batch's events are visible: this runs inside the transaction that stores them.
        session = uow.session  # type: ignore[attr-defined]
        self.events_seen.append(
            await session.scalar(select(func.count()).select_from(events_table))
        )
        self.batches.append([d.message_id or 0 for d in decisions])
        if self.fail:
            raise ValueError("a feature's bug")
        return [Decision(NOTE, d.chat_id, d.message_id) for d in decisions]


async def _count(uow_factory: SqlUnitOfWorkFactory, table: Table) -> int:
    async with uow_factory() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(table)) or 0)


async def _record(
    recorder: EngagementRecorder, numbers: range, actions: Sequence[str] = (COUNT,)
) -> None:
    for n in numbers:
        decisions = [("watcher", Decision(action, GROUP.chat_id, n)) for action in actions]
        await recorder.record([message(n)], decisions)
    await asyncio.wait_for(recorder.durable(), GUARD)


async def test_written_decisions_share_their_batch_transaction_and_only_follow_ups_are_stored(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    counting = Counting()
    recorder = EngagementRecorder(uow_factory, FakeClock(), batch_size=5, transient=is_transient)
    recorder.writes = {COUNT: counting.write}
    applied: list[list[str]] = []
    recorder.on_decided = lambda stored: applied.append([s.decision.action for s in stored])
    await recorder.start()
    await _record(recorder, range(1, 11), (COUNT, ELSEWHERE))
    await recorder.stop()
    assert counting.batches == [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]  # one call per batch
    assert counting.events_seen == [5, 10]
    # What is left for the applier: the decisions nobody writes, and the follow-ups.
    assert sorted(applied[0]) == sorted([ELSEWHERE] * 5 + [NOTE] * 5)
    assert await _count(uow_factory, decisions_table) == 20


async def test_a_redelivered_message_is_not_written_again(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    counting = Counting()
    recorder = EngagementRecorder(uow_factory, FakeClock(), batch_size=3, transient=is_transient)
    recorder.writes = {COUNT: counting.write}
    await recorder.start()
    await _record(recorder, range(1, 4))
    await _record(recorder, range(1, 4))  # Telegram sends them again
    await recorder.stop()
    assert counting.batches == [[1, 2, 3]]


async def test_a_failing_write_leaves_its_decisions_to_the_applier_and_loses_no_event(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    counting = Counting(fail=True)
    recorder = EngagementRecorder(uow_factory, FakeClock(), batch_size=4, transient=is_transient)
    recorder.writes = {COUNT: counting.write}
    await recorder.start()
    await _record(recorder, range(1, 5))
    await recorder.stop()
    assert recorder.metrics.write_failures == 1
    assert recorder.metrics.quarantined == 0
    assert await _count(uow_factory, events_table) == 4
    async with uow_factory() as uow:
        pending = await uow.decisions.pending()
    assert [(p.decision.action, p.decision.message_id) for p in pending] == [
        (COUNT, n) for n in range(1, 5)
    ]


def test_a_feature_that_writes_a_decision_must_also_apply_it() -> None:
    async def write(uow: UnitOfWork, decisions: Sequence[Decision]) -> list[Decision]:
        return []

    async def apply(decision: Decision) -> bool:
        return True

    with pytest.raises(ValueError, match="without an action"):
        composed_writes([Feature("f", writes={COUNT: write})])
    both = Feature("f", writes={COUNT: write}, actions={COUNT: apply})
    assert composed_writes([both]) == {COUNT: write}
    with pytest.raises(ValueError, match="redefines"):
        composed_writes([both, both])
