"""The recorder's batches on SQLite, written in one call to a thread of their own.

Through the async engine a batch costs about twenty trips between the event loop and
aiosqlite's thread (a cursor, an execute, a fetch and a close per statement), and SQLAlchemy's
work on each statement's parameters: in the ingest benchmark that was two thirds of the event
loop's time, and each trip waited for the loop, which was busy taking the next updates. Here
the same statements — the Core statements the repositories run, compiled once for SQLite —
are bound and run in one call on a connection that only this store's thread uses, so SQLite
works (without the GIL) while the loop goes on. DESIGN.md, "How an update enters", says why.

A batch is groups, events, users, memberships, the rollups and the decisions about new
messages. Members the batch only saw again are upserted without the columns SQLite indexes
(`_Statements.members_seen`); the full membership fold takes the rest.

The decisions a feature writes itself (a `Write`: open a question, count a promo) are written
in the same transaction, in the same thread, by the features' own code on a unit of work
whose session is this connection through a synchronous SQLAlchemy `Connection`
(`_DrivenSession`): their coroutines never wait for anything else, so `_drive` runs them to
the end without an event loop. A write that does wait raises `WriteSuspended`, and the batch
is written again with its decisions left to the applier. PostgreSQL needs none of this:
asyncpg has no thread to cross, and the server works in its own process.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, create_engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from bot.domain.events import EngagementEvent, EventKind, GroupRef
from bot.domain.watching import Decision
from bot.ports import (
    FeatureWrites,
    IngestWritten,
    StoredDecision,
    StoreFailed,
    WriteSuspended,
)
from storage.analytics import fold_statements
from storage.engine import SQLITE_PRAGMAS, SqliteWriteLock, write_lock
from storage.ledger import chunks
from storage.models import decisions_table, events_table, members_table
from storage.repositories import (
    EVENT_COLUMNS,
    MEMBER_COLUMNS,
    ProfileCache,
    event_values,
    group_rows,
    groups_upsert,
    members_fold_statement,
    merge_membership,
    profile_rows,
    users_upsert,
)
from storage.uow import SqlUnitOfWork
from storage.upsert import insert_ignore_statement

_DIALECT = sqlite.dialect(paramstyle="qmark")
_T = TypeVar("_T")
Processor = Callable[[Any], Any] | None


def _processor(type_: Any) -> Processor:
    """How SQLAlchemy binds a value of `type_` on SQLite (a timestamp as its stored text)."""
    processor: Processor = type_.dialect_impl(_DIALECT).bind_processor(_DIALECT)
    return processor


def _extend(values: list[Any], processors: Sequence[Processor], row: Iterable[Any]) -> None:
    """Add `row`'s values to `values`, each through its column type's processor, as SQLAlchemy
    binds them."""
    for process, value in zip(processors, row, strict=True):
        values.append(value if process is None else process(value))


class _Bound:
    """A Core statement compiled once for SQLite, bound to positional parameters by hand.

    Values go through each column type's own bind processor (a timestamp becomes the text
    SQLAlchemy stores), and expanding parameters (`IN :ids`) are spelled out, as SQLAlchemy
    does when it executes. Every parameter must be given, or be a literal in the statement.
    """

    def __init__(self, statement: Any) -> None:
        compiled = statement.compile(dialect=_DIALECT)
        self._sql = compiled.string
        self._names: list[str] = list(compiled.positiontup or ())
        self._literals = dict(compiled.params)
        binds = compiled.binds
        self._expanding = {name for name in self._names if binds[name].expanding}
        self._processors: dict[str, Processor] = {
            name: _processor(binds[name].type) for name in self._names
        }
        self._sql_by_length: dict[tuple[int, ...], str] = {}

    def bind(self, given: Mapping[str, Any]) -> tuple[str, list[Any]]:
        values: list[Any] = []
        lengths: list[int] = []
        for name in self._names:
            value = given[name] if name in given else self._literals[name]
            process = self._processors[name]
            if name in self._expanding:
                lengths.append(len(value))
                values.extend(value if process is None else [process(v) for v in value])
            else:
                values.append(value if process is None else process(value))
        key = tuple(lengths)
        sql = self._sql_by_length.get(key)
        if sql is None:
            sql = self._sql
            for name in self._expanding:
                count = len(given[name] if name in given else self._literals[name])
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * count))
            self._sql_by_length[key] = sql
        return sql, values


class _Rows:
    """An INSERT of many rows in one statement (its VALUES repeated), with RETURNING."""

    def __init__(self, statement: Any, table: Table, columns: Sequence[str]) -> None:
        compiled = statement.compile(dialect=_DIALECT, column_keys=list(columns))
        if list(compiled.positiontup or ()) != list(columns):
            raise ValueError(f"{table.name}: the statement binds {compiled.positiontup}")
        head, rest = compiled.string.split(" VALUES ", 1)
        end = rest.index(")") + 1
        self._head, self._row, self._tail = f"{head} VALUES ", rest[:end], rest[end:]
        if self._row != "(" + ", ".join("?" * len(columns)) + ")":
            raise ValueError(f"{table.name}: unexpected VALUES {self._row}")
        self.processors: list[Processor] = [_processor(table.c[name].type) for name in columns]
        self._sql_by_count: dict[int, str] = {}

    def sql(self, count: int) -> str:
        sql = self._sql_by_count.get(count)
        if sql is None:
            sql = self._sql_by_count[count] = (
                self._head + ", ".join([self._row] * count) + self._tail
            )
        return sql


class _Many:
    """An upsert run with executemany, one row of positional values per mapping."""

    def __init__(self, statement: Any, table: Table, columns: Sequence[str]) -> None:
        compiled = statement.compile(dialect=_DIALECT, column_keys=list(columns))
        self.sql = compiled.string
        self._names = list(compiled.positiontup or ())
        defaults: dict[str, Any] = {}
        for name in self._names:
            if name in columns:
                continue
            default = table.c[name].default
            if default is None or not default.is_scalar:  # a callable default: not supported
                raise ValueError(f"{table.name}.{name} must be given")
            defaults[name] = default.arg
        self._defaults = defaults
        self._processors = [_processor(table.c[name].type) for name in self._names]

    def values(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
        out = []
        names, defaults = self._names, self._defaults
        for row in rows:
            values: list[Any] = []
            _extend(
                values,
                self._processors,
                [row[name] if name in row else defaults[name] for name in names],
            )
            out.append(values)
        return out


@dataclass(slots=True)
class _Batch:
    groups: list[dict[str, Any]]
    users: list[dict[str, Any]]
    events: list[EngagementEvent]  # unique, sorted by dedup key (the order ids are given in)
    arrived: list[EngagementEvent]  # the same, in batch order (the order decisions are kept in)
    decisions: Mapping[str, Sequence[tuple[str, Decision]]]
    now: datetime
    feature_writes: FeatureWrites | None


class _Statements:
    """Everything a batch runs, compiled once (in the store's thread, at its first batch)."""

    @cached_property
    def groups(self) -> _Many:
        statement, columns = groups_upsert("sqlite")
        return _Many(statement, statement.table, columns)

    @cached_property
    def users(self) -> _Many:
        statement, columns = users_upsert("sqlite")
        return _Many(statement, statement.table, columns)

    @cached_property
    def events(self) -> _Rows:
        statement = insert_ignore_statement("sqlite", events_table, ("dedup_key", "id"))
        return _Rows(statement, events_table, EVENT_COLUMNS)

    @cached_property
    def members(self) -> _Bound:
        return _Bound(members_fold_statement("sqlite"))

    @cached_property
    def members_seen(self) -> _Rows:
        """Members seen again (no join, leave or kick in the batch, nothing earlier than
        stored): `merge_membership`'s last-seen time and message count, the only columns it
        changes for them. Setting none of the indexed columns, SQLite leaves the members'
        indexes alone. A row it does not update (seen earlier than stored) is not returned."""
        insert = sqlite_insert(members_table)
        merged = merge_membership(members_table, insert.excluded)
        m = members_table.c
        statement = insert.on_conflict_do_update(
            index_elements=["chat_id", "user_id"],
            set_={name: merged[name] for name in _SEEN_AGAIN},
            where=insert.excluded.first_seen_at >= m.first_seen_at,
        ).returning(m.chat_id, m.user_id)
        rows = _Rows(statement, members_table, _SEEN_COLUMNS)
        # Rows are bound as given: times as the events stored them, nothing else processed.
        for name, process in zip(_SEEN_COLUMNS, rows.processors, strict=True):
            if process is not None and not name.endswith("_at"):
                raise ValueError(f"members.{name} needs its bind processor")
        return rows

    @cached_property
    def folds(self) -> list[_Bound]:
        return [_Bound(statement) for statement in fold_statements("sqlite")]

    @cached_property
    def decisions(self) -> _Rows:
        d = decisions_table.c
        statement = decisions_table.insert().returning(d.id)
        return _Rows(statement, decisions_table, _DECISION_COLUMNS)

    @cached_property
    def decision_params(self) -> Callable[[Any], Any]:
        read = decisions_table.c.params.type.dialect_impl(_DIALECT).result_processor(_DIALECT, None)
        return read if read is not None else (lambda value: value)


_DECISION_COLUMNS = ("chat_id", "message_id", "watcher", "action", "params", "created_at")
# What a batch changes of a member it only saw post, react or edit (see `members_seen`).
_SEEN_AGAIN = ("last_seen_at", "message_count")
# The fold's columns in the table's order (the order SQLAlchemy binds them in).
_SEEN_COLUMNS = tuple(c.name for c in members_table.columns if c.name in MEMBER_COLUMNS)
_MEMBERSHIP_KINDS = frozenset({EventKind.JOIN, EventKind.LEAVE, EventKind.KICK})
_OCCURRED_AT = EVENT_COLUMNS.index("occurred_at")
_BATCH_ROWS = 500  # rows per multi-row INSERT: under SQLite's bound-parameter limit (32,766)


class SqliteIngestStore:
    """Writes the recorder's batches on its own SQLite connection, in its own thread.

    The connection takes the engine's `SqliteWriteLock` for each batch, like every connection
    of the engine, so writers still take turns in order; the lock is held from before the
    profiles are read until the commit, as a unit of work holds it (an erasure committed in
    between would otherwise leave a member without their user row).
    """

    def __init__(self, engine: AsyncEngine, profiles: ProfileCache) -> None:
        if not self.available(engine):
            raise ValueError("an SQLite database file is needed")
        lock = write_lock(engine)
        if lock is None:
            raise ValueError("the engine has no write lock: make it with storage.engine")
        self._path = str(engine.url.database)
        self._lock: SqliteWriteLock = lock
        self._profiles = profiles
        self._thread: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None
        # SQLAlchemy's view of the same connection, for features' writes. The store begins and
        # ends the transactions (the view's are no-ops: pysqlite begins nothing itself, and a
        # rollback or commit outside a transaction does nothing).
        self._driven: Connection | None = None
        self._statements = _Statements()

    @classmethod
    def available(cls, engine: AsyncEngine) -> bool:
        """Whether `engine` is an SQLite file this store can write to."""
        path = engine.url.database
        return engine.dialect.name == "sqlite" and bool(path) and path != ":memory:"

    async def write(
        self,
        groups: Sequence[GroupRef],
        events: Sequence[EngagementEvent],
        decisions: Mapping[str, Sequence[tuple[str, Decision]]],
        now: datetime,
        feature_writes: FeatureWrites | None = None,
    ) -> IngestWritten:
        """Store `events` (and `groups` first); return those that were new, in batch order,
        and the decisions stored about them (those in `decisions` under a new event's key, or
        what `feature_writes` returned for them)."""
        unique: dict[str, EngagementEvent] = {}
        for event in events:
            unique.setdefault(event.dedup_key, event)
        # The thread reads its own copy: the recorder goes on adding to its dict meanwhile.
        decided_about = {key: decisions[key] for key in unique if key in decisions}
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-ingest")
        async with self._lock.holding():
            users, profiles = profile_rows(unique.values(), self._profiles)
            batch = _Batch(
                group_rows(groups, now),
                users,
                [unique[key] for key in sorted(unique)],
                list(unique.values()),
                decided_about,
                now,
                feature_writes,
            )
            new_keys, decided = await loop.run_in_executor(self._thread, self._write, batch)
            self._profiles.publish(profiles)
        return IngestWritten([event for key, event in unique.items() if key in new_keys], decided)

    async def close(self) -> None:
        """Close the connection (in its thread) and stop the thread; a later write opens both
        again."""
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(thread, self._close)
            thread.shutdown(wait=False)

    # --- in the store's thread --------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        for pragma in SQLITE_PRAGMAS:
            connection.execute(pragma)
        # SQLAlchemy's first use of a connection ends with a rollback: made here, before any
        # transaction of the store's.
        engine = create_engine(
            "sqlite://", creator=lambda: connection, poolclass=StaticPool, hide_parameters=True
        )
        self._driven = engine.connect()
        self._connection = connection
        return connection

    def _close(self) -> None:
        if self._driven is not None:
            self._driven.close()
            self._driven.engine.dispose()
            self._driven = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _write(self, batch: _Batch) -> tuple[set[str], list[StoredDecision]]:
        try:
            connection = self._connection or self._open()
            connection.execute("BEGIN IMMEDIATE")
            try:
                written = self._statements_for(connection, batch)
                connection.execute("COMMIT")
            except BaseException:
                self._roll_back(connection)
                raise
        except _FromFeatures as raised:
            raise raised.original from None  # the recorder's own to judge
        except sqlite3.Error as exc:
            # Raised as the engine raises them (OperationalError, IntegrityError…, parameters
            # hidden), so callers tell passing faults from refused data the same way.
            raise DBAPIError.instance(
                None, None, exc, sqlite3.Error, hide_parameters=True, dialect=_DIALECT
            ) from exc
        except Exception as exc:
            # Not the database refusing anything: a fault of the store's own, which must not
            # cost the batch's events (the recorder writes it through a unit of work instead).
            raise StoreFailed(f"the ingest store failed: {type(exc).__name__}") from exc
        return written

    def _roll_back(self, connection: sqlite3.Connection) -> None:
        try:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
        except sqlite3.Error:
            self._close()  # opened afresh for the next batch

    def _statements_for(
        self, connection: sqlite3.Connection, batch: _Batch
    ) -> tuple[set[str], list[StoredDecision]]:
        s = self._statements
        if batch.groups:
            connection.executemany(s.groups.sql, s.groups.values(batch.groups))
        inserted: list[tuple[str, int]] = []
        processors = s.events.processors
        stored_at: dict[str, Any] = {}  # each event's time as stored (the folds compare these)
        width = len(EVENT_COLUMNS)
        for start in range(0, len(batch.events), _BATCH_ROWS):
            part = batch.events[start : start + _BATCH_ROWS]
            values: list[Any] = []
            for event in part:
                _extend(values, processors, event_values(event))
            for n, event in enumerate(part):
                stored_at[event.dedup_key] = values[n * width + _OCCURRED_AT]
            inserted.extend(connection.execute(s.events.sql(len(part)), values).fetchall())
        if batch.users:
            # After the events (as the unit of work does it), before the memberships.
            connection.executemany(s.users.sql, s.users.values(batch.users))
        ids = sorted(event_id for _, event_id in inserted)
        # The memberships first (as the unit of work folds them), then the rollups.
        for chunk in chunks(self._members_seen_again(connection, batch, inserted, stored_at)):
            connection.execute(*s.members.bind(_fold_params(chunk)))
        for chunk in chunks(ids):  # as the unit of work's folds take them
            params = _fold_params(chunk)
            for fold in s.folds:
                connection.execute(*fold.bind(params))
        new_keys = {key for key, _ in inserted}
        pairs = [
            pair
            for event in batch.arrived
            if event.dedup_key in new_keys
            for pair in batch.decisions.get(event.dedup_key, ())
        ]
        if pairs and batch.feature_writes is not None:
            driven = self._driven
            assert driven is not None  # opened with the connection
            unit = SqlUnitOfWork(lambda: _DrivenSession(driven))  # type: ignore[arg-type]
            _drive(unit.__aenter__())
            try:
                pairs = _drive(batch.feature_writes(unit, pairs))
            except Exception as exc:
                raise _FromFeatures(exc) from exc
        return new_keys, self._store_decisions(connection, pairs, batch.now)

    def _members_seen_again(
        self,
        connection: sqlite3.Connection,
        batch: _Batch,
        inserted: list[tuple[str, int]],
        stored_at: Mapping[str, Any],
    ) -> list[int]:
        """Write the members this batch only saw again (see `_Statements.members_seen`), new
        members among them; return the ids of the new events the full fold must still take
        (the members who joined, left or were kicked, and those seen earlier than stored)."""
        by_key = {event.dedup_key: event for event in batch.events}
        seen: dict[tuple[int, int], list[Any]] = {}  # first and last seen, messages
        changed: set[tuple[int, int]] = set()
        events: dict[tuple[int, int], list[int]] = {}
        message = EventKind.MESSAGE
        for key, event_id in inserted:
            event = by_key[key]
            actor = event.actor
            if actor is None:
                continue  # anonymous: no membership (the fold's WHERE)
            member = (event.group.chat_id, actor.user_id)
            ids = events.get(member)
            if ids is None:
                events[member] = [event_id]
            else:
                ids.append(event_id)
            kind = event.kind
            if kind in _MEMBERSHIP_KINDS:
                changed.add(member)
                continue
            at = stored_at[key]
            row = seen.get(member)
            if row is None:
                seen[member] = [at, at, 1 if kind is message else 0]
            else:
                if at < row[0]:
                    row[0] = at
                if at > row[1]:
                    row[1] = at
                if kind is message:
                    row[2] += 1
        rows = [
            [
                {
                    "chat_id": member[0],
                    "user_id": member[1],
                    "first_seen_at": first,
                    "last_seen_at": last,
                    "message_count": messages,
                    "status": "member",
                }.get(name)  # joined_at, left_at, the inviter and link: no such event
                for name in _SEEN_COLUMNS
            ]
            for member, (first, last, messages) in sorted(seen.items())
            if member not in changed
        ]
        written: set[tuple[int, int]] = set()
        s = self._statements.members_seen
        for start in range(0, len(rows), _BATCH_ROWS):
            part = rows[start : start + _BATCH_ROWS]
            # As stored already: times are the events' stored text, the rest bound as they are.
            values = [value for seen_row in part for value in seen_row]
            written.update(connection.execute(s.sql(len(part)), values).fetchall())
        return sorted(
            event_id
            for member, member_events in events.items()
            if member not in written
            for event_id in member_events
        )

    def _store_decisions(
        self, connection: sqlite3.Connection, pairs: list[tuple[str, Decision]], now: datetime
    ) -> list[StoredDecision]:
        if not pairs:
            return []
        s = self._statements.decisions
        read = self._statements.decision_params
        stored: list[StoredDecision] = []
        for start in range(0, len(pairs), _BATCH_ROWS):
            part = pairs[start : start + _BATCH_ROWS]
            values: list[Any] = []
            for watcher, decision in part:
                row = (
                    decision.chat_id,
                    decision.message_id,
                    watcher,
                    decision.action,
                    dict(decision.params),
                    now,
                )
                _extend(values, s.processors, row)
            # Ids are given in the order of the VALUES rows; RETURNING's order is SQLite's own.
            ids = sorted(row[0] for row in connection.execute(s.sql(len(part)), values))
            # As stored: the parameters read back the way a unit of work reads them.
            params = [read(value) for value in values[4 :: len(_DECISION_COLUMNS)]]
            stored.extend(
                StoredDecision(
                    decision_id,
                    watcher,
                    Decision(decision.action, decision.chat_id, decision.message_id, stored_params),
                )
                for decision_id, (watcher, decision), stored_params in zip(
                    ids, part, params, strict=True
                )
            )
        return sorted(stored, key=lambda s: s.id)


def _fold_params(ids: Sequence[int]) -> dict[str, Any]:
    return {"ids": ids, "first_id": ids[0], "last_id": ids[-1]}


class _FromFeatures(Exception):
    """What the features' writes raised, carried past the store's own error handling."""

    def __init__(self, original: Exception) -> None:
        super().__init__(original)
        self.original = original


class _DrivenSession:
    """What repositories ask of an `AsyncSession`, answered at once by a synchronous
    `Connection`: their coroutines then finish without waiting (see `_drive`). The store owns
    the transaction: a unit of work on this session neither commits nor rolls back."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    async def execute(self, statement: Any, params: Any = None, **options: Any) -> Any:
        return self._connection.execute(statement, params, **options)

    async def scalar(self, statement: Any, params: Any = None, **options: Any) -> Any:
        return self._connection.scalar(statement, params, **options)

    async def scalars(self, statement: Any, params: Any = None, **options: Any) -> Any:
        return self._connection.scalars(statement, params, **options)

    def get_bind(self) -> Connection:
        return self._connection

    async def commit(self) -> None:
        raise RuntimeError("a feature's write commits with its batch, not on its own")

    async def rollback(self) -> None:
        pass  # the store rolls the batch back if anything raises

    async def close(self) -> None:
        pass


def _drive(awaitable: Awaitable[_T]) -> _T:
    """Run a coroutine that never suspends (all it awaits answers at once) to its result."""
    steps = awaitable.__await__()
    try:
        next(steps)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    steps.close()
    raise WriteSuspended("a feature's write waited for something besides its unit of work")
