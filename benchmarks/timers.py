"""Deadlines at scale: 10,000 open questions across 500 groups, their hand-offs due over an hour,
sent by the bot's own deadline tick; how long the event loop stalls and how late hand-offs go.

The hour is compressed by a clock the benchmark steps: the tick runs once per simulated second,
as the bot's runs once a second, and the next second begins as soon as the tick is done (or
later, if a tick took longer than a second, as it would in the bot). A hand-off's lag is the
simulated wait from its deadline to the tick that takes it up (under a second) plus the real
time that tick took to send everything it sent: the delay a moderator would see. Sends go to a
gateway that answers at once (no network), so what is timed is the database and the service.

The event loop's stall is measured by a task that asks to sleep 1 ms and records how much
longer it waited; its p99 is the stall a message arriving at a random moment would see.

Content (issue 11) is timed the same way in a second run: 10,000 scheduled posts across 500
groups, due over an hour, published by the content tick through the outbox path (the row
recorded, sent, marked sent) to a transport that answers at once; each tick waits for its sends,
so the simulated second does not move on under them; delivery's rate limits are left out, since
they run on real time and the hour here is compressed (20 posts an hour per group never meet
them). A post's lag is the simulated wait from its due
time to the tick that takes it up plus the real time until delivery had sent it.

Run: `groupops bench timers [--questions N] [--groups N] [--posts N] [--database URL]`
(default: a temporary SQLite file). Prints the stall p99, the hand-off lag p99 and p50, the
slowest tick, and how many hand-offs were sent; then the same for content's posts.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.content import ContentKind, ContentState
from bot.domain.handoff import deadlines, open_handoff
from bot.experiment_stats import compare
from bot.ports import (
    ChatAdmin,
    ContentBody,
    ContentItem,
    FaqRecord,
    Outcome,
    Priority,
    QuestionRecord,
)
from bot.recurrence import next_run
from bot.services.admins import AdminDirectory
from bot.services.content import ContentService
from bot.services.handoff import Defaults, HandoffService
from handlers.content import Wording as ContentWording
from handlers.handoff import Wording
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.uow import SqlUnitOfWorkFactory

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HOUR = 3600
HANDOFF_AFTER = 600
SLA = 3 * HOUR  # past the run: only hand-offs are due within the hour
STALL_PROBE = 0.001


class SteppedClock:
    """The benchmark's simulated time, moved by the benchmark."""

    def __init__(self) -> None:
        self.at = START

    def now(self) -> datetime:
        return self.at


class InstantGateway:
    """Answers every call at once with a new message id; counts what was sent."""

    def __init__(self) -> None:
        self.sent = 0

    async def call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        priority: Priority = Priority.REPLY,
        chat_id: int | None = None,
    ) -> Outcome:
        await asyncio.sleep(0)
        self.sent += 1
        return Outcome(True, {"message_id": self.sent})

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Outcome:
        return await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def delete_message(self, chat_id: int, message_id: int, **_: Any) -> Outcome:
        return Outcome(True, True)

    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin] | None:
        return []

    async def get_chat_member_status(self, chat_id: int, user_id: int) -> ChatAdmin | None:
        return None


class _NoFaq:
    def __init__(self, entries: Sequence[FaqRecord]) -> None:
        pass

    def match(self, question: str) -> int | None:
        return None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def _through_the_hour(
    clock: SteppedClock, tick: Callable[[], Awaitable[None]]
) -> tuple[list[float], list[float]]:
    """Run `tick` through the benchmark's hour, the clock stepped a simulated second a tick (or
    the tick's own length, if longer), while a probe measures how long the event loop stalls.
    Returns the stalls and each tick's length, in seconds."""
    stalls: list[float] = []
    ticks: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            began = time.perf_counter()
            await asyncio.sleep(STALL_PROBE)
            stalls.append(time.perf_counter() - began - STALL_PROBE)

    async def run() -> None:
        while clock.at < START + timedelta(seconds=HOUR + 1):
            began = time.perf_counter()
            await tick()
            took = time.perf_counter() - began
            ticks.append(took)
            clock.at += timedelta(seconds=max(1.0, took))
            await asyncio.sleep(0)
        done.set()

    await asyncio.gather(probe(), run())
    return stalls, ticks


