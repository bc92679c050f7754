"""The one place with dialect-specific SQL: batched INSERT … ON CONFLICT (SQLite, PostgreSQL),
the median of an interval, which PostgreSQL computes in one aggregate and SQLite does not, and
the UTC hour, date and hour of day of a stored timestamp (the rollups' keys, folded in SQL)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Date, DateTime, Float, Integer, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

Row = Mapping[str, Any]
# Build the SET clause (merges such as min/max/sum) or the WHERE of an upsert from the target
# table and the `excluded` pseudo-table. Pass module-level functions: statements are cached on
# them, and a new lambda per call would rebuild the statement every batch.
UpdateBuilder = Callable[[Table, Any], Mapping[str, Any]]
WhereBuilder = Callable[[Table, Any], ColumnElement[bool]]
# Builds the SELECT of an INSERT … SELECT upsert; cached like the builders above.
SelectBuilder = Callable[[], Select[Any]]


def _insert(dialect: str, table: Table) -> Any:
    """A dialect insert construct; both offer the same on_conflict_* API."""
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"no upsert for dialect {dialect!r}")


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


# Building these statements (large CASE expressions) costs more than running them on a batch
# of 100 rows, so each shape is built once per process.
@cache
def insert_ignore_statement(dialect: str, table: Table, returning: tuple[str, ...]) -> Any:
    stmt = _insert(dialect, table).on_conflict_do_nothing()
    if returning:
        stmt = stmt.returning(*(table.c[name] for name in returning))
    return stmt


@cache
def upsert_statement(
    dialect: str,
    table: Table,
    index_elements: tuple[str, ...],
    update_columns: tuple[str, ...],
    update: UpdateBuilder | None,
    where: WhereBuilder | None,
) -> Any:
    stmt = _insert(dialect, table)
    excluded = stmt.excluded
    values: dict[str, Any] = {name: excluded[name] for name in update_columns}
    if update is not None:
        values.update(update(table, excluded))
    if not values:
        return stmt.on_conflict_do_nothing(index_elements=list(index_elements))
    return stmt.on_conflict_do_update(
        index_elements=list(index_elements),
        set_=values,
        where=where(table, excluded) if where is not None else None,
    )


async def insert_ignore(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Row],
    *,
    returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert `rows` in one batched statement, skipping any that conflict with a unique key.

    Returns the `returning` columns of the rows actually inserted: RETURNING yields only new rows
    on both databases, whereas executemany rowcounts are not reliable across drivers.
    """
    if not rows:
        return []
    stmt = insert_ignore_statement(_dialect(session), table, tuple(returning))
    result = await session.execute(stmt, list(rows))
    return [tuple(row) for row in result.all()] if returning else []


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Row],
    *,
    index_elements: Sequence[str],
    update_columns: Sequence[str] = (),
    update: UpdateBuilder | None = None,
    where: WhereBuilder | None = None,
) -> None:
    """Insert `rows`, or update the stored row on a conflict over `index_elements`.

    `update_columns` are overwritten with the incoming values; `update` builds further SET
    expressions; `where` limits which stored rows are updated (e.g. only older ones). Rows must
    not repeat a key within one call: PostgreSQL refuses to update the same row twice in one
    statement.
    """
    if not rows:
        return
    stmt = upsert_statement(
        _dialect(session), table, tuple(index_elements), tuple(update_columns), update, where
    )
    await session.execute(stmt, list(rows))


def _from_select_statement(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    select: Select[Any],
    index_elements: tuple[str, ...],
    update: UpdateBuilder,
) -> Any:
    stmt = _insert(dialect, table).from_select(list(columns), select)
    return stmt.on_conflict_do_update(
        index_elements=list(index_elements), set_=dict(update(table, stmt.excluded))
    )


# Keyed on the select *builder* (a module-level function), so the statement is built once.
@cache
def built_from_select_statement(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    build_select: SelectBuilder,
    index_elements: tuple[str, ...],
    update: UpdateBuilder,
) -> Any:
    return _from_select_statement(dialect, table, columns, build_select(), index_elements, update)


