"""A database that is down at start is retried with backoff for DATABASE_WAIT_SECONDS (issue 15
#10); one that is misconfigured fails at once. Time is the test's: a fake clock and sleep."""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from bot.preflight import DatabaseDown, StartupError, check_database, wait_for_database

DOWN = "cannot connect to PostgreSQL at 127.0.0.1:1: is it running?"


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def failing(times: int, error: StartupError) -> tuple[list[str], Callable[[str], Awaitable[None]]]:
    """A check that fails `times` times with `error`, then passes; and the URLs it was asked."""
    asked: list[str] = []

    async def check(url: str) -> None:
        asked.append(url)
        if len(asked) <= times:
            raise error

    return asked, check


async def test_a_database_that_comes_up_is_waited_for_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime()
    asked, check = failing(3, DatabaseDown(DOWN))
    with caplog.at_level(logging.WARNING, logger="bot.preflight"):
        await wait_for_database(
            "db",
            60,
            check=check,
            sleep=fake.sleep,
            clock=fake.clock,
        )
    assert asked == ["db"] * 4
    assert fake.pauses == [1, 2, 4]
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"database attempt {n} failed: {DOWN}; retrying in {pause}s"
        for n, pause in ((1, 1), (2, 2), (3, 4))
    ]


async def test_a_database_still_down_fails_with_its_line_once_the_time_is_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime()
    asked, check = failing(1_000, DatabaseDown(DOWN))
    with caplog.at_level(logging.WARNING, logger="bot.preflight"), pytest.raises(DatabaseDown):
        await wait_for_database(
            "db",
            40,
            check=check,
            sleep=fake.sleep,
            clock=fake.clock,
        )
    assert fake.pauses == [1, 2, 4, 8, 15, 10]  # doubling, at most 15 s, never past the time
    assert fake.now == 40
    assert len(asked) == 7 and len(caplog.records) == 6


async def test_no_wait_and_a_misconfigured_database_fail_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for within, error in ((0, DatabaseDown(DOWN)), (60, StartupError("no database 'x'"))):
        fake = FakeTime()
        asked, check = failing(1, error)
        with caplog.at_level(logging.WARNING, logger="bot.preflight"), pytest.raises(type(error)):
            await wait_for_database(
                "db",
                within,
                check=check,
                sleep=fake.sleep,
                clock=fake.clock,
            )
        assert asked == ["db"] and fake.pauses == []
    assert not caplog.records


async def test_down_is_told_from_misconfigured(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(DatabaseDown):
        await check_database(f"postgresql+asyncpg://groupops@127.0.0.1:{port}/groupops")
    with pytest.raises(StartupError) as missing:
        await check_database(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such.db'}")
    assert not isinstance(missing.value, DatabaseDown)
