"""Services over a real database: recording, stats; the admin directory over a fake gateway.

The recorder's promises (batches, nothing twice, text only where kept) are about what a
database holds, so these tests run on SQLite and PostgreSQL rather than on an in-memory fake.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

import pytest
from aiogram.types import ChatMemberUpdated
from sqlalchemy import select

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.ports import ChatAdmin, GroupSettings
from bot.services.admins import AdminDirectory, AdminsUnknown
from bot.services.engagement import EngagementRecorder
from bot.services.stats import StatsService
from handlers.membership import member_changed
from simulator.models import ADMIN_RIGHTS
from storage.models import events_table
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.fakes import FakeClock, FakeGateway

GROUP = GroupRef(chat_id=-100777, title="Makers", type="supergroup")
QUIET = GroupRef(chat_id=-100888, title="Quiet", type="supergroup")
GUARD = 10.0  # seconds: only a hung test waits this long; no verdict rests on it


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


class Watched:
    """Real units of work whose commits a test counts, holds back at a gate, or fails."""

    def __init__(self, inner: SqlUnitOfWorkFactory) -> None:
        self._inner = inner
        self.commits = 0
        self.fail_next_commits = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self._committed = asyncio.Event()

    def __call__(self) -> _WatchedUnitOfWork:
        return _WatchedUnitOfWork(self._inner(), self)

    async def committed(self, times: int) -> None:
        """Return once `times` commits have succeeded."""
        while self.commits < times:
            self._committed.clear()
            await asyncio.wait_for(self._committed.wait(), GUARD)

    async def commit(self, uow: SqlUnitOfWork) -> None:
        await self.gate.wait()
        if self.fail_next_commits:
            self.fail_next_commits -= 1
            raise ConnectionError("database went away")
        await uow.commit()
        self.commits += 1
        self._committed.set()

    async def texts(self) -> dict[str, str | None]:
        """Each stored event's text, by dedup key."""
        e = events_table.c
        async with self._inner() as uow:
            rows = await uow.session.execute(select(e.dedup_key, e.text))
            return {key: text for key, text in rows}


class _WatchedUnitOfWork:
    def __init__(self, inner: SqlUnitOfWork, watch: Watched) -> None:
        self._inner = inner
        self._watch = watch

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def commit(self) -> None:
        await self._watch.commit(self._inner)


@pytest.fixture
def db(uow_factory: SqlUnitOfWorkFactory) -> Watched:
    return Watched(uow_factory)


