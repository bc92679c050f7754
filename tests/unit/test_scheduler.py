"""The tick: APScheduler runs each job every interval, one run at a time, and stop waits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.scheduler import Ticker


async def test_jobs_repeat_and_stop_waits_for_a_running_one() -> None:
    runs: list[str] = []
    finished = asyncio.Event()

    async def quick() -> None:
        runs.append("quick")

    async def slow() -> None:
        runs.append("slow")
        await asyncio.sleep(0.2)
        finished.set()

    ticker = Ticker()
    ticker.every(timedelta(milliseconds=20), quick, name="quick")
    ticker.every(timedelta(milliseconds=50), slow, name="slow")
    ticker.start()
    for _ in range(200):
        if runs.count("quick") >= 3 and "slow" in runs:
            break
        await asyncio.sleep(0.01)
    assert runs.count("quick") >= 3
    assert "slow" in runs
    await ticker.stop()
    assert finished.is_set()  # the slow job was not cut off
    count = len(runs)
    await asyncio.sleep(0.1)
    assert len(runs) == count  # nothing runs after stop


async def test_a_failing_job_is_logged_and_runs_again(caplog: object) -> None:
    attempts = 0

    async def flaky() -> None:
        nonlocal attempts
        attempts += 1
        raise RuntimeError("database away")

    ticker = Ticker()
    ticker.every(timedelta(milliseconds=20), flaky, name="flaky")
    ticker.start()
    for _ in range(200):
        if attempts >= 2:
            break
        await asyncio.sleep(0.01)
    await ticker.stop()
    assert attempts >= 2
    assert "scheduled job flaky failed" in caplog.text  # type: ignore[attr-defined]
