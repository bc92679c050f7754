"""The scheduler tick: APScheduler runs periodic jobs; what is due lives in our tables.

Jobs are coroutines that find their own work in the database (invariant 3), so a missed tick
only delays them: ticks are coalesced, one run of a job at a time. `stop()` waits for a run in
progress, so no job outlives the engine it writes through.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]


class Ticker:
    """Periodic jobs on an APScheduler `AsyncIOScheduler`, each first run one interval after start.

    A job that must also run at start-up is awaited by the caller before `start()`, so start-up
    finishes with it done.
    """

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[Any]] = set()

    def every(self, interval: timedelta, job: Job, name: str) -> None:
        """Run `job` every `interval`."""

        failures = 0  # in a row: a job that keeps failing (a read-only disk) is told once

        async def run() -> None:
            nonlocal failures
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await job()
            except Exception as exc:
                failures += 1
                if failures == 1:
                    log.error(
                        "scheduled job %s failed (%s); it runs again at its next tick",
                        name,
                        type(exc).__name__,
                    )
                log.debug("scheduled job %s failure", name, exc_info=True)
            else:
                if failures:
                    log.info("scheduled job %s runs again after %d failures", name, failures)
                failures = 0
            finally:
                self._running.discard(task)

        self._scheduler.add_job(
            run,
            IntervalTrigger(seconds=interval.total_seconds(), timezone=UTC),
            id=name,
            name=name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(interval.total_seconds())),
        )

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop ticking and wait for jobs that are running."""
        if not self._scheduler.running:
            return
        # Pause first: APScheduler's shutdown cancels the tasks of jobs that are running.
        self._scheduler.pause()
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
