"""Analytics reports at scale: every report for a big group and a small one, on SQLite or
PostgreSQL, with the rollups built by the fold the bot's recorder uses.

The database is filled with `--events` events (default 5,000,000) across 1,000 groups over 180
days, one group holding 30% of them, 200,000 members: joins (some by invitation), messages
(some replies), reactions and edits, and leaves for the members who drift away. Events go in
by bulk insert; `storage.analytics.rebuild_rollups` then folds them with the recorder's fold.
Each report is timed cold (its first run on a fresh engine) and as the median of 5 warm runs;
`/mydata` and `/forgetme` (rolled back) are timed for the member with the most events.

Run: `groupops bench analytics [--events N] [--database URL]` (an empty database; default: a
temporary SQLite file). Prints one line per report, the churn back-test on this data, and
`slowest report: <ms> ms`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.services.analytics import AnalyticsService
from storage.analytics import rebuild_rollups
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.models import events_table, groups_table, members_table, users_table
from storage.uow import SqlUnitOfWorkFactory

START = datetime(2026, 1, 1, tzinfo=UTC)
BIG_CHAT = -1_001_000_000_000
BIG_TIMEZONE = "Europe/Berlin"  # a DST change inside the 180 days
WARM_RUNS = 5
CHUNK = 5_000


class FixedClock:
    """The benchmark's "now": the end of the generated history."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


@dataclass(frozen=True, slots=True)
class Shape:
    events: int
    groups: int = 1_000
    members: int = 200_000
    days: int = 180
    big_share: float = 0.3
    seed: int = 1


def _group_members(shape: Shape, rng: random.Random) -> list[list[int]]:
    """Member ids per group: the big group has `big_share` of them, the rest spread evenly."""
    ids = list(range(1, shape.members + 1))
    rng.shuffle(ids)
    big = int(shape.members * shape.big_share)
    groups = [ids[:big]]
    rest = ids[big:]
    per = len(rest) // (shape.groups - 1)
    for g in range(shape.groups - 1):
        groups.append(rest[g * per : (g + 1) * per] if g < shape.groups - 2 else rest[g * per :])
    return groups


def _group_events(
    chat_id: int, members: list[int], budget: int, shape: Shape, rng: random.Random
) -> list[tuple[float, int, str, int | None]]:
    """(time in seconds from START, user, kind, inviter) for one group, in time order."""
    span = shape.days * 86_400.0
    weights = [rng.paretovariate(1.3) for _ in members]
    scale = max(budget - len(members), 0) / sum(weights)
    planned: list[tuple[float, int, str, int | None]] = []
    joined: list[int] = []
    for user, weight in zip(members, weights, strict=True):
        start = rng.uniform(0, span * 0.95)
        # About a third drift away at some point; the rest stay to the end.
        stop = rng.uniform(start, span) if rng.random() < 0.35 else span
        inviter = rng.choice(joined) if joined and rng.random() < 0.1 else None
        joined.append(user)
        planned.append((start, user, "join", inviter))
        for _ in range(round(weight * scale)):
            roll = rng.random()
            kind = "message" if roll < 0.7 else "reaction_added" if roll < 0.95 else "edit"
            planned.append((rng.uniform(start, stop), user, kind, None))
        if stop < span and rng.random() < 0.5:
            planned.append((stop, user, "leave", None))
    planned.sort()
    return planned


