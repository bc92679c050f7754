"""The control API over HTTP, its Python client, and the standalone entry point."""

from __future__ import annotations

import argparse
import asyncio

import aiohttp
import pytest

from simulator import FaultKind, Simulator, SimulatorError
from simulator.__main__ import build_parser, serve
from simulator.client import SimulatorClient


async def test_client_drives_a_world_in_another_process_style(sim: Simulator) -> None:
    async with SimulatorClient(sim.url) as client:
        bot = await client.create_bot(username="remote_bot")
        owner = await client.create_user("Owner")
        chat_id = await client.create_group("Remote", creator_id=owner.id)
        await client.add_bot(chat_id, bot.id, rights={"can_delete_messages"})
        member = await client.create_user("Member")
        await client.join(chat_id, member.id)
        post = await client.post(chat_id, member.id, "hello from afar")
        await client.react(chat_id, post["message_id"], owner.id, ["👍"])
        await client.inject_fault("sendMessage", FaultKind.SERVER_ERROR)

        async with aiohttp.ClientSession() as session:
            url = f"{sim.url}/bot{bot.token}/sendMessage"
            async with session.post(url, json={"chat_id": chat_id, "text": "x"}) as response:
                assert response.status == 500

        calls = await client.calls()
        assert [(c.method, c.error_code) for c in calls] == [("sendMessage", 500)]
        assert await client.member_status(chat_id, member.id) == "member"
        history = await client.history(chat_id)
        assert history[-1]["text"] == "hello from afar"
        assert await client.updates_pending(bot.id) == 4
        with pytest.raises(SimulatorError, match="already in chat"):
            await client.join(chat_id, member.id)
    assert sim.member_rights(chat_id, bot.id) == {"can_delete_messages", "can_manage_chat"}


async def test_unknown_operation_is_404(sim: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{sim.url}/control/explode", json={}) as response:
            assert response.status == 404
        async with session.get(f"{sim.url}/control") as response:
            assert "post" in (await response.json())["result"]


async def test_standalone_prints_token_and_serves(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["--port", "0", "--demo", "--no-flood"])
    stop = asyncio.Event()
    task = asyncio.create_task(serve(args, stop))
    printed = ""
    async with asyncio.timeout(5):
        while "serving" not in printed:
            await asyncio.sleep(0.01)
            printed += capsys.readouterr().out
    stop.set()
    sim = await task
    bot = next(iter(sim.bots.values())).account
    assert f"\nTELEGRAM_API_BASE={sim.url}\nBOT_TOKEN={bot.token}\n" in printed
    group = next(chat for chat in sim.chats.values() if chat.title == "Demo group")
    assert sim.member_status(group.id, bot.id) == "administrator"
    assert len(group.members) == 5


def test_parser_defaults() -> None:
    args = build_parser().parse_args([])
    assert isinstance(args, argparse.Namespace)
    assert (args.host, args.port, args.demo) == ("127.0.0.1", 8081, False)
