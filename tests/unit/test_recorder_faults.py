"""One event the database refuses cannot stop ingestion; passing faults retry; stop is bounded."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy import func, select

from bot.domain.events import Actor
from bot.services.engagement import EngagementRecorder
from storage.errors import is_transient
from storage.models import events_table
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.unit.test_services import Watched, message

GUARD = 10.0  # seconds: only a hung test waits this long; no verdict rests on it


async def _stored(uow_factory: SqlUnitOfWorkFactory) -> set[str]:
    async with uow_factory() as uow:
        rows = await uow.session.execute(select(events_table.c.dedup_key))
        return set(rows.scalars())


async def test_an_event_the_database_refuses_is_quarantined_and_the_rest_written(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    recorder = EngagementRecorder(uow_factory, FakeClock(), batch_size=8, transient=is_transient)
    await recorder.start()
    events = [message(n) for n in range(1, 9)]
    # A name no database can store (a lone surrogate; PostgreSQL also refuses NUL), built
    # past the mapping, which cleans names, to show the recorder's own guard.
    bad = replace(events[4], actor=Actor(user_id=99, first_name="Eve\ud800\x00"))
    events[4] = bad
    await recorder.record(events)
    await asyncio.wait_for(recorder.durable(), GUARD)
    await recorder.stop()
    assert recorder.metrics.quarantined == 1
    assert await _stored(uow_factory) == {e.dedup_key for e in events} - {bad.dedup_key}


async def test_a_passing_fault_is_retried_not_quarantined(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    flaky = Watched(uow_factory)  # its failed commits are a lost connection's
    flaky.fail_next_commits = 3
    recorder = EngagementRecorder(
        flaky,  # type: ignore[arg-type]
        FakeClock(),
        batch_size=4,
        retry_delay=0,
        transient=is_transient,
    )
    await recorder.start()
    events = [message(n) for n in range(1, 5)]
    await recorder.record(events)
    await asyncio.wait_for(recorder.durable(), GUARD)
    await recorder.stop()
    assert recorder.metrics.quarantined == 0
    assert recorder.metrics.failed_flushes == 3
    assert await _stored(uow_factory) == {e.dedup_key for e in events}


async def test_stop_is_bounded_while_writes_keep_failing(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    down = Watched(uow_factory)
    down.fail_next_commits = 10**9
    recorder = EngagementRecorder(
        down,  # type: ignore[arg-type]
        FakeClock(),
        retry_delay=0.01,
        transient=is_transient,
    )
    await recorder.start()
    await recorder.record([message(1)])
    await asyncio.wait_for(recorder.stop(within=0.05), GUARD)  # returns: that is the verdict
    async with uow_factory() as uow:
        count = await uow.session.scalar(select(func.count()).select_from(events_table))
    assert count == 0  # unwritten, so never confirmed: Telegram sends it again


async def test_a_handled_update_is_noted_once_and_forgotten_after_a_week(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clock = FakeClock()
    recorder = EngagementRecorder(uow_factory, clock)
    assert await recorder.first_handling(42)
    assert not await recorder.first_handling(42)  # a redelivery: not answered again
    clock.advance(6 * 86_400)
    assert await recorder.forget_handled() == 0  # Telegram might still resend it
    clock.advance(2 * 86_400)
    assert await recorder.forget_handled() == 1
    assert await recorder.first_handling(42)
