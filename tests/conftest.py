"""Database fixtures shared by every test suite: fresh SQLite files and PostgreSQL databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import URL, make_url

from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.uow import SqlUnitOfWorkFactory

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_server_url() -> URL:
    """The maintenance database tests create their databases from."""
    url = make_url(os.environ.get("GROUPOPS_TEST_PG_URL", DEFAULT_PG_URL))
    return url.set(drivername="postgresql")


def _pg_required() -> bool:
    """In CI a skipped PostgreSQL test would hide a broken database path, so it must fail."""
    return bool(os.environ.get("CI")) or os.environ.get("GROUPOPS_REQUIRE_PG") == "1"


def _dsn(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@asynccontextmanager
async def _postgres_database() -> AsyncIterator[str]:
    """A freshly created, uniquely named PostgreSQL database, dropped afterwards."""
    try:
        import asyncpg
    except ImportError as exc:  # the `postgres` extra is not installed
        if _pg_required():
            pytest.fail(f"PostgreSQL required but asyncpg is missing: {exc}")
        pytest.skip("asyncpg not installed")
    server = _pg_server_url()
    try:
        admin = await asyncpg.connect(_dsn(server), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if _pg_required():
            pytest.fail(f"PostgreSQL required but unreachable at {server!r}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {server!r}: {exc}")
    name = f"groupops_t_{uuid.uuid4().hex[:8]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _dsn(server.set(drivername="postgresql+asyncpg", database=name))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def _sqlite_database(directory: Path) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{directory / 't.db'}"


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> AsyncIterator[str]:
    """An empty SQLite database file (not migrated)."""
    async with _sqlite_database(tmp_path) as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """An empty PostgreSQL database (not migrated); skipped locally when no server is up."""
    async with _postgres_database() as url:
        yield url


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database (not migrated), once on SQLite and once on PostgreSQL."""
    database = _sqlite_database(tmp_path) if request.param == "sqlite" else _postgres_database()
    async with database as url:
        yield url


@pytest.fixture
async def migrated_db_url(db_url: str) -> str:
    """`db_url` upgraded to the head revision."""
    await upgrade_to_head(db_url)
    return db_url


@pytest.fixture
async def uow_factory(migrated_db_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    """Units of work over a migrated database; the engine is disposed after the test."""
    engine = create_engine(migrated_db_url)
    try:
        yield SqlUnitOfWorkFactory(session_factory(engine))
    finally:
        await engine.dispose()
