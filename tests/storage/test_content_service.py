"""Content's publishing on SQLite and PostgreSQL: once per occurrence, across restarts and two
processes, late within the grace period, missed past it, promos deferred by the ad cap, quiet
hours, recurrences. A real `Delivery` over a fake transport; the clock is the test's."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.delivery import Delivery
from bot.domain.content import ContentKind, ContentState, WhenError, parse_quiet
from bot.domain.events import GroupRef
from bot.experiment_stats import compare
from bot.ports import ContentItem, GroupSettings
from bot.recurrence import next_run
from bot.services.admins import AdminDirectory
from bot.services.content import ContentError, ContentService
from storage.models import content_posts_table, outbox_table
from storage.uow import SqlUnitOfWorkFactory
from tests.delivery.fakes import FakeTime, FakeTransport
from tests.fakes import FakeClock

CHAT = -100123
OWNER = 42
START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 13:00 in Berlin


class Words:
    def missed(self, item: ContentItem, planned: datetime, timezone: str, locale: str) -> str:
        return f"missed {item.id}"

    def deferred(self, item: ContentItem, at: datetime, timezone: str, locale: str) -> str:
        return f"deferred {item.id} to {at.isoformat()}"

    def failed(self, item: ContentItem, reason: str, locale: str) -> str:
        return f"failed {item.id}: {reason}"


@dataclass
class Grant:
    granted: bool
    at: datetime


class Budget:
    """The ad cap: grants while `open`, else says when it fits."""

    def __init__(self, clock: FakeClock) -> None:
        self.open = True
        self.fits_in = timedelta(hours=2)
        self.keys: list[str] = []
        self._clock = clock

    async def reserve(self, chat_id: int, key: str) -> Grant:
        self.keys.append(key)
        now = self._clock.now()
        return Grant(True, now) if self.open else Grant(False, now + self.fits_in)


@dataclass
class Rig:
    service: ContentService
    delivery: Delivery
    transport: FakeTransport
    clock: FakeClock
    budget: Budget
    uow: SqlUnitOfWorkFactory


def _rig(uow: SqlUnitOfWorkFactory, clock: FakeClock, budget: Budget | None = None) -> Rig:
    time = FakeTime()
    transport = FakeTransport(time.monotonic)
    delivery = Delivery(
        transport, time.monotonic, uow_factory=uow, wall_clock=clock, sleep=time.sleep
    )
    budget = budget or Budget(clock)
    service = ContentService(
        uow,
        clock,
        AdminDirectory(delivery, clock),
        delivery,
        delivery,
        next_run=next_run,
        compare=compare,
        wording=Words(),
        default_timezone="Europe/Berlin",
        budget=lambda: budget,
    )
    return Rig(service, delivery, transport, clock, budget, uow)


@pytest.fixture
async def rig(uow_factory: SqlUnitOfWorkFactory) -> Any:
    async with uow_factory() as uow:
        await uow.groups.upsert_many([GroupRef(CHAT, "Makers", "supergroup")], START)
        await uow.commit()
    r = _rig(uow_factory, FakeClock(START))
    await r.delivery.start()
    yield r
    await r.delivery.stop()


async def _posts(r: Rig, chat_id: int = CHAT) -> list[str]:
    await r.service.drain()
    return [c.params.get("text", "") for c in r.transport.sent(chat_id)]


async def _count(uow: SqlUnitOfWorkFactory, table: Any) -> int:
    async with uow() as u:
        return int((await u.session.execute(select(func.count()).select_from(table))).scalar_one())


async def _approved(
    r: Rig, text: str = "Hello makers", kind: ContentKind = ContentKind.ORGANIC
) -> int:
    item = await r.service.idea(CHAT, text, OWNER)
    await r.service.start_draft(OWNER, CHAT, item.id)
    from bot.ports import ContentBody

    await r.service.write_body(OWNER, ContentBody(text))
    async with r.uow() as uow:
        stored = await uow.content.get(item.id)
        assert stored is not None
        from dataclasses import replace

        await uow.content.save(replace(stored, kind=kind))
        await uow.commit()
    await r.service.approve(item.id, OWNER)
    return item.id


async def test_a_post_goes_out_once_at_its_time(rig: Rig) -> None:
    r = rig
    item_id = await _approved(r)
    scheduled = await r.service.schedule(item_id, "today 14:00", OWNER)
    assert scheduled.at == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    r.clock.advance(3599)
    assert await r.service.run_due() == 0
    r.clock.advance(1)
    assert await r.service.run_due() == 1
    assert await r.service.run_due() == 0
    assert await _posts(r) == ["Hello makers"]
    item = await r.service.get(item_id)
    assert item.state is ContentState.PUBLISHED and item.due_at is None
    history = [(t.action, t.to_state.value) for t in await r.service.history(item_id)]
    assert history == [
        ("idea", "idea"),
        ("write", "draft"),
        ("approve", "approved"),
        ("schedule", "scheduled"),
        ("publish", "published"),
    ]
    assert await _count(r.uow, outbox_table) == 1


async def test_two_processes_publish_an_occurrence_once(rig: Rig) -> None:
    r = rig
    other = _rig(r.uow, r.clock)
    await other.delivery.start()
    try:
        for n in range(5):
            item_id = await _approved(r, f"post {n}")
            await r.service.schedule(item_id, "today 14:00", OWNER)
        r.clock.advance(3600)
        taken = await asyncio.gather(r.service.run_due(), other.service.run_due())
        assert sum(taken) == 5
        await other.service.drain()
        sent = await _posts(r) + [c.params["text"] for c in other.transport.sent(CHAT)]
        assert sorted(sent) == [f"post {n}" for n in range(5)]
    finally:
        await other.delivery.stop()


async def test_a_restart_between_claim_and_send_publishes_once(rig: Rig) -> None:
    r = rig
    item_id = await _approved(r)
    await r.service.schedule(item_id, "today 14:00", OWNER)
    r.clock.advance(3600)
    # The process dies right after the claim's commit: delivery never gets the call.
    r.transport.gate = asyncio.Event()
    assert await r.service.run_due() == 1
    await r.delivery.stop(drain=False)
    assert r.transport.sent(CHAT) == []
    # The next process: delivery resumes the pending outbox row; the tick finds nothing due.
    after = _rig(r.uow, r.clock)
    await after.delivery.start()
    try:
        assert await after.delivery.resume_pending() == 1
        assert await after.service.run_due() == 0
        await asyncio.sleep(0.05)
        assert [c.params["text"] for c in after.transport.sent(CHAT)] == ["Hello makers"]
        # The measuring pass learns the message id from the outbox and marks it published.
        r.clock.advance(30)
        await after.service.run_measures()
        (post,) = await after.service.posts(item_id)
        assert post.state == "published" and post.message_id is not None
        assert (await after.service.get(item_id)).state is ContentState.PUBLISHED
        assert await after.delivery.resume_pending() == 0
    finally:
        await after.delivery.stop()


async def test_late_within_grace_goes_out_and_past_it_is_missed_and_reported(rig: Rig) -> None:
    r = rig
    late = await _approved(r, "late")
    await r.service.schedule(late, "today 14:00", OWNER)
    lost = await _approved(r, "lost")
    await r.service.schedule(lost, "today 13:30", OWNER)
    r.clock.advance(3600 + 14 * 60)  # 14:14: 14 min after one, 44 min after the other
    assert await r.service.run_due() == 2
    assert await _posts(r) == ["late"]
    assert (await r.service.get(lost)).state is ContentState.MISSED
    assert [c.params["text"] for c in r.transport.sent(OWNER)] == [f"missed {lost}"]
    (post,) = await r.service.posts(lost)
    assert post.state == "missed"
    # A missed item can be scheduled again.
    await r.service.schedule(lost, "tomorrow 09:00", OWNER)


async def test_a_promo_over_the_cap_is_deferred_and_published_when_it_fits(rig: Rig) -> None:
    r = rig
    item_id = await _approved(r, "Buy now", ContentKind.PROMO)
    await r.service.schedule(item_id, "today 14:00", OWNER)
    r.budget.open = False
    r.clock.advance(3600)
    assert await r.service.run_due() == 1
    assert await _posts(r) == []
    item = await r.service.get(item_id)
    assert item.state is ContentState.DEFERRED
    assert item.due_at == START + timedelta(hours=3)
    (told,) = r.transport.sent(OWNER)
    assert told.params["text"] == f"deferred {item_id} to {item.due_at.isoformat()}"
    r.budget.open = True
    r.clock.advance(2 * 3600 - 1)
    assert await r.service.run_due() == 0
    r.clock.advance(1)
    assert await r.service.run_due() == 1
    assert await _posts(r) == ["Buy now"]
    assert len(set(r.budget.keys)) == 1  # one occurrence, one reservation key


async def test_quiet_hours_move_a_post_to_their_end(rig: Rig) -> None:
    r = rig
    await r.service.set_quiet(CHAT, parse_quiet("23:00-07:00"))
    assert await r.service.quiet(CHAT) == parse_quiet("23:00-07:00")
    item_id = await _approved(r)
    scheduled = await r.service.schedule(item_id, "today 23:30", OWNER)
    assert scheduled.quiet_from == datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    assert scheduled.at == datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 07:00 in Berlin


async def test_a_recurring_item_posts_each_day_at_its_wall_time(rig: Rig) -> None:
    r = rig
    item_id = await _approved(r, "Daily tip")
    scheduled = await r.service.schedule(item_id, "daily 08:00", OWNER)
    assert scheduled.at == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    r.clock.advance(19 * 3600)  # to 08:00 tomorrow
    for _ in range(3):
        assert await r.service.run_due() == 1
        r.clock.advance(24 * 3600)
    assert await _posts(r) == ["Daily tip"] * 3
    item = await r.service.get(item_id)
    assert item.state is ContentState.SCHEDULED
    assert item.planned_at == datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
    assert await r.service.run_due() == 1  # 12-05 08:00
    assert len(await _posts(r)) == 4
    # Paused, it skips its runs; resumed, it goes on from the next one.
    await r.service.pause(item_id, OWNER)
    r.clock.advance(2 * 24 * 3600)
    assert await r.service.run_due() == 0
    resumed = await r.service.resume(item_id, OWNER)
    assert resumed.due_at is not None and resumed.due_at > r.clock.now()
    await r.service.cancel(item_id, OWNER)
    r.clock.advance(7 * 24 * 3600)
    assert await r.service.run_due() == 0
    assert len(await _posts(r)) == 4


async def test_refusals(rig: Rig) -> None:
    r = rig
    item = await r.service.idea(CHAT, "an idea", OWNER)
    from bot.domain.content import StepRefused

    with pytest.raises(StepRefused):
        await r.service.schedule(item.id, "tomorrow 20:00", OWNER)
    with pytest.raises(ContentError):
        await r.service.approve(9999, OWNER)
    item_id = await _approved(r)
    with pytest.raises(WhenError):
        await r.service.schedule(item_id, "yesterday 25:00", OWNER)
    assert (await r.service.get(item_id)).state is ContentState.APPROVED


async def test_a_group_zone_decides_the_wall_time(rig: Rig) -> None:
    r = rig
    async with r.uow() as uow:
        await uow.groups.update_settings(GroupSettings(CHAT, "Makers", timezone="Asia/Shanghai"))
        await uow.commit()
    item_id = await _approved(r)
    scheduled = await r.service.schedule(item_id, "tomorrow 08:00", OWNER)
    assert scheduled.at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert await _count(r.uow, content_posts_table) == 0
