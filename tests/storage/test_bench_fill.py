"""The ingest benchmark's databases: the big table holds other chats than the run's own, and
each PostgreSQL run gets a database of its own."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import create_engine, make_url, text

from benchmarks.ingest import GROUPS, fill_events, fresh_database
from simulator import FloodLimits, Simulator


async def test_the_filled_events_are_in_chats_the_run_never_writes_to(tmp_path: Path) -> None:
    database = tmp_path / "big.db"
    await fill_events(f"sqlite+aiosqlite:///{database}", 500, chunk=100)
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        # As the benchmark makes its groups (and a few more, should it make more).
        chats = {sim.create_group(f"Group {g}") for g in range(GROUPS * 5)}
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            filled = {row[0] for row in connection.execute(text("SELECT chat_id FROM events"))}
            count = connection.execute(text("SELECT count(*) FROM events")).scalar_one()
    finally:
        engine.dispose()
    assert count == 500
    assert filled and not filled & chats


@pytest.mark.postgres
async def test_each_postgresql_run_gets_a_database_of_its_own_dropped_after(
    pg_url: str, tmp_path: Path
) -> None:
    server = make_url(pg_url)

    async def databases() -> set[str]:
        admin = await asyncpg.connect(server.set(drivername="postgresql").render_as_string(False))
        try:
            rows = await admin.fetch("SELECT datname FROM pg_database")
        finally:
            await admin.close()
        return {row["datname"] for row in rows}

    async with (
        fresh_database(tmp_path, pg_url) as first,
        fresh_database(tmp_path, pg_url) as second,
    ):
        names = {make_url(first).database, make_url(second).database}
        assert len(names) == 2 and server.database not in names
        assert names <= await databases()
        await fill_events(first, 10, chunk=10)  # usable: migrated and written to
    assert not names & await databases()
