"""Delivery end to end: aiogram over real HTTP to the simulator, which enforces the flood limits.

Telegram's real limits would make these runs take minutes (300 messages to one group is 15 min at
20/min). So both sides run the same limits faster: the simulator SPEEDUP times Telegram's, delivery
a little slower than that (HEADROOM), as a bot is configured below the server's limits in real
life too. The ratios between the limits stay Telegram's; the real numbers are tested on fake time
in test_delivery.py. Only moderation overtaking a broadcast runs at real limits, counted in calls.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.delivery import Delivery, DeliveryLimits, is_posting
from bot.ports import FailureReason, Outcome, Priority, UnitOfWorkFactory
from handlers.transport import AiogramTransport
from simulator import BotAccount, FaultKind, FloodLimits, Simulator
from simulator.models import Call

SPEEDUP = 150
HEADROOM = 0.8
FAST_FLOOD = FloodLimits(
    per_chat_per_sec=1.0 * SPEEDUP,
    per_chat_burst=3,
    per_group_per_min=20 * SPEEDUP,
    global_per_sec=30 * SPEEDUP,
)
FAST_LIMITS = DeliveryLimits().scaled(SPEEDUP * HEADROOM)


@dataclass
class World:
    """A running simulator, the bot's account, and a factory for Delivery on aiogram."""

    sim: Simulator
    bot: BotAccount
    owner_id: int
    make: Callable[..., Awaitable[Delivery]]
    refusals: list[tuple[int | None, FailureReason, str]] = field(default_factory=list)

    def group(self, title: str = "G") -> int:
        chat_id = self.sim.create_group(title=title, creator_id=self.owner_id)
        self.sim.add_bot(chat_id, self.bot.id, admin=True)
        return chat_id

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text", "") for m in self.sim.sent(chat_id)]


async def _world(flood: FloodLimits, limits: DeliveryLimits) -> AsyncIterator[World]:
    async with Simulator(flood_limits=flood, fault_hang_seconds=30) as sim:
        account = sim.create_bot(username="groupops_bot")
        owner = sim.create_user(first_name="Olga")
        sessions: list[Bot] = []
        deliveries: list[Delivery] = []
        world: World

        async def make(**kwargs: Any) -> Delivery:
            bot = Bot(
                account.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sim.url))
            )
            sessions.append(bot)
            transport = kwargs.pop("transport", None) or AiogramTransport(bot, request_timeout=5)

            async def on_refusal(chat_id: int | None, reason: FailureReason, detail: str) -> None:
                world.refusals.append((chat_id, reason, detail))

            delivery = Delivery(transport, limits=limits, on_refusal=on_refusal, **kwargs)
            deliveries.append(delivery)
            await delivery.start()
            return delivery

        world = World(sim, account, owner.id, make)
        try:
            yield world
        finally:
            for delivery in deliveries:
                await delivery.stop(drain=False)
            for bot in sessions:
                await bot.session.close()


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """The simulator and delivery, both SPEEDUP times faster than Telegram (see the module doc)."""
    async for made in _world(FAST_FLOOD, FAST_LIMITS):
        yield made


@pytest.fixture
async def real_world() -> AsyncIterator[World]:
    """The simulator and delivery at Telegram's real limits."""
    async for made in _world(FloodLimits(), DeliveryLimits()):
        yield made


def _chat(call: Call) -> int | None:
    chat = call.params.get("chat_id")
    return int(chat) if chat is not None else None


def unhonoured_429s(calls: list[Call]) -> list[str]:
    """Calls that reached a chat before the retry_after of an earlier 429 to it had passed."""
    found: list[str] = []
    for n, flood in enumerate(calls):
        if flood.error_code != 429:
            continue
        match = re.search(r"retry after (\d+)", flood.description or "")
        assert match, flood.description
        until = flood.at + int(match.group(1))
        for later in calls[n + 1 :]:
            same_kind = is_posting(later.method) == is_posting(flood.method)
            if _chat(later) == _chat(flood) and same_kind and later.at < until:
                found.append(f"{later.method} to {_chat(later)} {until - later.at:.3f}s early")
    return found


async def send_numbered(
    delivery: Delivery, chats: list[int], per_chat: int, priority: Priority = Priority.CONTENT
) -> list[Outcome]:
    return list(
        await asyncio.gather(
            *(
                delivery.send_message(chat, f"{chat}:{i}", priority=priority)
                for i in range(per_chat)
                for chat in chats
            )
        )
    )


