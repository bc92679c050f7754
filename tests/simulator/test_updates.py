"""getUpdates semantics: long polls, offsets, allowed_updates, retention, conflicts, bursts."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from simulator import Simulator
from simulator.updates import PendingUpdate
from tests.simulator.conftest import Group

GUARD = 10.0  # seconds: only a hung test waits this long; no verdict rests on it


async def poll(
    session: aiohttp.ClientSession, sim: Simulator, token: str, **params: object
) -> dict:
    """One raw getUpdates call (JSON body), returning the envelope."""
    async with session.post(f"{sim.url}/bot{token}/getUpdates", json=params) as response:
        return dict(await response.json())


class PollWatch:
    """Tells a test when the simulator has taken a getUpdates request and is holding it."""

    def __init__(self, sim: Simulator, bot_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
        queue = sim.bot_state(bot_id).queue
        answer = queue.poll
        self._taken = asyncio.Event()

        async def poll(offset: int | None, limit: int, wait: float) -> list[PendingUpdate]:
            self._taken.set()  # the poll below runs to its first wait before anyone else runs
            return await answer(offset, limit, wait)

        monkeypatch.setattr(queue, "poll", poll)

    async def waiting(self) -> None:
        """Return once a poll has reached the simulator (and, having nothing, waits)."""
        await asyncio.wait_for(self._taken.wait(), GUARD)
        self._taken.clear()


@pytest.fixture
def watch(sim: Simulator, group: Group, monkeypatch: pytest.MonkeyPatch) -> PollWatch:
    return PollWatch(sim, group.bot.id, monkeypatch)


async def test_long_poll_is_answered_as_soon_as_traffic_arrives(
    sim: Simulator, group: Group, watch: PollWatch
) -> None:
    async with aiohttp.ClientSession() as session:
        setup = await poll(session, sim, group.bot.token)
        await watch.waiting()
        offset = setup["result"][-1]["update_id"] + 1
        # An hour's timeout: only the post can end this poll before GUARD runs out.
        waiting = asyncio.create_task(
            poll(session, sim, group.bot.token, offset=offset, timeout=3600)
        )
        await watch.waiting()
        assert not waiting.done()
        sim.post(group.chat_id, group.alice.id, "anyone here?")
        answer = await asyncio.wait_for(waiting, GUARD)
    assert answer["result"][0]["message"]["text"] == "anyone here?"


async def test_long_poll_times_out_empty(sim: Simulator, group: Group, watch: PollWatch) -> None:
    async with aiohttp.ClientSession() as session:
        offset = (await poll(session, sim, group.bot.token))["result"][-1]["update_id"] + 1
        await watch.waiting()
        waiting = asyncio.create_task(poll(session, sim, group.bot.token, offset=offset, timeout=1))
        await watch.waiting()
        assert not waiting.done()  # held, not answered at once
        answer = await asyncio.wait_for(waiting, GUARD)
    assert answer == {"ok": True, "result": []}


async def test_allowed_updates_default_and_remembered(sim: Simulator) -> None:
    bot = sim.create_bot()
    owner = sim.create_user("Owner")
    chat_id = sim.create_group(creator_id=owner.id)
    sim.add_bot(chat_id, bot.id)
    member = sim.create_user("Member")
    async with aiohttp.ClientSession() as session:
        sim.join(chat_id, member.id)
        kinds = [
            next(k for k in u if k != "update_id")
            for u in (await poll(session, sim, bot.token))["result"]
        ]
        # chat_member is opt-in: by default the join arrives only as a service message.
        assert kinds == ["my_chat_member", "message", "message"]
        await poll(session, sim, bot.token, offset=-1, allowed_updates=["chat_member"])
        sim.leave(chat_id, member.id)
        answer = await poll(session, sim, bot.token, offset=-1)
    # Remembered between calls: the leave message is dropped, the chat_member update kept.
    assert "chat_member" in answer["result"][-1]
    assert sim.updates_pending(bot.id) == 1


async def test_updates_expire_after_24_hours(sim: Simulator, group: Group) -> None:
    assert sim.updates_pending(group.bot.id) > 0
    sim.advance(24 * 3600 + 1)
    sim.post(group.chat_id, group.alice.id, "fresh")
    async with aiohttp.ClientSession() as session:
        answer = await poll(session, sim, group.bot.token)
    assert [u["message"]["text"] for u in answer["result"]] == ["fresh"]


async def test_second_poller_ends_the_first_with_409(
    sim: Simulator, group: Group, watch: PollWatch
) -> None:
    async with aiohttp.ClientSession() as session:
        offset = (await poll(session, sim, group.bot.token))["result"][-1]["update_id"] + 1
        await watch.waiting()
        first = asyncio.create_task(poll(session, sim, group.bot.token, offset=offset, timeout=60))
        await watch.waiting()
        second = asyncio.create_task(poll(session, sim, group.bot.token, offset=offset, timeout=60))
        await watch.waiting()
        sim.post(group.chat_id, group.alice.id, "hello")
        conflicted, answered = await first, await second
    assert conflicted["error_code"] == 409
    assert conflicted["description"].startswith("Conflict: terminated by other getUpdates")
    assert answered["result"][0]["message"]["text"] == "hello"


async def test_get_and_form_bodies_are_accepted(sim: Simulator, group: Group) -> None:
    base = f"{sim.url}/bot{group.bot.token}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/getMe") as response:
            me = await response.json()
        async with session.post(
            f"{base}/sendMessage", data={"chat_id": str(group.chat_id), "text": "form"}
        ) as response:
            form = await response.json()
        async with session.get(f"{base}/GETCHAT", params={"chat_id": group.chat_id}) as response:
            any_case = await response.json()
        async with session.get(f"{sim.url}/bot123:nope/getMe") as response:
            unauthorized = (response.status, await response.json())
    assert me["result"]["username"] == "groupops_bot"
    assert form["result"]["text"] == "form"
    assert any_case["result"]["id"] == group.chat_id
    assert unauthorized == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


@pytest.mark.slow
async def test_burst_of_10000_messages_from_50_users_is_delivered_in_order(
    sim: Simulator, group: Group
) -> None:
    users = [sim.create_user(f"User{i}") for i in range(50)]
    for user in users:
        sim.join(group.chat_id, user.id)
    async with aiohttp.ClientSession() as session:
        offset = (await poll(session, sim, group.bot.token, offset=-1))["result"][-1]["update_id"]
        offset += 1

        async def produce() -> None:
            for i in range(10_000):
                sim.post(group.chat_id, users[i % 50].id, f"m{i}")
                if i % 500 == 0:
                    await asyncio.sleep(0)  # let the poller interleave with the burst

        producer = asyncio.create_task(produce())
        texts: list[str] = []
        ids: list[int] = []
        while len(texts) < 10_000:
            answer = await poll(session, sim, group.bot.token, offset=offset, timeout=5)
            batch = answer["result"]
            assert 0 < len(batch) <= 100
            ids += [u["update_id"] for u in batch]
            texts += [u["message"]["text"] for u in batch]
            offset = batch[-1]["update_id"] + 1
        await producer
        # The last batch is confirmed only by the next call's offset, as in Telegram.
        assert sim.updates_pending(group.bot.id) == 100
        assert (await poll(session, sim, group.bot.token, offset=offset))["result"] == []
    assert texts == [f"m{i}" for i in range(10_000)]
    assert ids == list(range(ids[0], ids[0] + 10_000))
    assert sim.updates_pending(group.bot.id) == 0