async def _fill(uow_factory: SqlUnitOfWorkFactory, questions: int, groups: int) -> None:
    """Open `questions` questions whose hand-offs fall evenly at random over the hour."""
    rng = random.Random(1)
    records = []
    for n in range(questions):
        due = START + timedelta(seconds=rng.uniform(1, HOUR))
        asked_at = due - timedelta(seconds=HANDOFF_AFTER)
        handoff = open_handoff(n + 1, asked_at, deadlines(asked_at, HANDOFF_AFTER, SLA))
        chat_id = -1_002_000_000_000 - (n % groups)
        records.append(
            QuestionRecord(chat_id, n + 1, handoff, asker_name=f"Member {n}", text="How do I…?")
        )
    for chunk in range(0, len(records), 1000):
        async with uow_factory() as uow:
            for record in records[chunk : chunk + 1000]:
                await uow.handoff.open(record)
            await uow.commit()


async def _run(questions: int, groups: int, database_url: str) -> dict[str, float]:
    await upgrade_to_head(database_url)
    engine = create_engine(database_url)
    uow_factory = SqlUnitOfWorkFactory(session_factory(engine))
    try:
        await _fill(uow_factory, questions, groups)
        clock = SteppedClock()
        gateway = InstantGateway()
        service = HandoffService(
            uow_factory,
            clock,
            AdminDirectory(gateway, clock),
            gateway,
            defaults=Defaults(handoff_after=HANDOFF_AFTER, sla=SLA, ops_chat_id=-100_1),
            faq_index=_NoFaq,
            wording=Wording(),
        )
        lags: list[float] = []

        async def tick() -> None:
            began = time.perf_counter()
            await service.run_due()
            took = time.perf_counter() - began
            # Each send of this tick waited for the tick to begin, then at most its length.
            lags.extend(lag + took for lag in service.metrics.lag)
            service.metrics.lag.clear()

        stalls, ticks = await _through_the_hour(clock, tick)
        return {
            "stall_p99_ms": 1000 * _percentile(stalls, 0.99),
            "lag_p99_s": _percentile(lags, 0.99),
            "lag_p50_s": _percentile(lags, 0.5),
            "slowest_tick_ms": 1000 * max(ticks),
            "handoffs": float(service.metrics.handoffs),
        }
    finally:
        await engine.dispose()


class InstantTransport:
    """The Bot API behind delivery, answering every call at once."""

    def __init__(self) -> None:
        self.sent = 0

    async def execute(self, method: str, params: dict[str, Any]) -> Any:
        await asyncio.sleep(0)
        self.sent += 1
        return {"message_id": self.sent, "chat": {"id": params.get("chat_id")}}


async def _fill_content(
    uow_factory: SqlUnitOfWorkFactory, posts: int, groups: int
) -> dict[int, datetime]:
    """Schedule `posts` one-off posts due evenly at random over the hour; their due times."""
    rng = random.Random(2)
    dues: dict[int, datetime] = {}
    for chunk in range(0, posts, 1000):
        async with uow_factory() as uow:
            for n in range(chunk, min(posts, chunk + 1000)):
                due = START + timedelta(seconds=rng.uniform(1, HOUR))
                item_id = await uow.content.add(
                    ContentItem(
                        id=0,
                        chat_id=-1_003_000_000_000 - (n % groups),
                        state=ContentState.SCHEDULED,
                        kind=ContentKind.ORGANIC,
                        title=f"Post {n}",
                        body=ContentBody(f"Post {n}"),
                        planned_at=due,
                        due_at=due,
                        created_at=START,
                    )
                )
                dues[item_id] = due
            await uow.commit()
    return dues


