"""The one place with dialect-specific SQL: batched INSERT … ON CONFLICT for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

Row = Mapping[str, Any]
# Builds the SET clause of an upsert from the target table and the `excluded` pseudo-table.
UpdateBuilder = Callable[[Table, Any], Mapping[str, ColumnElement[Any] | Any]]


def _insert(session: AsyncSession, table: Table) -> Any:
    """A dialect insert construct; both offer the same on_conflict_* API."""
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"no upsert for dialect {name!r}")


async def insert_ignore(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Row],
    *,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows`, skipping any that conflict with a unique key; return `returning` columns of
    the rows actually inserted (RETURNING only yields new rows on both databases, unlike
    executemany rowcounts, which SQLAlchemy cannot report reliably)."""
    if not rows:
        return []
    stmt = _insert(session, table).on_conflict_do_nothing()
    if not returning:
        await session.execute(stmt, list(rows))
        return []
    stmt = stmt.returning(*(table.c[name] for name in returning))
    result = await session.execute(stmt, list(rows))
    return [tuple(row) for row in result.all()]


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Row],
    *,
    index_elements: Sequence[str],
    update_columns: Sequence[str] = (),
    update: UpdateBuilder | None = None,
    where: Callable[[Table, Any], ColumnElement[bool]] | None = None,
) -> None:
    """Insert `rows`, or update the stored row on a conflict over `index_elements`.

    `update_columns` are overwritten with the incoming values; `update` builds further SET
    expressions (merges such as min/max/sum) from the table and `excluded`; `where` limits which
    stored rows are updated (e.g. only older ones). Rows must not repeat a key within one call:
    PostgreSQL refuses to update the same row twice in one statement.
    """
    if not rows:
        return
    stmt = _insert(session, table)
    excluded = stmt.excluded
    values: dict[str, Any] = {name: excluded[name] for name in update_columns}
    if update is not None:
        values.update(update(table, excluded))
    if not values:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(index_elements))
    else:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(index_elements),
            set_=values,
            where=where(table, excluded) if where is not None else None,
        )
    await session.execute(stmt, list(rows))


async def upsert_from_select(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    select: Select[Any],
    *,
    index_elements: Sequence[str],
    update: UpdateBuilder,
) -> None:
    """INSERT … SELECT with the same conflict handling as `upsert` (used to merge rows in bulk).

    The select must have a WHERE clause: SQLite cannot otherwise tell its ON CONFLICT from a
    join's ON.
    """
    stmt = _insert(session, table).from_select(list(columns), select)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(index_elements), set_=dict(update(table, stmt.excluded))
    )
    await session.execute(stmt)
