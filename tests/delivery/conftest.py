"""Fixtures for delivery tests: fake time, a fake transport, and Delivery built on both."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from bot.delivery import Delivery
from tests.delivery.fakes import FakeTime, FakeTransport

MakeDelivery = Callable[..., Awaitable[Delivery]]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def transport(fake_time: FakeTime) -> FakeTransport:
    return FakeTransport(fake_time.monotonic)


@pytest.fixture
async def make_delivery(
    fake_time: FakeTime, transport: FakeTransport
) -> AsyncIterator[MakeDelivery]:
    """Build a Delivery on fake time (started unless start=False); stopped after the test."""
    made: list[Delivery] = []

    async def make(*, start: bool = True, **kwargs: Any) -> Delivery:
        delivery = Delivery(
            transport,
            fake_time.monotonic,
            sleep=fake_time.sleep,
            rng=random.Random(7),
            **kwargs,
        )
        made.append(delivery)
        if start:
            await delivery.start()
        return delivery

    yield make
    for delivery in made:
        await delivery.stop(drain=False)
