"""The ad-share cap's storage on SQLite and PostgreSQL: counts once, marks correct them, removed
promos kept and erased, and an operator's reservation of the last slot taken by one racer only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from bot.domain.events import EngagementEvent
from bot.ports import AdCapPolicyName, AdCapSettings, RemovedPromo
from bot.services.adshare import AdShareService
from bot.services.engagement import EngagementRecorder
from storage.engine import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.storage.test_repositories import ALICE, BOB, CHAT, T0, ingest, message

HOUR = T0.replace(minute=0)


async def _record(uow_factory: SqlUnitOfWorkFactory, events: Sequence[EngagementEvent]) -> None:
    """What the recorder does: events, members and rollups in one unit of work."""
    async with uow_factory() as uow:
        await ingest(uow, events)
        await uow.rollups.add(events)
        await uow.commit()


async def test_a_verdict_counts_once_and_marks_correct_it(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _record(uow_factory, [message(i, at=T0 + timedelta(minutes=i)) for i in range(1, 11)])
    async with uow_factory() as uow:
        assert await uow.adshare.count_promo(CHAT, 3, ALICE.user_id, 0.9, removed=False)
        assert not await uow.adshare.count_promo(CHAT, 3, ALICE.user_id, 0.9, removed=False)
        assert await uow.adshare.count_promo(CHAT, 4, ALICE.user_id, 0.8, removed=True)
        assert not await uow.adshare.count_promo(CHAT, 99, ALICE.user_id, 0.8, removed=True)
        await uow.commit()
    async with uow_factory() as uow:
        buckets = await uow.adshare.buckets(CHAT, T0 - timedelta(days=1), T0 + timedelta(days=1))
        # 10 messages, one removed: 9 still in the group, one of them a promo.
        assert [(b.start, b.messages, b.promos) for b in buckets] == [(HOUR, 9, 1)]
        assert await uow.adshare.top_sources(CHAT, T0 - timedelta(days=1), 5) == [
            (ALICE.user_id, 2)
        ]
        judged = await uow.adshare.judged(CHAT, 3)
        assert judged is not None and judged.promo_score == 0.9
        await uow.adshare.recount(judged, promo=False, removed=False, was_removed=False)
        removed = await uow.adshare.judged(CHAT, 4)
        assert removed is not None
        await uow.adshare.recount(removed, promo=False, removed=False, was_removed=True)
        plain = await uow.adshare.judged(CHAT, 5)
        assert plain is not None and plain.promo_score is None
        await uow.adshare.recount(plain, promo=True, removed=False, was_removed=False)
        await uow.commit()
    async with uow_factory() as uow:
        buckets = await uow.adshare.buckets(CHAT, T0 - timedelta(days=1), T0 + timedelta(days=1))
        assert [(b.messages, b.promos) for b in buckets] == [(10, 1)]
        assert (await uow.adshare.judged(CHAT, 3)).promo_score is None  # type: ignore[union-attr]
        assert (await uow.adshare.judged(CHAT, 5)).promo_score == 1.0  # type: ignore[union-attr]


async def test_settings_exemptions_and_members_by_name(uow_factory: SqlUnitOfWorkFactory) -> None:
    await _record(uow_factory, [message(1), message(2, actor=BOB)])
    async with uow_factory() as uow:
        assert await uow.adshare.settings(CHAT) == AdCapSettings(CHAT)
        changed = AdCapSettings(CHAT, 0.12, timedelta(days=3), AdCapPolicyName.MUTE, timedelta(2))
        await uow.adshare.save_settings(changed)
        assert await uow.adshare.user_named(CHAT, "ALICE") == ALICE.user_id
        assert await uow.adshare.user_named(CHAT, "nobody") is None
        await uow.adshare.set_exempt(CHAT, ALICE.user_id, True)
        await uow.adshare.set_exempt(CHAT, ALICE.user_id, True)
        await uow.adshare.set_exempt(CHAT, BOB.user_id, True)
        await uow.adshare.set_exempt(CHAT, BOB.user_id, False)
        standing = await uow.adshare.standing(CHAT, BOB.user_id)
        await uow.commit()
    assert standing is not None and standing.messages == 1 and standing.joined_at is None
    async with uow_factory() as uow:
        assert await uow.adshare.settings(CHAT) == changed
        assert await uow.adshare.exemptions(CHAT) == {ALICE.user_id}


async def test_removed_promos_are_kept_48_hours_and_erased_with_their_author(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _record(uow_factory, [message(1), message(2, actor=BOB)])

    def removed(message_id: int, user_id: int, hours_ago: int) -> RemovedPromo:
        return RemovedPromo(
            CHAT, message_id, user_id, "Alice", "buy now", "over_budget",
            T0 - timedelta(hours=hours_ago), notice_id=100 + message_id,
        )  # fmt: skip

    async with uow_factory() as uow:
        await uow.adshare.count_promo(CHAT, 1, ALICE.user_id, 0.9, removed=True)
        await uow.adshare.keep_removed(removed(1, ALICE.user_id, 1))
        await uow.adshare.keep_removed(removed(2, BOB.user_id, 49))
        await uow.commit()
    async with uow_factory() as uow:
        assert (await uow.adshare.removed(CHAT, 101)) == removed(1, ALICE.user_id, 1)  # notice
        assert (await uow.adshare.removed(CHAT, 1)) == removed(1, ALICE.user_id, 1)
        assert await uow.adshare.purge_removed(T0 - timedelta(hours=48)) == 1
        assert await uow.adshare.removed(CHAT, 2) is None
        assert [p.message_id for p in await uow.adshare.removed_by(ALICE.user_id)] == [1]
        assert await uow.adshare.erase_member(ALICE.user_id) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.adshare.removed_by(ALICE.user_id) == []
        assert await uow.adshare.top_sources(CHAT, T0 - timedelta(days=1), 5) == []
        # The count stays, under no one's name: the group's share does not change.
        buckets = await uow.adshare.buckets(CHAT, T0 - timedelta(days=1), T0 + timedelta(days=1))
        assert [(b.messages, b.promos) for b in buckets] == [(1, 0)]


def _operator_side(url: str, clock: FakeClock) -> tuple[AdShareService, Any]:
    """A service on its own engine, as another process would have."""
    engine = create_engine(url)
    factory = SqlUnitOfWorkFactory(session_factory(engine))
    recorder = EngagementRecorder(factory, clock)  # nothing recorded: durable at once
    service = AdShareService(
        factory,
        clock,
        recorder,
        cast(Any, None),  # reservations never ask who is an admin
        cast(Any, None),  # nor send anything
        judge=cast(Any, None),
        notice=cast(Any, None),
    )
    return service, engine


async def test_two_racers_for_the_last_slot_get_one_slot(
    migrated_db_url: str, uow_factory: SqlUnitOfWorkFactory
) -> None:
    # 6 messages: one promo fits (1 ≤ 15% × 7), a second would not (2 > 15% × 8).
    await _record(uow_factory, [message(i, at=T0 + timedelta(minutes=i)) for i in range(1, 7)])
    clock = FakeClock(T0 + timedelta(hours=1))
    sides = [_operator_side(migrated_db_url, clock) for _ in range(2)]
    try:
        first, second = await asyncio.gather(
            sides[0][0].reserve(CHAT, "post-a"), sides[1][0].reserve(CHAT, "post-b")
        )
        assert sorted([first.granted, second.granted]) == [False, True]
        deferred = second if first.granted else first
        # The deferred post fits once the granted one (at 13:00) leaves the 7-day window.
        assert deferred.at == HOUR + timedelta(hours=1, days=7)
        again = await sides[0][0].reserve(CHAT, "post-c")
        assert not again.granted
    finally:
        for _, engine in sides:
            await engine.dispose()
    async with uow_factory() as uow:
        buckets = await uow.adshare.buckets(CHAT, T0 - timedelta(days=1), T0 + timedelta(days=1))
        assert sum(b.promos for b in buckets) == 1
        assert sum(b.messages for b in buckets) == 7