async def _run_content(posts: int, groups: int, database_url: str) -> dict[str, float]:
    await upgrade_to_head(database_url)
    engine = create_engine(database_url)
    uow_factory = SqlUnitOfWorkFactory(session_factory(engine))
    try:
        dues = await _fill_content(uow_factory, posts, groups)
        clock = SteppedClock()
        transport = InstantTransport()
        lags: list[float] = []
        tick_began = [0.0]

        class TimedSender:
            """The outbox path without delivery's rate limits (which run on real time, not the
            benchmark's compressed hour): the row recorded, the call made, the row marked sent,
            as `Delivery.send_durable` does; notes when each post was sent against its due."""

            async def send_durable(
                self,
                dedup_key: str,
                chat_id: int,
                method: str,
                params: dict[str, Any],
                priority: Priority = Priority.CONTENT,
            ) -> Outcome:
                async with uow_factory() as uow:
                    item = await uow.outbox.add(
                        dedup_key, chat_id, method, params, int(priority), clock.now()
                    )
                    await uow.commit()
                result = await transport.execute(method, params)
                async with uow_factory() as uow:
                    await uow.outbox.mark_sent(item.id, clock.now(), result["message_id"])
                    await uow.commit()
                # The tick's simulated second (it waits for its sends) past the post's due time.
                late = (clock.at - dues[int(dedup_key.split(":")[1])]).total_seconds()
                lags.append(late + time.perf_counter() - tick_began[0])
                return Outcome(True, result)

        service = ContentService(
            uow_factory,
            clock,
            AdminDirectory(InstantGateway(), clock),
            InstantGateway(),
            TimedSender(),
            next_run=next_run,
            compare=compare,
            wording=ContentWording(),
        )

        async def tick() -> None:
            tick_began[0] = time.perf_counter()
            await service.run_due()
            await service.drain()

        stalls, ticks = await _through_the_hour(clock, tick)
        await service.drain()
        return {
            "stall_p99_ms": 1000 * _percentile(stalls, 0.99),
            "lag_p99_s": _percentile(lags, 0.99),
            "lag_p50_s": _percentile(lags, 0.5),
            "slowest_tick_ms": 1000 * max(ticks),
            "published": float(transport.sent),
        }
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="groupops bench timers", description=__doc__)
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--posts", type=int, default=10_000, help="scheduled content posts")
    parser.add_argument("--database", default="", help="an empty database (default: temporary)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite+aiosqlite:///{Path(folder) / 'timers.db'}"
        result = asyncio.run(_run(args.questions, args.groups, url))
        content_url = args.database or f"sqlite+aiosqlite:///{Path(folder) / 'content.db'}"
        posts = asyncio.run(_run_content(args.posts, args.groups, content_url))
    print(
        f"{int(result['handoffs'])} hand-offs of {args.questions} questions in {args.groups} "
        f"groups over an hour; slowest tick {result['slowest_tick_ms']:.1f} ms"
    )
    print(f"event loop stall p99: {result['stall_p99_ms']:.2f} ms (goal < 5 ms)")
    print(
        f"hand-off lag p99: {result['lag_p99_s']:.2f} s, p50 {result['lag_p50_s']:.2f} s "
        "(past the deadline; goal < 5 s)"
    )
    print(
        f"{int(posts['published'])} posts of {args.posts} scheduled in {args.groups} groups over "
        f"an hour; slowest tick {posts['slowest_tick_ms']:.1f} ms"
    )
    print(f"content: event loop stall p99: {posts['stall_p99_ms']:.2f} ms (goal < 5 ms)")
    print(
        f"publish lag p99: {posts['lag_p99_s']:.2f} s, p50 {posts['lag_p50_s']:.2f} s "
        "(past due; goal < 2 s)"
    )
    return 0
