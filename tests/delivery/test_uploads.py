"""Files through delivery: a photo or a document goes out as multipart (aiogram over real HTTP to
the simulator), and a durable one survives the outbox's JSON and a restart."""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.delivery.uploads import live, media_params, stored
from bot.ports import FailureReason, UnitOfWorkFactory, Upload
from tests.delivery.test_simulator import FAST_FLOOD, FAST_LIMITS, World, _world


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """The simulator and delivery, faster than Telegram (as in test_simulator)."""
    async for made in _world(FAST_FLOOD, FAST_LIMITS):
        yield made


def tiny_png() -> bytes:
    """A valid 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_an_upload_is_stored_as_json_and_read_back_whole() -> None:
    upload = Upload("a.csv", b"day,messages\n\x00\xff", "text/csv")
    params = media_params(5, "document", upload, caption="export")
    kept = json.loads(json.dumps(stored(params)))
    assert live(kept) == params
    assert stored({"chat_id": 5, "text": "hi"}) == {"chat_id": 5, "text": "hi"}


def test_media_params_refuse_what_telegram_would() -> None:
    with pytest.raises(ValueError, match="1024"):
        media_params(5, "photo", Upload("c.png", tiny_png()), caption="x" * 1025)
    with pytest.raises(ValueError, match="photo or document"):
        media_params(5, "video", Upload("c.png", tiny_png()))


async def test_a_photo_arrives_as_a_photo_and_a_document_with_its_name(world: World) -> None:
    group = world.group()
    delivery = await world.make()
    png = tiny_png()
    photo = await delivery.call(
        "sendPhoto",
        media_params(group, "photo", Upload("chart.png", png, "image/png"), caption="trend"),
    )
    document = await delivery.call(
        "sendDocument",
        media_params(group, "document", Upload("daily.csv", b"day,messages\n", "text/csv")),
    )
    assert photo.ok and document.ok
    sent_photo, sent_document = world.sim.sent(group)
    assert sent_photo["caption"] == "trend"
    file_id = sent_photo["photo"][-1]["file_id"]
    assert world.sim.files[file_id].content == png
    assert sent_document["document"]["file_name"] == "daily.csv"
    call = next(c for c in world.sim.calls() if c.method == "sendPhoto")
    assert call.params["photo"] == {"filename": "chart.png", "size": len(png)}  # multipart


async def test_a_photo_that_is_no_image_is_refused(world: World) -> None:
    group = world.group()
    delivery = await world.make()
    outcome = await delivery.call(
        "sendPhoto", media_params(group, "photo", Upload("chart.png", b"not an image"))
    )
    assert not outcome.ok and outcome.reason is FailureReason.BAD_REQUEST
    assert "IMAGE_PROCESS_FAILED" in outcome.detail


async def test_a_durable_photo_is_sent_once_even_when_resumed(
    world: World, uow_factory: UnitOfWorkFactory
) -> None:
    group = world.group()
    delivery = await world.make(uow_factory=uow_factory)
    png = tiny_png()
    params = media_params(group, "photo", Upload("chart.png", png, "image/png"))
    first = await delivery.send_durable("digest-1", group, "sendPhoto", params)
    again = await delivery.send_durable("digest-1", group, "sendPhoto", params)
    assert first.ok and again.detail == "already sent"
    assert len(world.sim.sent(group)) == 1
    async with uow_factory() as uow:
        assert await uow.outbox.pending() == []


async def test_a_pending_durable_photo_is_resumed_from_the_outbox(
    world: World, uow_factory: UnitOfWorkFactory
) -> None:
    group = world.group()
    png = tiny_png()
    params = media_params(group, "photo", Upload("chart.png", png, "image/png"))
    async with uow_factory() as uow:  # recorded by a process that died before sending it
        await uow.outbox.add("digest-2", group, "sendPhoto", stored(params), 2, datetime.now(UTC))
        await uow.commit()
    delivery = await world.make(uow_factory=uow_factory)
    assert await delivery.resume_pending() == 1
    await delivery.stop(drain=True)
    (sent,) = world.sim.sent(group)
    assert world.sim.files[sent["photo"][-1]["file_id"]].content == png