async def settle() -> None:
    """Let every task that can run do so until it waits (no database call is in flight)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_full_batches_are_written_without_waiting_for_the_interval(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock(), batch_size=10, flush_interval=3600)
    await recorder.start()
    await settle()
    await recorder.record([message(n) for n in range(10)])
    await db.committed(1)  # exactly a batch reaching an idle writer: written at once
    await recorder.record([message(n) for n in range(10, 15)])
    await settle()  # the writer holds a partial batch and gives it an hour to fill
    await recorder.record([message(n) for n in range(15, 18)])
    await settle()
    assert db.commits == 1  # still partial: more events do not cut the interval short
    await recorder.record([message(n) for n in range(18, 20)])
    await db.committed(2)  # the batch filled while the writer waited: written at once
    await recorder.record([message(n) for n in range(20, 35)])
    await db.committed(3)
    await settle()
    assert len(await db.texts()) == 30  # the partial fourth batch waits for its interval
    await recorder.stop()
    assert len(await db.texts()) == 35
    assert db.commits == 4  # 10 + 10 + 10 + 5: batches, not a commit per event
    assert recorder.metrics.batches == 4


async def test_an_idle_writer_flushes_a_partial_batch_after_the_interval(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock(), batch_size=100, flush_interval=0.02)
    await recorder.start()
    await settle()  # the writer has found nothing to write and sleeps until woken
    await recorder.record([message(1)])
    await db.committed(1)  # no durable(): the interval alone must bring the write
    assert list(await db.texts()) == [message(1).dedup_key]
    await recorder.stop()


async def test_redelivery_adds_nothing(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock())
    await recorder.start()
    await recorder.record([message(n) for n in range(5)])
    await recorder.durable()
    await recorder.record([message(n) for n in range(5)])
    await recorder.durable()
    await recorder.stop()
    assert len(await db.texts()) == 5
    assert recorder.metrics.recorded == 10
    assert recorder.metrics.written == 5 and recorder.metrics.duplicates == 5


async def test_first_delivery_tells_a_redelivered_event_apart(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock())
    await recorder.start()
    await recorder.record([message(1)])
    assert await recorder.first_delivery(message(1).dedup_key)
    await recorder.record([message(1), message(2)])  # 1 again, as after a crash; 2 is new
    assert not await recorder.first_delivery(message(1).dedup_key)
    assert await recorder.first_delivery(message(2).dedup_key)
    await recorder.stop()


async def test_text_is_kept_only_where_the_group_stores_it(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock())
    await recorder.start()
    assert not recorder.keeps_text(GROUP.chat_id)
    await recorder.record([message(1, text="secret plans")])
    await recorder.durable()
    async with db() as uow:
        await uow.groups.update_settings(GroupSettings(GROUP.chat_id, GROUP.title, store_text=True))
        await uow.commit()
    await recorder.reload_text_policy()
    assert recorder.keeps_text(GROUP.chat_id)
    # One batch, two groups: the guard before the write scrubs only the one that keeps no text.
    elsewhere = replace(message(3, text="not for keeping"), dedup_key="elsewhere", group=QUIET)
    await recorder.record([message(2, text="public notes"), elsewhere])
    await recorder.stop()
    assert await db.texts() == {
        message(1).dedup_key: None,
        message(2).dedup_key: "public notes",
        "elsewhere": None,
    }


async def test_a_failed_write_is_retried_and_nothing_is_lost(db: Watched) -> None:
    db.fail_next_commits = 2
    recorder = EngagementRecorder(db, FakeClock(), retry_delay=0.01)
    await recorder.start()
    await recorder.record([message(n) for n in range(3)])
    await asyncio.wait_for(recorder.durable(), GUARD)
    await recorder.stop()
    assert len(await db.texts()) == 3
    assert recorder.metrics.failed_flushes == 2


async def test_the_slowest_write_is_kept_for_the_benchmark(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock(), batch_size=5)
    await recorder.start()
    db.gate.clear()  # the batch's commit waits until the gate opens
    await recorder.record([message(n) for n in range(5)])
    await asyncio.sleep(0.05)
    db.gate.set()
    await asyncio.wait_for(recorder.durable(), GUARD)
    await recorder.stop()
    assert recorder.metrics.slowest_write >= 0.05  # at least as long as the commit was held


async def test_stop_writes_what_is_buffered(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock(), batch_size=1000, flush_interval=3600)
    await recorder.start()
    await recorder.record([message(n) for n in range(7)])
    await recorder.stop()
    assert len(await db.texts()) == 7


async def test_a_full_buffer_holds_the_producer_back(db: Watched) -> None:
    recorder = EngagementRecorder(db, FakeClock(), batch_size=5, max_buffer=10)
    await recorder.start()
    db.gate.clear()  # the writer's commit waits: the buffer cannot drain
    await recorder.record([message(n) for n in range(10)])
    blocked = asyncio.create_task(recorder.record([message(99)]))
    await settle()
    assert not blocked.done()  # held while the buffer is full
    db.gate.set()
    await asyncio.wait_for(blocked, GUARD)  # released once the writer made room
    await recorder.stop()
    assert len(await db.texts()) == 11


async def test_stats_count_in_the_group_time_zone(db: Watched) -> None:
    clock = FakeClock(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))  # 11:00 in Shanghai
    recorder = EngagementRecorder(db, clock)
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
    async with db() as uow:
        settings = await uow.groups.get(GROUP.chat_id)
        assert settings is not None
        await uow.groups.update_settings(replace(settings, timezone="Asia/Shanghai"))
        await uow.commit()
    report = await StatsService(db, clock, "UTC").group_report(GROUP.chat_id)
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


class _FailingLookups(FakeGateway):
    """Telegram refuses every admin look-up (the bot was removed from the group)."""

    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin] | None:  # type: ignore[override]
        self.admin_lookups += 1
        return None


async def test_a_failed_admin_lookup_is_not_tried_again_at_once() -> None:
    gateway, clock = _FailingLookups(), FakeClock()
    admins = AdminDirectory(gateway, clock, ttl=300, retry_after=30)
    for _ in range(3):
        with pytest.raises(AdminsUnknown):
            await admins.is_admin(-1, 5, None)
    assert gateway.admin_lookups == 1
    clock.advance(31)
    with pytest.raises(AdminsUnknown):
        await admins.is_admin(-1, 5, None)
    assert gateway.admin_lookups == 2  # tried again once the pause is over
    admins.forget(-1)  # the bot was added back, or someone promoted: ask at once
    with pytest.raises(AdminsUnknown):
        await admins.is_admin(-1, 5, None)
    assert gateway.admin_lookups == 3


def _status_change(old: str, new: str) -> ChatMemberUpdated:
    user = {"id": 6, "is_bot": False, "first_name": "Bo"}
    return ChatMemberUpdated.model_validate(
        {
            "chat": {"id": -1, "type": "supergroup", "title": "G"},
            "from": user,
            "date": 0,
            "old_chat_member": _member(old, user),
            "new_chat_member": _member(new, user),
        }
    )


def _member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    if status != "administrator":
        return {"status": status, "user": user}
    rights = ("can_be_edited", "is_anonymous", *ADMIN_RIGHTS)
    return {"status": status, "user": user, **dict.fromkeys(rights, False)}


async def test_only_admin_changes_drop_the_cached_admins() -> None:
    gateway = FakeGateway({-1: [ChatAdmin(user_id=5, is_bot=False, status="creator")]})
    admins = AdminDirectory(gateway, FakeClock(), ttl=300)
    await admins.admins(-1)
    await member_changed(_status_change("left", "member"), admins)  # a member joined
    await member_changed(_status_change("member", "left"), admins)  # and left
    await admins.admins(-1)
    assert gateway.admin_lookups == 1
    gateway.admins[-1].append(ChatAdmin(user_id=6, is_bot=False, status="administrator"))
    await member_changed(_status_change("member", "administrator"), admins)  # promoted
    assert 6 in await admins.admins(-1)
    await member_changed(_status_change("administrator", "member"), admins)  # demoted
    await admins.admins(-1)
    assert gateway.admin_lookups == 3


async def test_anonymous_admin_posting_as_the_group_is_an_admin() -> None:
    admins = AdminDirectory(FakeGateway(), FakeClock())
    assert await admins.is_admin(-1, 1087968824, sender_chat_id=-1)
    assert not await admins.is_admin(-1, None, sender_chat_id=-999)  # a channel, not the group
