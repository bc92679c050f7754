"""A chat's backlog: what it has waiting, and a fair estimate of how long a new reply would wait
(what decides whether a command is acknowledged at once with a reaction)."""

from __future__ import annotations

import asyncio

import pytest

from bot.ports import Priority, RetryAfter
from tests.delivery.conftest import MakeDelivery
from tests.delivery.fakes import FakeTime, FakeTransport, until

GROUP = -1001
PRIVATE = 42


async def _queued() -> None:
    """Let the calls just made reach the queue."""
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize(("chat", "ahead"), [(GROUP, 25), (GROUP, 5), (PRIVATE, 6)])
async def test_the_estimate_is_when_the_next_reply_really_leaves(
    make_delivery: MakeDelivery,
    transport: FakeTransport,
    fake_time: FakeTime,
    chat: int,
    ahead: int,
) -> None:
    delivery = await make_delivery(start=False)
    pending = [asyncio.ensure_future(delivery.send_message(chat, f"m{i}")) for i in range(ahead)]
    await _queued()
    backlog = delivery.backlog(chat)
    assert backlog.queued == ahead
    asked = fake_time.now
    ours = asyncio.ensure_future(delivery.send_message(chat, "ours"))
    await delivery.start()
    await asyncio.gather(*pending, ours)
    sent = transport.sent(chat)
    assert sent[-1].params["text"] == "ours"
    assert sent[-1].at - asked == pytest.approx(backlog.wait, abs=0.01)


async def test_a_quiet_chat_has_no_backlog(make_delivery: MakeDelivery) -> None:
    delivery = await make_delivery()
    backlog = delivery.backlog(GROUP)
    assert (backlog.queued, backlog.wait) == (0, 0.0)


async def test_twenty_five_replies_make_the_next_wait_past_a_minute(
    make_delivery: MakeDelivery,
) -> None:
    delivery = await make_delivery(start=False)
    pending = [asyncio.ensure_future(delivery.send_message(GROUP, f"m{i}")) for i in range(25)]
    await _queued()
    assert delivery.backlog(GROUP).wait > 60.0  # Telegram's 20 a minute in a group
    assert delivery.reply_wait(GROUP) == delivery.backlog(GROUP).wait
    for future in pending:
        future.cancel()


async def test_content_is_counted_but_does_not_go_before_a_reply(
    make_delivery: MakeDelivery,
) -> None:
    delivery = await make_delivery(start=False)
    posts = [
        asyncio.ensure_future(delivery.send_message(GROUP, f"p{i}", priority=Priority.CONTENT))
        for i in range(30)
    ]
    await _queued()
    backlog = delivery.backlog(GROUP, Priority.REPLY)
    assert backlog.queued == 30
    assert backlog.wait == 0.0
    assert delivery.backlog(GROUP, Priority.CONTENT).wait > 60.0
    for future in posts:
        future.cancel()


async def test_a_429_in_force_is_part_of_the_wait(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", RetryAfter(9))
    pending = asyncio.ensure_future(delivery.send_message(GROUP, "x"))
    await until(lambda: delivery.metrics().retried >= 1)
    backlog = delivery.backlog(GROUP)
    assert backlog.queued == 1  # the call sitting out its 429
    assert backlog.wait == pytest.approx(9.0, abs=0.01)
    assert (await pending).ok