def _rows(
    chat_id: int,
    planned: list[tuple[float, int, str, int | None]],
    rng: random.Random,
    update_ids: Iterator[int],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Event rows and membership rows for one group."""
    events: list[dict[str, Any]] = []
    recent: list[tuple[int, int]] = []  # (message id, author), the last few hundred
    members: dict[int, dict[str, Any]] = {}
    message_id = 0
    for seconds, user, kind, inviter in planned:
        at = START + timedelta(seconds=seconds)
        update_id = next(update_ids)
        row: dict[str, Any] = {
            "dedup_key": f"u:{update_id}:0",
            "update_id": update_id,
            "chat_id": chat_id,
            "user_id": user,
            "kind": kind,
            "occurred_at": at,
            "message_id": None,
            "reply_to_user_id": None,
            "reply_to_message_id": None,
            "inviter_id": inviter,
        }
        member = members.setdefault(
            user,
            {
                "chat_id": chat_id,
                "user_id": user,
                "first_seen_at": at,
                "last_seen_at": at,
                "joined_at": None,
                "left_at": None,
                "status": "member",
                "message_count": 0,
                "invited_by_user_id": None,
            },
        )
        member["last_seen_at"] = at
        if kind == "join":
            member.update(joined_at=at, invited_by_user_id=inviter, status="member", left_at=None)
        elif kind == "leave":
            member.update(status="left", left_at=at)
        elif kind == "message":
            message_id += 1
            row["dedup_key"] = f"m:{chat_id}:{message_id}"
            row["message_id"] = message_id
            if recent and rng.random() < 0.3:
                target, author = rng.choice(recent)
                row["reply_to_message_id"], row["reply_to_user_id"] = target, author
            recent.append((message_id, user))
            del recent[:-300]
            member["message_count"] += 1
        elif kind == "reaction_added" and recent:
            row["message_id"] = rng.choice(recent)[0]
        elif kind == "edit" and recent:
            row["message_id"] = recent[-1][0]
        events.append(row)
    return events, list(members.values())


async def _insert(engine: AsyncEngine, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    async with engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(table), list(rows[start : start + CHUNK]))


async def fill(engine: AsyncEngine, shape: Shape) -> tuple[int, int]:
    """Generate and store the history; return the big group's id and a small group's id."""
    rng = random.Random(shape.seed)
    groups = _group_members(shape, rng)
    chat_ids = [BIG_CHAT - g for g in range(shape.groups)]
    await _insert(
        engine,
        groups_table,
        [
            {
                "chat_id": chat_id,
                "title": f"Group {n}",
                "type": "supergroup",
                "timezone": BIG_TIMEZONE if n == 0 else None,
                "created_at": START,
                "updated_at": START,
            }
            for n, chat_id in enumerate(chat_ids)
        ],
    )
    await _insert(
        engine,
        users_table,
        [
            {"user_id": user, "first_name": f"Member {user}", "updated_at": START}
            for user in range(1, shape.members + 1)
        ],
    )
    big_budget = int(shape.events * shape.big_share)
    small_budget = (shape.events - big_budget) // (shape.groups - 1)
    update_ids = iter(range(1, 10 * shape.events + shape.members * 2))
    for n, (chat_id, members) in enumerate(zip(chat_ids, groups, strict=True)):
        budget = big_budget if n == 0 else small_budget
        planned = _group_events(chat_id, members, budget, shape, rng)
        events, memberships = _rows(chat_id, planned, rng, update_ids)
        await _insert(engine, events_table, events)
        await _insert(engine, members_table, memberships)
    return chat_ids[0], chat_ids[1]


async def _timed(run: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Cold (first) and warm (median of the next runs) times in ms."""
    samples = []
    for _ in range(WARM_RUNS + 1):
        started = time.perf_counter()
        await run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples[0], statistics.median(samples[1:])


def shape_for(events: int) -> Shape:
    """The issue's shape at 5M events; smaller runs keep 25 events a member, 200 a group."""
    members = min(200_000, max(events // 25, 10))
    return Shape(events=events, members=members, groups=min(1_000, max(members // 200, 2)))


async def run(events: int, database: str | None, reuse: bool = False) -> int:
    shape = shape_for(events)
    if reuse and database:
        # Time the reports again on a database an earlier run filled with the same --events.
        engine = create_engine(database)
        try:
            return await _report(engine, shape, BIG_CHAT, BIG_CHAT - 1)
        finally:
            await engine.dispose()
    with tempfile.TemporaryDirectory() as workdir:
        url = database or f"sqlite+aiosqlite:///{Path(workdir) / 'analytics.db'}"
        await upgrade_to_head(url)
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                stored = (
                    await connection.execute(select(func.count()).select_from(events_table))
                ).scalar_one()
            if stored:
                print("the database must be empty: it holds events already")
                return 2
            started = time.perf_counter()
            big, small = await fill(engine, shape)
            filled = time.perf_counter() - started
            sessions = session_factory(engine)
            started = time.perf_counter()
            async with sessions() as session:
                folded = await rebuild_rollups(session)
                await session.commit()
            rebuilt = time.perf_counter() - started
            # Planner statistics, as a database that has been running for months has them.
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
            print(
                f"{folded:,} events in {shape.groups:,} groups, {shape.members:,} members, "
                f"{shape.days} days ({engine.dialect.name}): loaded in {filled:.0f} s, rollups "
                f"folded in {rebuilt:.0f} s ({folded / rebuilt:,.0f} events/s)"
            )
        finally:
            await engine.dispose()
        # A fresh engine, so the first run of each report is as cold as a restart makes it.
        engine = create_engine(url)
        try:
            return await _report(engine, shape, big, small)
        finally:
            await engine.dispose()


async def _report(engine: AsyncEngine, shape: Shape, big: int, small: int) -> int:
    factory = SqlUnitOfWorkFactory(session_factory(engine))
    clock = FixedClock(START + timedelta(days=shape.days))
    analytics = AnalyticsService(factory, clock, "UTC")

    async def stats_command(chat_id: int, days: int) -> None:
        # What /stats runs: the windows' figures, the period's analytics and its trend.
        await analytics.stats(chat_id, days)

    reports: list[tuple[str, Callable[[int], Awaitable[object]]]] = [
        ("/stats 7d", lambda chat: stats_command(chat, 7)),
        ("/stats 30d", lambda chat: stats_command(chat, 30)),
        ("/stats 90d", lambda chat: stats_command(chat, 90)),
        ("overview 30d (rollups only)", lambda chat: analytics.overview(chat, 30)),
        ("/top 30d", lambda chat: analytics.top(chat, 30)),
        ("/segments", analytics.segments),
        ("/atrisk", analytics.at_risk),
        ("/retention", analytics.retention),
        ("/heatmap", analytics.heatmap),
    ]
    slowest = 0.0
    for name, chat_id in (("big", big), ("small", small)):
        for report, call in reports:
            cold, warm = await _timed(partial(call, chat_id))
            slowest = max(slowest, warm)
            print(f"{name:<6}{report:<30}warm {warm:>9.1f} ms   cold {cold:>9.1f} ms")
    heaviest = await _heaviest_member(engine)

    async def footprint() -> None:
        async with factory() as uow:
            await uow.members.footprint(heaviest)

    async def erase() -> None:
        async with factory() as uow:
            await uow.members.erase(heaviest)  # never committed: rolled back on exit

    for name, personal in (("/mydata", footprint), ("/forgetme (rolled back)", erase)):
        cold, warm = await _timed(personal)
        print(f"heavy {name:<30}warm {warm:>9.1f} ms   cold {cold:>9.1f} ms")
    test = (await analytics.at_risk(big)).back_test
    precision = f"{test.precision:.0%}" if test.precision is not None else "n/a"
    print(
        f"churn back-test (big group): {test.flagged:,} warnings, {test.went_silent:,} went "
        f"silent 30+ days (precision {precision}), median lead {test.median_lead_days} days, "
        f"{test.missed:,} gone without a warning"
    )
    print(f"slowest report: {slowest:.0f} ms")
    return 0


async def _heaviest_member(engine: AsyncEngine) -> int:
    e = events_table.c
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                select(e.user_id).group_by(e.user_id).order_by(func.count().desc()).limit(1)
            )
        ).one()
    return int(row[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="groupops bench analytics", description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--database", default=None, help="an empty database (default: SQLite)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the reports on --database as an earlier run with these --events left it",
    )
    args = parser.parse_args(argv)
    return asyncio.run(run(args.events, args.database, args.reuse))


if __name__ == "__main__":
    raise SystemExit(main())
