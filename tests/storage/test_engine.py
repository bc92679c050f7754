"""Engine set-up: SQLite pragmas and URL handling."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.engine import SQLITE_BUSY_TIMEOUT_MS, async_url, create_engine


async def test_sqlite_connections_are_tuned(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()
    # synchronous 1 is NORMAL.
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "synchronous": 1,
    }


def test_async_url_fills_in_the_driver() -> None:
    assert async_url("postgresql://u:p%40ss@db/x") == "postgresql+asyncpg://u:p%40ss@db/x"
    assert async_url("sqlite:///./groupops.db") == "sqlite+aiosqlite:///./groupops.db"
    assert async_url("postgresql+asyncpg://db/x") == "postgresql+asyncpg://db/x"


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        create_engine("mysql+aiomysql://db/x")
