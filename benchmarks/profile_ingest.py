"""Where an in-process ingest run spends its time: the store's batches, statement by statement,
and how the event loop and the store's thread take turns.

One groupops round of `benchmarks.ingest`'s in-process comparison (the seam, and one feature
that judges chat if named), with the SQLite ingest store timed from inside its thread:

- each batch's wall time and its thread's CPU, and each kind of statement's (the sqlite3 calls
  of the store's own statements; the features' writes, which go through SQLAlchemy, as one
  line);
- how long a batch waited between the store being called and its thread starting it
  (the interpreter lock: a loop busy judging hands it over only at its switch interval);
- how long the thread writes a batch, and how long it then waits for the next (medians).

A development tool: it wraps private methods of `storage.sqlite_ingest` for the run. Timings
belong here and in `benchmarks.ingest`, not in tests.

Run: `python -m benchmarks.profile_ingest [--feature adcap|handoff|moderation|recognition]
[--updates 20000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import sqlite3
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import ingest
from bot.cli import tune_gc
from bot.features import FeatureFactory
from bot.services.engagement import EngagementRecorder
from handlers.features import FEATURES
from storage import sqlite_ingest

_VALUES = re.compile(r"\(\?[?, ]*\)(?:, \(\?[?, ]*\))*")


@dataclass(frozen=True)
class Batch:
    started: float  # perf_counter seconds
    wall: float
    cpu: float  # the store thread's
    waited: float  # from the store's write being called to its thread starting the batch
    events: int


@dataclass
class Profile:
    """What the wrapped store saw."""

    batches: list[Batch] = field(default_factory=list)
    # statement kind: [calls, wall seconds, CPU seconds]
    statements: defaultdict[str, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0])
    )
    feature_writes: list[float] = field(default_factory=list)  # thread CPU seconds a batch

    def add_statement(self, sql: str, wall: float, cpu: float) -> None:
        figures = self.statements[_kind(sql)]
        figures[0] += 1
        figures[1] += wall
        figures[2] += cpu


def _kind(sql: str) -> str:
    """A statement's first words, its VALUES lists folded: one line per kind."""
    return _VALUES.sub("(…)", " ".join(sql.split()))[:60]


class _TimedConnection:
    """The store's sqlite3 connection, each `execute` and `executemany` timed."""

    def __init__(self, connection: sqlite3.Connection, profile: Profile) -> None:
        self._connection = connection
        self._profile = profile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed(self._connection.execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed(self._connection.executemany, sql, *args)

    def _timed(self, call: Any, sql: str, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return call(sql, *args)
        finally:
            self._profile.add_statement(sql, time.perf_counter() - wall, time.thread_time() - cpu)


@contextmanager
def profiled_store(profile: Profile) -> Iterator[None]:
    """Time the SQLite ingest store's batches and statements while inside."""
    store = sqlite_ingest.SqliteIngestStore
    originals = (store._open, store._write, store.write, EngagementRecorder._write_decisions)
    open_, write_, write, write_decisions = originals
    handed: list[float] = []

    def timed_open(self: Any) -> Any:
        connection = open_(self)
        self._connection = _TimedConnection(connection, profile)
        return self._connection

    def timed_write(self: Any, batch: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        waited = started - handed.pop(0) if handed else 0.0
        try:
            return write_(self, batch)
        finally:
            profile.batches.append(
                Batch(
                    started,
                    time.perf_counter() - started,
                    time.thread_time() - cpu,
                    waited,
                    len(batch.events),
                )
            )

    async def timed_store_write(self: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(time.perf_counter())  # the thread starts it once it has the lock
        return await write(self, *args, **kwargs)

    async def timed_writes(self: Any, uow: Any, pairs: Any) -> Any:
        cpu = time.thread_time()
        try:
            return await write_decisions(self, uow, pairs)
        finally:
            profile.feature_writes.append(time.thread_time() - cpu)

    store._open = timed_open  # type: ignore[method-assign]
    store._write = timed_write  # type: ignore[method-assign]
    store.write = timed_store_write  # type: ignore[method-assign]
    EngagementRecorder._write_decisions = timed_writes  # type: ignore[method-assign]
    try:
        yield
    finally:
        store._open, store._write, store.write = open_, write_, write  # type: ignore[method-assign]
        EngagementRecorder._write_decisions = write_decisions  # type: ignore[method-assign]


def report(profile: Profile, figures: dict[str, float]) -> list[str]:
    """The profile as lines (per batch figures in ms)."""
    batches = profile.batches
    if not batches:
        return ["store: no batches (is the database SQLite?)"]
    n = len(batches)
    writing = sum(batch.wall for batch in batches)
    waits = [batch.waited for batch in batches]
    # Medians: the run's warm-up and the bare side's rounds leave a few long gaps.
    gaps = [b.started - (a.started + a.wall) for a, b in itertools.pairwise(batches)]
    gap = statistics.median(gaps) if gaps else 0.0
    wall = statistics.median(batch.wall for batch in batches)
    lines = [
        f"groupops {figures['full_rate']:,.0f} updates/s against bare aiogram"
        f" {figures['bare_rate']:,.0f} (ratio {figures['full_rate'] / figures['bare_rate']:.2f});"
        f" CPU an update: event loop {figures['loop_cpu_us']:.0f} µs, other threads"
        f" {figures['driver_cpu_us']:.0f} µs",
        f"store: {n} batches of {statistics.median(b.events for b in batches):.0f} events (p50);"
        f" wall {writing / n * 1e3:.2f} ms, CPU {sum(b.cpu for b in batches) / n * 1e3:.2f} ms"
        " a batch",
        f"store thread: a write p50 {wall * 1e3:.2f} ms, then idle p50 {gap * 1e3:.2f} ms"
        f" ({wall / (wall + gap):.0%} writing); called to started: p50"
        f" {statistics.median(waits) * 1e3:.2f} ms, max {max(waits) * 1e3:.2f} ms",
    ]
    for kind, (count, total, cpu) in sorted(
        profile.statements.items(), key=lambda item: -item[1][1]
    ):
        lines.append(
            f"  {count / n:4.1f} a batch  wall {total / n * 1e3:6.3f}  CPU {cpu / n * 1e3:6.3f}"
            f"  {kind}"
        )
    if profile.feature_writes:
        writes = profile.feature_writes
        lines.append(
            f"  features' writes (SQLAlchemy): CPU {sum(writes) / n * 1e3:.3f} ms a batch"
            f" ({len(writes)} batches held some)"
        )
    return lines


def judging_features() -> dict[str, FeatureFactory]:
    """The features with watchers of their own, by name (those `--feature` can add)."""
    return {
        feature.name: make
        for make, feature in zip(FEATURES, ingest.stand_ins(FEATURES), strict=True)
        if feature.watchers
    }


async def run(updates: int, feature: str | None) -> list[str]:
    factories = ingest.seam_only(FEATURES)
    if feature is not None:
        factories.append(judging_features()[feature])
    profile = Profile()
    with (
        tempfile.TemporaryDirectory(prefix="groupops-profile-") as tmp,
        profiled_store(profile),
    ):
        figures = await ingest.in_process(updates, Path(tmp), 0, None, factories, rounds=1)
    return report(profile, figures)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.profile_ingest", description=__doc__)
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--feature", choices=sorted(judging_features()))
    args = parser.parse_args(argv)
    tune_gc()
    for line in asyncio.run(run(args.updates, args.feature)):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
