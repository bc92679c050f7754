"""The schema comes from migrations: head equals the models; each revision steps down and up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.engine import create_engine
from storage.migrate import (
    alembic_config,
    current_revision,
    downgrade,
    head_revision,
    is_up_to_date,
    upgrade,
    upgrade_to_head,
)
from storage.models import Base

T = TypeVar("T")


async def _on_connection(url: str, action: Callable[[Connection], T]) -> T:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(action)
    finally:
        await engine.dispose()


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_head_matches_models(migrated_db_url: str) -> None:
    """The `alembic check` equivalent: autogenerate finds nothing left to migrate."""
    assert await _on_connection(migrated_db_url, _diff) == []


async def test_comparison_sees_a_missing_schema(db_url: str) -> None:
    """Guards the check above: on an empty database the same comparison reports every table."""
    diffs = await _on_connection(db_url, _diff)
    added = {diff[1].name for diff in diffs if diff[0] == "add_table"}  # type: ignore[index]
    assert added == set(Base.metadata.tables)


async def test_stairway(db_url: str) -> None:
    """Each revision upgrades, downgrades cleanly and upgrades again."""
    script = ScriptDirectory.from_config(alembic_config())
    revisions = list(reversed(list(script.walk_revisions())))
    assert revisions, "no revisions found"
    for revision in revisions:
        await upgrade(db_url, revision.revision)
        await downgrade(db_url, revision.down_revision or "base")  # type: ignore[arg-type]
        await upgrade(db_url, revision.revision)
    assert await current_revision(db_url) == head_revision()


async def test_downgrade_to_base_leaves_only_the_version_table(migrated_db_url: str) -> None:
    await downgrade(migrated_db_url, "base")
    tables = await _on_connection(
        migrated_db_url, lambda connection: inspect(connection).get_table_names()
    )
    assert set(tables) == {"alembic_version"}


async def test_up_to_date_only_after_upgrade(db_url: str) -> None:
    assert await current_revision(db_url) is None
    assert not await is_up_to_date(db_url)
    await upgrade_to_head(db_url)
    assert await current_revision(db_url) == head_revision()
    assert await is_up_to_date(db_url)


def test_config_finds_migrations_from_any_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    script_location = Path(alembic_config().get_main_option("script_location") or "")
    assert (script_location / "env.py").is_file()
    assert head_revision() == "0002"


def test_config_keeps_percent_signs_in_urls() -> None:
    url = "postgresql+asyncpg://bot:p%40ss@db:5432/groupops"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url
