"""The tick: APScheduler runs each job every interval, one run at a time, and stop waits.

Jobs signal through events, so no verdict rests on how long anything took; only a hung test
waits for GUARD.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.scheduler import Ticker

GUARD = 10.0
EVERY = timedelta(milliseconds=20)


class Counted:
    """A job that counts its runs and lets a test wait for the n-th."""

    def __init__(self) -> None:
        self.runs = 0
        self._ran = asyncio.Event()

    async def __call__(self) -> None:
        self.runs += 1
        self._ran.set()

    async def reached(self, runs: int) -> None:
        while self.runs < runs:
            self._ran.clear()
            await asyncio.wait_for(self._ran.wait(), GUARD)


async def test_jobs_repeat_and_stop_waits_for_a_running_one() -> None:
    quick = Counted()
    slow_started, release, finished = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        slow_started.set()
        await release.wait()
        finished.set()

    ticker = Ticker()
    ticker.every(EVERY, quick, name="quick")
    ticker.every(EVERY, slow, name="slow")
    ticker.start()
    await quick.reached(3)
    await asyncio.wait_for(slow_started.wait(), GUARD)
    stopping = asyncio.create_task(ticker.stop())
    for _ in range(10):
        await asyncio.sleep(0)
    assert not stopping.done()  # waits for the slow job rather than cutting it off
    release.set()
    await asyncio.wait_for(stopping, GUARD)
    assert finished.is_set()


async def test_nothing_runs_after_stop() -> None:
    stopped, control = Counted(), Counted()
    ticker = Ticker()
    ticker.every(EVERY, stopped, name="stopped")
    ticker.start()
    await stopped.reached(1)
    await ticker.stop()
    count = stopped.runs
    # A ticker still running on the same interval would have run as often as this one does.
    still = Ticker()
    still.every(EVERY, control, name="control")
    still.start()
    await control.reached(3)
    await still.stop()
    assert stopped.runs == count


async def test_a_failing_job_is_logged_and_runs_again(caplog: pytest.LogCaptureFixture) -> None:
    attempts = Counted()

    async def flaky() -> None:
        await attempts()
        raise RuntimeError("database away")

    ticker = Ticker()
    ticker.every(EVERY, flaky, name="flaky")
    ticker.start()
    await attempts.reached(3)
    await ticker.stop()
    # Told once, not at every tick: a job that keeps failing (a read-only disk) is no flood.
    assert caplog.text.count("scheduled job flaky failed (RuntimeError)") == 1
