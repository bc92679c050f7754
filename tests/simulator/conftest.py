"""Fixtures: a running simulator with a bot in a supergroup, and real aiogram and PTB clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot as AiogramBot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from telegram import Bot as PtbBot

from simulator import BotAccount, FloodLimits, Simulator, UserAccount


@dataclass
class Group:
    """A supergroup with an owner, two members and the bot as an admin."""

    chat_id: int
    owner: UserAccount
    alice: UserAccount
    bob: UserAccount
    bot: BotAccount


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A simulator without flood limits (tests of the limits make their own)."""
    async with Simulator(flood_limits=FloodLimits.disabled()) as simulator:
        yield simulator


@pytest.fixture
def group(sim: Simulator) -> Group:
    """The usual world: an admin bot that asked for every update type, in a supergroup."""
    bot = sim.create_bot(
        username="groupops_bot",
        allowed_updates=[
            "message",
            "edited_message",
            "callback_query",
            "my_chat_member",
            "chat_member",
            "message_reaction",
            "message_reaction_count",
        ],
    )
    owner = sim.create_user("Olga", username="olga")
    alice = sim.create_user("Alice", username="alice")
    bob = sim.create_user("Bob", language_code="zh-hans")
    chat_id = sim.create_group("Test group", creator_id=owner.id)
    sim.add_bot(chat_id, bot.id, admin=True)
    sim.join(chat_id, alice.id)
    sim.join(chat_id, bob.id)
    return Group(chat_id, owner, alice, bob, bot)


@pytest.fixture
async def aiogram_bot(sim: Simulator, group: Group) -> AsyncIterator[AiogramBot]:
    """A real aiogram Bot pointed at the simulator."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(sim.url))
    bot = AiogramBot(group.bot.token, session=session)
    try:
        yield bot
    finally:
        await bot.session.close()


@pytest.fixture
async def ptb_bot(sim: Simulator, group: Group) -> AsyncIterator[PtbBot]:
    """A real python-telegram-bot Bot pointed at the simulator."""
    bot = PtbBot(group.bot.token, base_url=f"{sim.url}/bot", base_file_url=f"{sim.url}/file/bot")
    async with bot:
        yield bot