def assert_each_once_in_order(world: World, chats: list[int], per_chat: int) -> None:
    for chat in chats:
        assert world.texts(chat) == [f"{chat}:{i}" for i in range(per_chat)]


@pytest.mark.slow
async def test_300_messages_to_one_group_arrive_once_in_order(world: World) -> None:
    group = world.group()
    delivery = await world.make()
    outcomes = await send_numbered(delivery, [group], 300)
    assert all(o.ok for o in outcomes)
    assert_each_once_in_order(world, [group], 300)
    assert unhonoured_429s(world.sim.calls()) == []


@pytest.mark.slow
async def test_2000_messages_across_100_groups_arrive_once_in_order(world: World) -> None:
    groups = [world.group(f"G{n}") for n in range(100)]
    delivery = await world.make()
    outcomes = await send_numbered(delivery, groups, 20)
    assert all(o.ok for o in outcomes)
    assert_each_once_in_order(world, groups, 20)
    assert unhonoured_429s(world.sim.calls()) == []


async def test_429s_are_waited_out_and_everything_is_delivered(world: World) -> None:
    groups = [world.group(f"G{n}") for n in range(5)]
    delivery = await world.make()
    world.sim.inject_fault("sendMessage", FaultKind.RETRY_AFTER, count=10, retry_after=1)
    outcomes = await send_numbered(delivery, groups, 2)
    assert all(o.ok for o in outcomes)
    calls = world.sim.calls()
    assert sum(1 for c in calls if c.error_code == 429) == 10
    assert unhonoured_429s(calls) == []
    assert_each_once_in_order(world, groups, 2)
    assert delivery.metrics().retried == 10


async def test_server_errors_and_dropped_connections_are_retried(world: World) -> None:
    groups = [world.group(f"G{n}") for n in range(3)]
    bot = Bot(
        world.bot.token, session=AiohttpSession(api=TelegramAPIServer.from_base(world.sim.url))
    )
    # A short time-out so the injected hang ends quickly; the hang does not apply the call.
    delivery = await world.make(transport=AiogramTransport(bot, request_timeout=0.5))
    try:
        world.sim.inject_fault("sendMessage", FaultKind.SERVER_ERROR, count=2)
        world.sim.inject_fault("sendMessage", FaultKind.SERVER_ERROR, count=1, status=502)
        world.sim.inject_fault("sendMessage", FaultKind.DROP, count=2)
        world.sim.inject_fault("sendMessage", FaultKind.TIMEOUT, count=1)
        outcomes = await send_numbered(delivery, groups, 10)
        assert all(o.ok for o in outcomes)
        assert_each_once_in_order(world, groups, 10)
        # Six injected faults, each retried once; a 429 from the sped-up limits on a slow machine
        # is retried too, and counted apart so the six stay exact.
        floods = sum(1 for c in world.sim.calls() if c.error_code == 429)
        assert delivery.metrics().retried == 6 + floods
    finally:
        await bot.session.close()


async def test_a_kicked_bot_stops_sending_to_that_group_and_says_why(world: World) -> None:
    kicked, fine = world.group("kicked"), world.group("fine")
    delivery = await world.make()
    world.sim.ban(kicked, world.bot.id)
    outcomes = await send_numbered(delivery, [kicked, fine], 10)
    assert [o.reason for o in outcomes[0::2]] == [FailureReason.BOT_REMOVED] * 10
    assert all(o.ok for o in outcomes[1::2])
    assert_each_once_in_order(world, [fine], 10)
    to_kicked = [c for c in world.sim.calls() if _chat(c) == kicked]
    assert len(to_kicked) == 1 and to_kicked[0].error_code == 403
    assert world.refusals == [
        (kicked, FailureReason.BOT_REMOVED, f"403: {to_kicked[0].description}")
    ]
    assert delivery.metrics().closed_chats == {kicked}


async def test_messages_to_a_group_that_became_a_supergroup_reach_the_supergroup(
    world: World,
) -> None:
    basic = world.sim.create_group(title="Basic", creator_id=world.owner_id, type="group")
    world.sim.add_bot(basic, world.bot.id, admin=True)
    supergroup = world.sim.migrate_to_supergroup(basic)
    delivery = await world.make()
    outcomes = await send_numbered(delivery, [basic], 10)
    assert all(o.ok for o in outcomes)
    assert world.texts(supergroup) == [f"{basic}:{i}" for i in range(10)]
    refused = [c for c in world.sim.calls() if _chat(c) == basic and not c.ok]
    assert [c.error_code for c in refused] == [400]  # one refusal; the rest went straight
    assert world.refusals == []


