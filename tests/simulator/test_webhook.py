"""Webhook delivery: POSTs with the secret header, in order, retried until the target says 2xx."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from simulator import Simulator
from tests.simulator.conftest import Group


@dataclass
class Target:
    """A tiny webhook receiver: answers `fail_first` requests with 500, then 200."""

    url: str = ""
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    reply: dict[str, Any] | None = None
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        if self.fail_first > 0:
            self.fail_first -= 1
            self.statuses.append(500)
            return web.Response(status=500)
        self.received.append(await request.json())
        self.statuses.append(200)
        self.arrived.set()
        if self.reply is not None:
            reply, self.reply = self.reply, None
            return web.json_response(reply)
        return web.Response(status=200)

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(5):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait for something the simulator does in the background (webhook delivery)."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


def bot_state_error(sim: Simulator, group: Group) -> str | None:
    """The webhook's last delivery error as the simulator recorded it."""
    webhook = sim.bot_state(group.bot.id).webhook
    return webhook.last_error_message if webhook else None


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    found = Target()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found.url = f"http://127.0.0.1:{port}/hook"
    yield found
    await runner.cleanup()


async def test_delivery_with_secret_in_order(
    sim: Simulator, group: Group, aiogram_bot: Bot, target: Target
) -> None:
    assert await aiogram_bot.set_webhook(
        target.url, secret_token="s3cret", drop_pending_updates=True
    )
    sim.post(group.chat_id, group.alice.id, "one")
    sim.post(group.chat_id, group.bob.id, "two")
    await target.wait_for(2)
    assert [u["message"]["text"] for u in target.received] == ["one", "two"]
    assert target.secrets == ["s3cret", "s3cret"]
    info = await aiogram_bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (target.url, 0)
    # The simulator sends whatever secret the bot registered; checking it is the bot's job.
    assert await aiogram_bot.set_webhook(target.url, secret_token="rotated")
    sim.post(group.chat_id, group.alice.id, "three")
    await target.wait_for(3)
    assert target.secrets[-1] == "rotated"
    with pytest.raises(TelegramConflictError):
        await aiogram_bot.get_updates()
    assert sim.calls()[-1].error_code == 409


async def test_retry_on_500_and_simulated_failures(
    sim: Simulator, group: Group, aiogram_bot: Bot, target: Target
) -> None:
    target.fail_first = 2
    sim.set_webhook_failures(1)
    await aiogram_bot.set_webhook(target.url, drop_pending_updates=True)
    sim.post(group.chat_id, group.alice.id, "persist")
    sim.post(group.chat_id, group.alice.id, "after")
    await target.wait_for(2)
    assert target.statuses == [500, 500, 200, 200]
    assert [u["message"]["text"] for u in target.received] == ["persist", "after"]
    info = await aiogram_bot.get_webhook_info()
    assert info.last_error_message.startswith("Wrong response from the webhook: 500")
    assert info.pending_update_count == 0


async def test_webhook_reply_runs_a_method(
    sim: Simulator, group: Group, aiogram_bot: Bot, target: Target
) -> None:
    await aiogram_bot.set_webhook(target.url, drop_pending_updates=True)
    target.reply = {"method": "sendMessage", "chat_id": group.chat_id, "text": "welcome"}
    sim.post(group.chat_id, group.alice.id, "/start")
    await target.wait_for(1)
    await eventually(lambda: bool(sim.sent(group.chat_id)))
    assert sim.sent(group.chat_id)[-1]["text"] == "welcome"
    assert sim.calls()[-1].method == "sendMessage"


async def test_delete_webhook_returns_to_polling(
    sim: Simulator, group: Group, aiogram_bot: Bot
) -> None:
    # Nothing listens on this port: deliveries fail and the updates stay queued.
    await aiogram_bot.set_webhook("http://127.0.0.1:9/hook", drop_pending_updates=True)
    sim.post(group.chat_id, group.alice.id, "queued")
    await eventually(lambda: bool(bot_state_error(sim, group)))
    assert (await aiogram_bot.get_webhook_info()).pending_update_count == 1
    assert await aiogram_bot.delete_webhook()
    updates = await aiogram_bot.get_updates()
    assert [u.message.text for u in updates] == ["queued"]