async def upsert_from_select(
    session: AsyncSession,
    table: Table,
    columns: Sequence[str],
    select: Select[Any] | SelectBuilder,
    *,
    index_elements: Sequence[str],
    update: UpdateBuilder,
    params: Mapping[str, Any] | None = None,
) -> None:
    """INSERT … SELECT with the same conflict handling as `upsert` (used to merge rows in bulk).

    `select` is either a statement or a module-level function building one: the statement it
    builds is then made once per process and run with `params` (bind parameters, e.g. an
    expanding IN list), which spares rebuilding a large statement every batch. The select must
    have a WHERE clause: SQLite cannot otherwise tell its ON CONFLICT from a join's ON. Its rows
    must not repeat a key (PostgreSQL refuses to update the same row twice in one statement).
    """
    dialect = _dialect(session)
    if isinstance(select, Select):
        stmt = _from_select_statement(
            dialect, table, tuple(columns), select, tuple(index_elements), update
        )
    else:
        stmt = built_from_select_statement(
            dialect, table, tuple(columns), select, tuple(index_elements), update
        )
    await session.execute(stmt, dict(params) if params is not None else None)


async def median_interval(
    session: AsyncSession,
    start: ColumnElement[Any],
    end: ColumnElement[Any],
    where: Sequence[ColumnElement[bool]],
    count: int,
) -> timedelta | None:
    """The median of `end - start` over the `count` rows `where` selects with `end` set (the
    mean of the middle two for an even count); None when there is none.

    PostgreSQL computes it exactly in one aggregate; SQLite sorts the waits, each exact to the
    microsecond (`seconds_between`), and reads only the middle one or two.
    """
    where = [*where, end.is_not(None)]
    if _dialect(session) == "postgresql":
        median: timedelta | None = await session.scalar(
            select(func.percentile_cont(0.5).within_group(end - start)).where(*where)
        )
        return median
    if not count:
        return None
    wait = seconds_between(start, end)
    middle = (
        await session.scalars(
            select(wait).where(*where).order_by(wait).offset((count - 1) // 2).limit(2 - count % 2)
        )
    ).all()
    return timedelta(seconds=sum(middle) / len(middle))


# --- UTC parts of a stored timestamp --------------------------------------------------------
# SQLite stores a timestamp as naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's
# format, microseconds always written), so its parts are substrings, and an hour written back
# must keep that exact form: the text comparisons of reports would otherwise miss it.
# PostgreSQL's are computed in UTC whatever the session's time zone.


class utc_hour(FunctionElement[datetime]):
    """The start of the UTC hour a timestamp column falls in, stored as the column stores it."""

    type = DateTime(timezone=True)
    inherit_cache = True


class utc_date(FunctionElement[date]):
    """The UTC date of a timestamp column."""

    type = Date()
    inherit_cache = True


class utc_hour_of_day(FunctionElement[int]):
    """The UTC hour of day (0–23) of a timestamp column."""

    type = Integer()
    inherit_cache = True


def _argument(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(utc_hour, "sqlite")
def _sqlite_utc_hour(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({_argument(element, compiler, **kw)}, 1, 13) || ':00:00.000000'"


@compiles(utc_date, "sqlite")
def _sqlite_utc_date(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({_argument(element, compiler, **kw)}, 1, 10)"


@compiles(utc_hour_of_day, "sqlite")
def _sqlite_utc_hour_of_day(element: utc_hour_of_day, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(substr({_argument(element, compiler, **kw)}, 12, 2) AS INTEGER)"


@compiles(utc_hour, "postgresql")
def _pg_utc_hour(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    column = _argument(element, compiler, **kw)
    return f"(date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')"


@compiles(utc_date, "postgresql")
def _pg_utc_date(element: utc_date, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({_argument(element, compiler, **kw)} AT TIME ZONE 'UTC' AS DATE)"


@compiles(utc_hour_of_day, "postgresql")
def _pg_utc_hour_of_day(element: utc_hour_of_day, compiler: SQLCompiler, **kw: Any) -> str:
    column = _argument(element, compiler, **kw)
    return f"CAST(extract(hour FROM {column} AT TIME ZONE 'UTC') AS INTEGER)"


class seconds_between(FunctionElement[float]):
    """`end - start` in seconds, exact to the microsecond, of two timestamp columns."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _sqlite_seconds_between(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    # Whole seconds from the date functions; the microseconds from the text (SQLite's own
    # functions resolve milliseconds).
    return (
        f"((CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER)) "
        f"+ (CAST(substr({end}, 21, 6) AS INTEGER) - CAST(substr({start}, 21, 6) AS INTEGER))"
        " / 1000000.0)"
    )


@compiles(seconds_between, "postgresql")
def _pg_seconds_between(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM {end} - {start}) AS DOUBLE PRECISION)"
