"""Builds the async engine (SQLite tuned for a single-process bot, or PostgreSQL) and sessions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine
from sqlalchemy.util import await_only

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Checkpoints (copying the WAL back into the database) run on their own connection every few
# seconds (`checkpoint`, scheduled by the app), beside the ingest writer. But a passive
# checkpoint beside a writer that commits without a pause never restarts the WAL (it restarts
# only once every frame is copied), so SQLite's own checkpoint on commit does that, at this
# size: SQLite's default, about 4 MB of 4 KiB pages, the few frames the periodic checkpoint has
# not copied yet. At 40,000 pages (160 MB) the WAL grew to it within seconds in the ingest
# benchmark, and the commit that checkpointed it took 97 ms over 5M events (43 ms at 1,000;
# commit-wait p99 11–13 ms against 15–19 on the empty table).
SQLITE_CHECKPOINT_SECONDS = 2
SQLITE_AUTOCHECKPOINT_PAGES = 1_000

# WAL lets readers (reports, the dashboard) run while the ingest writer commits. FULL
# synchronous syncs the WAL at every commit: an offset is confirmed to Telegram only once its
# events are on disk, so not even an OS crash or a file system gone read-only loses confirmed
# events (NORMAL lost about 3 s of confirmed traffic that way). One sync per batch of 100.
# Temporary tables and sorters stay in memory: an ingest batch's INSERT … RETURNING collects
# its rows in one, and the membership fold sorts and groups in them; as files they cost about a
# quarter of its SQLite time.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA temp_store=MEMORY",
    f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    # A batch inserts into the events indexes at keys spread over the whole table: with the
    # default 2 MB page cache a big table re-reads index pages on every commit.
    "PRAGMA cache_size=-65536",
    "PRAGMA mmap_size=268435456",
    # Erased text is overwritten in the file, not only unlinked from it (with `scrub`).
    "PRAGMA secure_delete=ON",
)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


class SqliteWriteLock:
    """One writing transaction at a time among this process's SQLite connections, queued in
    order on the event loop.

    SQLite lets one connection write at a time; the others, left to themselves, meet a locked
    database and poll it from SQLite's busy handler, sleeping up to 100 ms between tries. Behind
    a busy ingest writer, which takes the lock again every few milliseconds, such a writer can
    miss every free moment and stall for seconds (a readiness note took 800 ms to write), and
    each retry sleeps where a queue would have woken it. So a connection takes this lock before
    its first write (pysqlite starts the transaction there) and gives it back when it returns
    to the pool, just after its commit or rollback. Reads never take it: WAL lets them run
    beside the writer.
    """

    def __init__(self, timeout: float) -> None:
        self._lock = asyncio.Lock()
        self._timeout = timeout
        self.waits = 0  # writes that found another transaction writing

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        for name in ("checkin", "invalidate", "soft_invalidate", "close"):
            event.listen(engine.sync_engine.pool, name, self._released)

    @property
    def held(self) -> bool:
        return self._lock.locked()

    @contextlib.asynccontextmanager
    async def holding(self) -> AsyncIterator[None]:
        """Hold the lock for a write made outside the engine's connections (the SQLite ingest
        store's own connection)."""
        if self._lock.locked():
            self.waits += 1
        await self._acquire()
        try:
            yield
        finally:
            self._lock.release()

    def _before_execute(
        self, conn: Any, _cursor: Any, statement: str, *_args: Any, **_kwargs: Any
    ) -> None:
        if conn.info.get(_HOLDS_WRITE_LOCK) or _reads(statement):
            return
        if self._lock.locked():
            self.waits += 1
        # Runs inside SQLAlchemy's greenlet, so it may wait on the event loop like the driver.
        await_only(self._acquire())
        conn.info[_HOLDS_WRITE_LOCK] = True

    async def _acquire(self) -> None:
        if not self._lock.locked():
            # Free: taken at once. `wait_for` would first schedule a task of its own, which
            # runs only once the event loop comes round again (1.5 ms a batch while the
            # intake takes a burst of updates).
            await self._lock.acquire()
            return
        try:
            await asyncio.wait_for(self._lock.acquire(), self._timeout)
        except TimeoutError:
            # As SQLite's busy timeout would have ended it: a passing fault, retried by callers.
            raise PoolTimeoutError(
                f"another transaction held the database for {self._timeout:.0f} s"
            ) from None

    def _released(self, _dbapi_connection: Any, record: Any, *_args: Any) -> None:
        info = getattr(record, "info", None)
        if info is not None and info.pop(_HOLDS_WRITE_LOCK, False):
            self._lock.release()


_HOLDS_WRITE_LOCK = "groupops_holds_write_lock"
_WRITE_LOCKS: WeakKeyDictionary[Engine, SqliteWriteLock] = WeakKeyDictionary()


def write_lock(engine: AsyncEngine) -> SqliteWriteLock | None:
    """The write lock of an SQLite engine made by `create_engine` (None on PostgreSQL)."""
    return _WRITE_LOCKS.get(engine.sync_engine)


_READS = ("SELECT", "PRAGMA")


def _reads(statement: str) -> bool:
    return statement.lstrip()[:6].upper().startswith(_READS)


_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """`url` with the async driver filled in when it names none (`postgresql://…`)."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        return url
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def create_engine(
    url: str, *, echo: bool = False, connect_timeout: float | None = None
) -> AsyncEngine:
    """Create the async engine for `url` (`sqlite+aiosqlite://…` or `postgresql+asyncpg://…`);
    `connect_timeout` bounds how long PostgreSQL may take to answer a connection."""
    url = async_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        # hide_parameters: SQL logs and errors never carry what members wrote or their names.
        engine = _create_async_engine(url, echo=echo, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        lock = _WRITE_LOCKS[engine.sync_engine] = SqliteWriteLock(SQLITE_BUSY_TIMEOUT_MS / 1000)
        lock.install(engine)
        return engine
    if backend == "postgresql":
        return _create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,  # survive a server restart without failing the next batch
            pool_recycle=1800,
            connect_args={} if connect_timeout is None else {"timeout": connect_timeout},
        )
    raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")


async def checkpoint(engine: AsyncEngine) -> None:
    """Copy what the SQLite WAL holds back into the database, without waiting for anyone
    (a no-op on PostgreSQL, which checkpoints by itself)."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


async def scrub(engine: AsyncEngine) -> None:
    """After an erasure: copy the WAL back and truncate it, so erased text leaves no copy in
    `<db>-wal` (a no-op on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for units of work; objects stay readable after commit (no lazy reloads)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