async def test_a_ban_and_an_alert_overtake_1000_queued_posts(real_world: World) -> None:
    """At Telegram's real 30 messages/s, moderation goes before the broadcast queued ahead of it:
    fewer posts leave between the ask and the alert than one second allows. Counted in calls the
    simulator saw, not timed (the fake-time twin in test_delivery.py times it)."""
    world = real_world
    groups = [world.group(f"G{n}") for n in range(50)]
    ops = world.group("ops")
    member = world.sim.create_user(first_name="Spammer")
    world.sim.join(groups[0], member.id)
    delivery = await world.make()

    def posts_sent() -> int:
        return sum(1 for c in world.sim.calls() if c.method == "sendMessage" and _chat(c) in groups)

    posts = [
        asyncio.ensure_future(
            delivery.send_message(groups[i % 50], f"post {i}", priority=Priority.CONTENT)
        )
        for i in range(1000)
    ]
    await asyncio.wait(posts, return_when=asyncio.FIRST_COMPLETED)  # the broadcast is under way
    asked = posts_sent()
    ban, alert = await asyncio.gather(
        delivery.call(
            "banChatMember",
            {"chat_id": groups[0], "user_id": member.id},
            priority=Priority.MODERATION,
        ),
        delivery.send_message(ops, "handoff: a question waits", priority=Priority.MODERATION),
    )
    assert ban.ok and alert.ok
    assert world.sim.member_status(groups[0], member.id) == "kicked"
    assert posts_sent() - asked < FloodLimits().global_per_sec
    assert delivery.metrics().queued > 900  # the broadcast was still waiting behind them
    for post in posts:
        post.cancel()


async def test_a_restart_mid_broadcast_resends_only_what_was_not_sent(
    world: World, uow_factory: UnitOfWorkFactory
) -> None:
    """500 durable posts; the process "dies" after 200 and a new one resumes from the outbox.

    The crash is a transport that stops sending (as a dead process would) between calls: calls
    already answered are marked sent, later ones never leave. A crash between Telegram's answer
    and the mark would resend that one message: the window no Bot API client can close.
    """
    groups = [world.group(f"G{n}") for n in range(5)]
    first_bot = Bot(
        world.bot.token, session=AiohttpSession(api=TelegramAPIServer.from_base(world.sim.url))
    )
    crashing = CrashAfter(AiogramTransport(first_bot), calls=200)
    first = await world.make(transport=crashing, uow_factory=uow_factory)
    try:
        broadcast = [
            asyncio.ensure_future(
                first.send_durable(
                    f"broadcast-{i}",
                    groups[i % 5],
                    "sendMessage",
                    {"chat_id": groups[i % 5], "text": f"{groups[i % 5]}:{i // 5}"},
                )
            )
            for i in range(500)
        ]
        await crashing.crashed.wait()
        await first.stop(drain=False)
        await asyncio.gather(*broadcast)
    finally:
        await first_bot.session.close()
    sent_before = sum(len(world.sim.sent(g)) for g in groups)
    assert 200 <= sent_before < 500

    second = await world.make(uow_factory=uow_factory)
    assert await second.resume_pending() == 500 - sent_before
    await second.stop(drain=True)
    assert_each_once_in_order(world, groups, 100)
    async with uow_factory() as uow:
        assert await uow.outbox.pending() == []


class CrashAfter:
    """A transport that stops sending after `calls` calls, as if its process had died.

    It "dies" between calls: `crashed` is set once the calls it made have all been answered,
    so no call is cut off after Telegram applied it (that window is the one no client closes).
    """

    def __init__(self, inner: AiogramTransport, calls: int) -> None:
        self._inner = inner
        self._left = calls
        self._in_flight = 0
        self.crashed = asyncio.Event()

    async def execute(self, method: str, params: dict[str, Any]) -> Any:
        if self._left <= 0:
            self._maybe_dead()
            await asyncio.Event().wait()  # never returns; stop() cancels it
        self._left -= 1
        self._in_flight += 1
        try:
            return await self._inner.execute(method, params)
        finally:
            self._in_flight -= 1
            self._maybe_dead()

    def _maybe_dead(self) -> None:
        if self._left <= 0 and self._in_flight == 0:
            self.crashed.set()
