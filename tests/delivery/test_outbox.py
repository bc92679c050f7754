"""The durable path: recorded before sending, marked after, resumed after a restart, never twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from bot.delivery import Delivery
from bot.ports import FailureReason, Priority, Refused, TransientError
from tests.delivery.conftest import MakeDelivery
from tests.delivery.fakes import (
    FakeTransport,
    FakeUnitOfWorkFactory,
    FixedClock,
    MemoryOutbox,
    until,
)

GROUP = -1001


@pytest.fixture
def outbox() -> FakeUnitOfWorkFactory:
    return FakeUnitOfWorkFactory()


@pytest.fixture
async def durable(make_delivery: MakeDelivery, outbox: FakeUnitOfWorkFactory) -> Delivery:
    return await make_delivery(uow_factory=outbox, wall_clock=FixedClock())


def post(i: int, chat_id: int = GROUP) -> dict[str, Any]:
    return {"chat_id": chat_id, "text": f"post {i}"}


async def test_the_row_is_recorded_before_the_call_and_marked_after(
    durable: Delivery, transport: FakeTransport, outbox: FakeUnitOfWorkFactory
) -> None:
    rows_when_sent: list[list[str]] = []
    execute = transport.execute

    async def watching(method: str, params: dict[str, Any]) -> Any:
        rows_when_sent.append(list(outbox.store.rows))
        return await execute(method, params)

    transport.execute = watching  # type: ignore[method-assign]
    outcome = await durable.send_durable("slot-1", GROUP, "sendMessage", post(1))
    assert outcome.ok
    assert rows_when_sent == [["slot-1"]]
    row = outbox.store.rows["slot-1"]
    assert row.sent_at is not None and row.result_message_id == outcome.message_id


async def test_the_same_key_is_never_sent_twice(
    durable: Delivery, transport: FakeTransport, outbox: FakeUnitOfWorkFactory
) -> None:
    first, twin = await asyncio.gather(
        durable.send_durable("slot-1", GROUP, "sendMessage", post(1)),
        durable.send_durable("slot-1", GROUP, "sendMessage", post(1)),
    )
    again = await durable.send_durable("slot-1", GROUP, "sendMessage", post(1))
    assert first.ok and twin.ok and again.ok
    assert again.detail == "already sent" and again.message_id == first.message_id
    assert len(transport.sent()) == 1


async def test_a_refusal_is_recorded_and_not_tried_again(
    durable: Delivery, transport: FakeTransport, outbox: FakeUnitOfWorkFactory
) -> None:
    transport.fail("sendMessage", Refused(400, "Bad Request: chat not found"))
    outcome = await durable.send_durable("slot-1", GROUP, "sendMessage", post(1))
    assert outcome.reason is FailureReason.CHAT_NOT_FOUND
    assert outbox.store.rows["slot-1"].failed_reason == "chat_not_found"
    again = await durable.send_durable("slot-1", GROUP, "sendMessage", post(1))
    assert again.reason is FailureReason.CHAT_NOT_FOUND and again.detail == "already failed"
    assert await durable.resume_pending() == 0
    assert len(transport.sent()) == 1


async def test_what_could_not_get_through_stays_pending_for_the_next_resume(
    durable: Delivery, transport: FakeTransport, outbox: FakeUnitOfWorkFactory
) -> None:
    transport.fail("sendMessage", *[TransientError("503") for _ in range(5)])
    outcome = await durable.send_durable("slot-1", GROUP, "sendMessage", post(1))
    assert outcome.reason is FailureReason.GAVE_UP
    row = outbox.store.rows["slot-1"]
    assert row.sent_at is None and row.failed_reason is None
    assert await durable.resume_pending() == 1
    await until(lambda: outbox.store.rows["slot-1"].sent_at is not None)
    assert len(transport.sent()) == 6


async def test_resume_does_not_queue_a_row_twice(
    durable: Delivery, transport: FakeTransport, outbox: FakeUnitOfWorkFactory
) -> None:
    async with outbox() as uow:
        for i in range(5):
            await uow.outbox.add(f"slot-{i}", GROUP, "sendMessage", post(i), 2, FixedClock().now())
        await uow.commit()
    assert await durable.resume_pending() == 5
    assert await durable.resume_pending() == 0
    await until(lambda: all(r.sent_at for r in outbox.store.rows.values()))
    assert [c.params["text"] for c in transport.sent()] == [f"post {i}" for i in range(5)]


async def test_a_row_sent_while_resume_reads_is_not_sent_again(
    durable: Delivery, transport: FakeTransport, outbox: FakeUnitOfWorkFactory
) -> None:
    outbox.store.slow_reads = 50
    sending = asyncio.ensure_future(durable.send_durable("slot-1", GROUP, "sendMessage", post(1)))
    await until(lambda: "slot-1" in outbox.store.rows)
    assert await durable.resume_pending() == 0  # read as pending, but sent meanwhile
    assert (await sending).ok
    assert len(transport.sent()) == 1


async def test_a_restart_mid_broadcast_resends_only_what_was_not_sent(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    store = MemoryOutbox()
    chats = [-(100 + n) for n in range(5)]
    first = await make_delivery(
        uow_factory=FakeUnitOfWorkFactory(store=store), wall_clock=FixedClock()
    )
    broadcast = [
        asyncio.ensure_future(
            first.send_durable(f"b-{i}", chats[i % 5], "sendMessage", post(i, chats[i % 5]))
        )
        for i in range(500)
    ]
    await until(lambda: len(transport.sent()) >= 200)
    await first.stop(drain=False)  # the crash: whatever was in flight never reached Telegram
    await asyncio.gather(*broadcast)
    sent_before = len(transport.sent())
    assert sum(1 for r in store.rows.values() if r.sent_at) == sent_before

    second = await make_delivery(
        uow_factory=FakeUnitOfWorkFactory(store=store), wall_clock=FixedClock()
    )
    assert await second.resume_pending() == 500 - sent_before
    await until(lambda: all(r.sent_at for r in store.rows.values()))

    texts = [c.params["text"] for c in transport.sent()]
    assert Counter(texts) == Counter(f"post {i}" for i in range(500))
    for n, chat in enumerate(chats):
        in_chat = [int(c.params["text"].split()[1]) for c in transport.sent(chat)]
        assert in_chat == list(range(n, 500, 5))


async def test_without_an_outbox_the_durable_path_says_so(make_delivery: MakeDelivery) -> None:
    delivery = await make_delivery()
    with pytest.raises(RuntimeError, match="uow_factory"):
        await delivery.send_durable("k", GROUP, "sendMessage", post(1), Priority.CONTENT)
