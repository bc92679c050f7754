"""End-to-end fixtures: the simulator on loopback and the real bot pointed at it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import GroupOps
from bot.config import Settings
from bot.delivery.gateway import DEFAULT_LIMITS
from bot.delivery.limits import DeliveryLimits
from bot.features import FeatureFactory
from bot.ports import Clock
from handlers.features import FEATURES
from simulator import BotAccount, FloodLimits, Simulator, UserAccount
from storage.engine import create_engine
from storage.models import events_table


@dataclass
class Community:
    """A group with an admin bot, its owner and a few members."""

    sim: Simulator
    bot: BotAccount
    owner: UserAccount
    members: list[UserAccount]
    group: int


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    # Generous limits: these tests are about ingestion, not flood control (delivery's tests are).
    limits = FloodLimits(
        per_chat_per_sec=100, per_chat_burst=100, per_group_per_min=6000, global_per_sec=1000
    )
    async with Simulator(flood_limits=limits) as simulator:
        yield simulator


@pytest.fixture
def community(sim: Simulator) -> Community:
    bot = sim.create_bot(username="groupops_test_bot")
    owner = sim.create_user(first_name="Olga", language_code="en")
    members = [sim.create_user(first_name=f"Member{i}", language_code="en") for i in range(5)]
    group = sim.create_group(title="Makers", creator_id=owner.id)
    sim.add_bot(group, bot.id, admin=True)
    return Community(sim, bot, owner, members, group)


def settings_for(sim: Simulator, bot: BotAccount, db_url: str, **extra: Any) -> Settings:
    return Settings(
        bot_token=bot.token,  # type: ignore[arg-type]
        telegram_api_base=sim.url,
        database_url=db_url,
        auto_migrate=True,
        **extra,
    )


@asynccontextmanager
async def polling_bot(
    settings: Settings,
    sim: Simulator,
    clock: Clock | None = None,
    features: Sequence[FeatureFactory] = FEATURES,
    limits: DeliveryLimits = DEFAULT_LIMITS,
) -> AsyncIterator[GroupOps]:
    """The real bot, long-polling the simulator until the block ends.

    Telegram applies `allowed_updates` to updates created after the call that asks for them,
    so the block starts once the bot's first getUpdates has reached the simulator.
    """
    app = GroupOps(settings, clock, features, limits=limits)
    await app.start()
    stopping = asyncio.Event()
    task = asyncio.create_task(app.run_polling(stopping))
    queue = sim.bot_state(app.identity.id if app.identity else None).queue
    await eventually(lambda: queue.wants("chat_member"))
    try:
        yield app
    finally:
        stopping.set()
        await asyncio.wait_for(task, timeout=30)
        await app.stop()


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool], within: float = 15.0
) -> None:
    """Wait until `check` holds; fail with a clear message when it never does."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"condition {getattr(check, '__name__', check)} not met in {within}s")
        await asyncio.sleep(0.05)


async def count_events(db_url: str, **where: Any) -> int:
    engine = create_engine(db_url)
    try:
        query = select(func.count()).select_from(events_table)
        for column, value in where.items():
            query = query.where(events_table.c[column] == value)
        async with engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())
    finally:
        await engine.dispose()
