"""Services against in-memory fakes: recording, stats and the admin directory."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.ports import ChatAdmin, GroupSettings
from bot.services.admins import AdminDirectory
from bot.services.engagement import EngagementRecorder
from bot.services.stats import StatsService
from tests.fakes import FakeClock, FakeGateway, FakeUnitOfWorkFactory

GROUP = GroupRef(chat_id=-100777, title="Makers", type="supergroup")


def message(n: int, user: int = 1, at: datetime | None = None, text: str = "hi") -> EngagementEvent:
    return EngagementEvent(
        dedup_key=EngagementEvent.message_key(GROUP.chat_id, n),
        update_id=n,
        kind=EventKind.MESSAGE,
        group=GROUP,
        occurred_at=at or datetime(2026, 11, 25, 11, 0, tzinfo=UTC),
        actor=Actor(user_id=user, first_name=f"u{user}"),
        message_id=n,
        message_kind=MessageKind.TEXT,
        text=text,
        text_length=len(text),
    )


async def test_full_batches_are_written_without_waiting_for_the_interval() -> None:
    factory = FakeUnitOfWorkFactory()
    recorder = EngagementRecorder(factory, FakeClock(), batch_size=10, flush_interval=60)
    await recorder.start()
    await recorder.record([message(n) for n in range(25)])
    await asyncio.wait_for(recorder.durable(), timeout=2)
    assert len(factory.db.events) == 25
    assert factory.db.commits == 3  # 10 + 10 + 5: batches, not a commit per event
    await recorder.stop()


async def test_a_partial_batch_is_flushed_after_the_interval() -> None:
    factory = FakeUnitOfWorkFactory()
    recorder = EngagementRecorder(factory, FakeClock(), batch_size=100, flush_interval=0.02)
    await recorder.start()
    await recorder.record([message(1)])
    for _ in range(100):
        if factory.db.events:
            break
        await asyncio.sleep(0.01)
    assert list(factory.db.events) == [message(1).dedup_key]
    await recorder.stop()


async def test_redelivery_adds_nothing() -> None:
    factory = FakeUnitOfWorkFactory()
    recorder = EngagementRecorder(factory, FakeClock())
    await recorder.start()
    await recorder.record([message(n) for n in range(5)])
    await recorder.durable()
    await recorder.record([message(n) for n in range(5)])
    await recorder.durable()
    await recorder.stop()
    assert len(factory.db.events) == 5
    assert recorder.metrics.written == 5 and recorder.metrics.duplicates == 5


async def test_first_delivery_tells_a_redelivered_event_apart() -> None:
    factory = FakeUnitOfWorkFactory()
    recorder = EngagementRecorder(factory, FakeClock())
    await recorder.start()
    await recorder.record([message(1)])
    assert await recorder.first_delivery(message(1).dedup_key)
    await recorder.record([message(1), message(2)])  # 1 again, as after a crash; 2 is new
    assert not await recorder.first_delivery(message(1).dedup_key)
    assert await recorder.first_delivery(message(2).dedup_key)
    await recorder.stop()


async def test_text_is_kept_only_where_the_group_stores_it() -> None:
    factory = FakeUnitOfWorkFactory()
    recorder = EngagementRecorder(factory, FakeClock())
    await recorder.start()
    await recorder.record([message(1, text="secret plans")])
    await recorder.durable()
    assert factory.db.events[message(1).dedup_key].text is None
    assert factory.db.events[message(1).dedup_key].text_length == len("secret plans")
    factory.db.groups[GROUP.chat_id] = GroupSettings(GROUP.chat_id, GROUP.title, store_text=True)
    await recorder.reload_text_policy()
    assert recorder.keeps_text(GROUP.chat_id)
    await recorder.record([message(2, text="public notes")])
    await recorder.durable()
    await recorder.stop()
    assert factory.db.events[message(2).dedup_key].text == "public notes"


async def test_a_failed_write_is_retried_and_nothing_is_lost() -> None:
    factory = FakeUnitOfWorkFactory()
    factory.db.fail_next_commits = 2
    recorder = EngagementRecorder(factory, FakeClock(), retry_delay=0.01)
    await recorder.start()
    await recorder.record([message(n) for n in range(3)])
    await asyncio.wait_for(recorder.durable(), timeout=2)
    await recorder.stop()
    assert len(factory.db.events) == 3
    assert recorder.metrics.failed_flushes == 2


async def test_stop_writes_what_is_buffered() -> None:
    factory = FakeUnitOfWorkFactory()
    recorder = EngagementRecorder(factory, FakeClock(), batch_size=1000, flush_interval=60)
    await recorder.start()
    await recorder.record([message(n) for n in range(7)])
    await recorder.stop()
    assert len(factory.db.events) == 7


async def test_a_full_buffer_holds_the_producer_back() -> None:
    factory = FakeUnitOfWorkFactory()
    recorder = EngagementRecorder(factory, FakeClock(), batch_size=5, max_buffer=10)
    await recorder.start()
    await recorder.record([message(n) for n in range(10)])
    blocked = asyncio.create_task(recorder.record([message(99)]))
    await asyncio.wait_for(blocked, timeout=2)  # released once the writer made room
    await recorder.durable()
    await recorder.stop()
    assert len(factory.db.events) == 11


async def test_stats_count_in_the_group_time_zone() -> None:
    factory = FakeUnitOfWorkFactory()
    clock = FakeClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    recorder = EngagementRecorder(factory, clock)
    await recorder.start()
    yesterday_local = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 Shanghai, the 24th
    today_local = datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 00:30 Shanghai, the 25th
    await recorder.record(
        [
            message(1, user=1, at=yesterday_local),
            message(2, user=2, at=today_local),
            message(3, user=2, at=today_local),
            message(4, user=3, at=today_local - timedelta(days=10)),
        ]
    )
    await recorder.stop()
    settings = factory.db.groups[GROUP.chat_id]
    factory.db.groups[GROUP.chat_id] = GroupSettings(
        settings.chat_id, settings.title, timezone="Asia/Shanghai"
    )
    report = await StatsService(factory, clock, "UTC").group_report(GROUP.chat_id)
    assert report.timezone == "Asia/Shanghai"
    by_days = dict(report.windows)
    assert (by_days[1].messages, by_days[1].active_members) == (2, 1)
    assert (by_days[7].messages, by_days[7].active_members) == (3, 2)
    assert (by_days[30].messages, by_days[30].active_members) == (4, 3)


async def test_admin_directory_caches_and_forgets() -> None:
    gateway = FakeGateway({-1: [ChatAdmin(user_id=5, is_bot=False, status="creator")]})
    clock = FakeClock()
    admins = AdminDirectory(gateway, clock, ttl=300)
    assert await admins.is_admin(-1, 5, None)
    assert not await admins.is_admin(-1, 6, None)
    assert gateway.admin_lookups == 1  # cached
    gateway.admins[-1].append(ChatAdmin(user_id=6, is_bot=False, status="administrator"))
    admins.forget(-1)  # a chat_member update arrived
    assert await admins.is_admin(-1, 6, None)
    clock.advance(301)
    await admins.is_admin(-1, 6, None)
    assert gateway.admin_lookups == 3  # expired


async def test_anonymous_admin_posting_as_the_group_is_an_admin() -> None:
    admins = AdminDirectory(FakeGateway(), FakeClock())
    assert await admins.is_admin(-1, 1087968824, sender_chat_id=-1)
    assert not await admins.is_admin(-1, None, sender_chat_id=-999)  # a channel, not the group
