"""The ingest profiler: it reads the store's batches and statements, and leaves the store as it
found it."""

from __future__ import annotations

from benchmarks import profile_ingest
from bot.services.engagement import EngagementRecorder
from storage.sqlite_ingest import SqliteIngestStore


async def test_the_profile_names_the_store_statements_and_restores_the_store() -> None:
    before = (
        SqliteIngestStore._open,
        SqliteIngestStore._write,
        SqliteIngestStore.write,
        EngagementRecorder._write_decisions,
    )
    lines = await profile_ingest.run(400, "handoff")
    after = (
        SqliteIngestStore._open,
        SqliteIngestStore._write,
        SqliteIngestStore.write,
        EngagementRecorder._write_decisions,
    )
    assert after == before
    text = "\n".join(lines)
    assert lines[1].startswith("store: ") and " batches of " in lines[1]
    assert "COMMIT" in text and "INSERT INTO events" in text and "INSERT INTO members" in text
    # The hand-off opens questions in the batches' own transactions.
    assert "features' writes (SQLAlchemy)" in text
