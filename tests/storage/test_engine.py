"""Engine set-up: SQLite pragmas and URL handling."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import (
    SQLITE_AUTOCHECKPOINT_PAGES,
    SQLITE_BUSY_TIMEOUT_MS,
    async_url,
    checkpoint,
    create_engine,
    write_lock,
)


async def test_sqlite_connections_are_tuned(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in (
                    "journal_mode",
                    "foreign_keys",
                    "busy_timeout",
                    "synchronous",
                    "wal_autocheckpoint",
                    "secure_delete",
                )
            }
    finally:
        await engine.dispose()
    # synchronous 2 is FULL: a commit is on disk before its offset is confirmed.
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "synchronous": 2,
        "wal_autocheckpoint": SQLITE_AUTOCHECKPOINT_PAGES,
        "secure_delete": 1,
    }


def _size(path: Path) -> int:
    return path.stat().st_size


async def test_checkpoint_moves_the_wal_into_the_database(sqlite_url: str) -> None:
    path = Path(sqlite_url.removeprefix("sqlite+aiosqlite:///"))
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x TEXT)"))
            await connection.execute(text("INSERT INTO t VALUES (:x)"), [{"x": "y" * 1000}] * 200)
        before = _size(path)  # the rows are in the WAL, not yet in the database file
        await checkpoint(engine)
        after = _size(path)
    finally:
        await engine.dispose()
    assert after > before + 150 * 1000


async def test_checkpoint_leaves_postgresql_alone() -> None:
    # Nothing listens on port 1: a checkpoint that opened a connection would fail here.
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        await checkpoint(engine)  # PostgreSQL checkpoints by itself
    finally:
        await engine.dispose()


def test_async_url_fills_in_the_driver() -> None:
    assert async_url("postgresql://u:p%40ss@db/x") == "postgresql+asyncpg://u:p%40ss@db/x"
    assert async_url("sqlite:///./groupops.db") == "sqlite+aiosqlite:///./groupops.db"
    assert async_url("postgresql+asyncpg://db/x") == "postgresql+asyncpg://db/x"


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        create_engine("mysql+aiomysql://db/x")


async def test_sqlite_writers_take_turns_and_a_busy_writer_starves_no_one(sqlite_url: str) -> None:
    """A writer committing back to back (the ingest) cannot keep another writer out: the
    other waits its turn on the event loop, not in SQLite's sleeping busy handler."""
    engine = create_engine(sqlite_url)
    lock = write_lock(engine)
    assert lock is not None
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (writer TEXT, n INTEGER)"))
        holding, other_ready = asyncio.Event(), asyncio.Event()
        done_at: list[int] = []

        async def busy() -> None:
            await other_ready.wait()
            for n in range(40):
                async with engine.begin() as connection:
                    await connection.execute(text(f"INSERT INTO t VALUES ('busy', {n})"))
                    holding.set()
                    # Holds its transaction open a while, as a batch of statements does; SQLite's
                    # busy handler would keep finding it taken (no verdict rests on the length).
                    await asyncio.sleep(0.005)
                    await connection.execute(text(f"INSERT INTO t VALUES ('busy', {n})"))

        async def other() -> None:
            async with engine.begin() as connection:  # its connection ready before the race
                other_ready.set()
                await holding.wait()
                await connection.execute(text("INSERT INTO t VALUES ('other', 0)"))
            async with engine.connect() as connection:
                done_at.append(
                    (await connection.execute(text("SELECT count(*) FROM t"))).scalar_one()
                )

        await asyncio.wait_for(asyncio.gather(busy(), other()), 30)
        assert lock.waits >= 1
        # It wrote right after the transaction it found under way (2 rows each), not after
        # the busy writer happened to leave a gap.
        assert done_at == [3]
        assert not lock.held
    finally:
        await engine.dispose()


async def test_a_rolled_back_write_gives_the_lock_back(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    lock = write_lock(engine)
    assert lock is not None
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (n INTEGER)"))
        with pytest.raises(RuntimeError):
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO t VALUES (1)"))
                assert lock.held
                raise RuntimeError("a failed use case")
        assert not lock.held
        async with engine.connect() as connection:  # reads never take it
            await connection.execute(text("SELECT count(*) FROM t"))
            assert not lock.held
    finally:
        await engine.dispose()
