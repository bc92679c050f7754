"""The ingest benchmark's big table holds other chats than the run's own."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.ingest import GROUPS, fill_events
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
