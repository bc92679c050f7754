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
    assert head_revision() == "0014"


def test_config_keeps_percent_signs_in_urls() -> None:
    url = "postgresql+asyncpg://bot:p%40ss@db:5432/groupops"
    assert alembic_config(url).get_main_option("sqlalchemy.url") == url


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.exec_driver_sql(sql)]
    finally:
        await engine.dispose()


async def test_0003_keeps_data_and_lets_groups_follow_the_default_timezone(db_url: str) -> None:
    """A batch migration on SQLite recreates `groups`, which members and events point at: it
    must run with data in place (foreign keys would refuse the DROP), on both databases."""
    await upgrade(db_url, "0002")
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            for sql in (
                "INSERT INTO groups (chat_id, title, type, is_forum, timezone, language,"
                " store_text, text_retention_days, created_at, updated_at) VALUES"
                " (-1, 'G', 'supergroup', false, 'UTC', 'en', false, 30,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00'),"
                " (-2, 'H', 'supergroup', false, 'Asia/Tokyo', 'en', false, 30,"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                "INSERT INTO users (user_id, first_name, is_bot, updated_at)"
                " VALUES (5, 'U', false, '2026-01-01 00:00:00')",
                "INSERT INTO members (chat_id, user_id, first_seen_at, last_seen_at, status,"
                " message_count) VALUES (-1, 5, '2026-01-01 00:00:00', '2026-01-01 00:00:00',"
                " 'member', 1)",
                "INSERT INTO events (dedup_key, update_id, chat_id, user_id, kind, occurred_at,"
                " text_length, has_link, reaction_count) VALUES ('m:-1:1', 1, -1, 5, 'message',"
                " '2026-01-01 00:00:00', 0, false, 0)",
            ):
                await connection.exec_driver_sql(sql)
    finally:
        await engine.dispose()

    await upgrade(db_url, "0003")
    zones = "SELECT chat_id, timezone FROM groups ORDER BY chat_id"
    assert await _rows(db_url, zones) == [(-2, "Asia/Tokyo"), (-1, None)]
    assert await _rows(db_url, "SELECT count(*) FROM members") == [(1,)]
    assert await _rows(db_url, "SELECT count(*) FROM events") == [(1,)]

    await downgrade(db_url, "0002")
    assert await _rows(db_url, zones) == [(-2, "Asia/Tokyo"), (-1, "UTC")]
    assert await _rows(db_url, "SELECT count(*) FROM events") == [(1,)]


async def test_0005_steps_down_and_up_with_rows_in_every_table(db_url: str) -> None:
    """The indexes and rollups of 0005 come and go over stored rows, rollups included."""
    await upgrade_to_head(db_url)
    engine = create_engine(db_url)
    try:
        async with engine.begin() as connection:
            for sql in (
                "INSERT INTO groups (chat_id, title, type, is_forum, language, store_text,"
                " text_retention_days, created_at, updated_at) VALUES (-1, 'G', 'supergroup',"
                " false, 'en', false, 30, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                "INSERT INTO users (user_id, first_name, is_bot, updated_at)"
                " VALUES (5, 'U', false, '2026-01-01 00:00:00')",
                "INSERT INTO members (chat_id, user_id, first_seen_at, last_seen_at, status,"
                " message_count, invited_by_user_id) VALUES (-1, 5, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00', 'member', 1, 6)",
                "INSERT INTO events (dedup_key, update_id, chat_id, user_id, kind, occurred_at,"
                " text_length, has_link, reaction_count, reply_to_user_id, inviter_id) VALUES"
                " ('m:-1:1', 1, -1, 5, 'message', '2026-01-01 00:00:00', 0, false, 0, 6, 7)",
                "INSERT INTO outbox (dedup_key, chat_id, method, params, priority, created_at,"
                " attempts) VALUES ('k', -1, 'sendMessage', '{}', 1, '2026-01-01 00:00:00', 0)",
                "INSERT INTO decisions (chat_id, message_id, watcher, action, params, created_at)"
                " VALUES (-1, 1, 'promo', 'delete', '{}', '2026-01-01 00:00:00')",
                "INSERT INTO activity_hours (chat_id, hour, messages, replies, reactions, joins,"
                " leaves) VALUES (-1, '2026-01-01 00:00:00', 1, 0, 0, 0, 0)",
                "INSERT INTO member_days (chat_id, day, user_id, active_hours, messages, replies,"
                " reactions, replies_received, reactions_received) VALUES"
                " (-1, '2026-01-01', 5, 1, 1, 0, 0, 0, 0)",
                "INSERT INTO responses (chat_id, message_id, author_id, posted_at, replies,"
                " reactions) VALUES (-1, 1, 5, '2026-01-01 00:00:00', 1, 0)",
            ):
                await connection.exec_driver_sql(sql)
    finally:
        await engine.dispose()

    await downgrade(db_url, "0004")
    for table in ("groups", "users", "members", "events", "outbox", "decisions"):
        assert await _rows(db_url, f"SELECT count(*) FROM {table}") == [(1,)]
    await upgrade_to_head(db_url)
    assert await _rows(db_url, "SELECT count(*) FROM member_days") == [(0,)]
    assert await _rows(db_url, "SELECT count(*) FROM events") == [(1,)]
