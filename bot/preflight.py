"""Checks before the bot starts, each turning a likely day-one mistake into one line with its fix.

The order is the point: the webhook settings, then the Bot API (getMe), then the database, then
the single-instance lock, so a wrong token or address never creates or migrates a database.
A check makes one attempt and says what it saw; retrying a wrong address for 14 s only to blame
the token is what these replace. The exception is a database that is down rather than
misconfigured (PostgreSQL not answering yet, an SQLite file not writable yet, as while a
container or a mount comes up): `wait_for_database` retries that for DATABASE_WAIT_SECONDS,
one log line an attempt. The getMe here is the one Bot API call outside delivery
(invariant 2): before the bot starts there is nothing to queue or pace, and delivery's retries
are what hid the cause.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.config import Settings
from storage.engine import async_url, create_engine

log = logging.getLogger(__name__)

API_TIMEOUT_SECONDS = 10.0
DATABASE_TIMEOUT_SECONDS = 10.0
# Backoff between attempts on a database that is down: doubling from the first, at most the last.
DATABASE_RETRY_FIRST_SECONDS = 1.0
DATABASE_RETRY_MAX_SECONDS = 15.0
# pg_advisory_lock's key for "a groupops runs on this database": "groupops" as 8 bytes.
INSTANCE_LOCK_KEY = int.from_bytes(b"groupops", "big")


class StartupError(Exception):
    """A start-up check failed; the message names the cause and the fix, in one line."""


class DatabaseDown(StartupError):
    """The database is there but not usable yet (not answering, read-only): worth a retry."""


def check_webhook(settings: Settings) -> None:
    """WEBHOOK_URL and WEBHOOK_SECRET are set and WEBHOOK_PORT is free, before anything starts."""
    if not settings.webhook_url or not settings.webhook_secret.get_secret_value():
        raise StartupError(
            "run --webhook needs WEBHOOK_URL (the public HTTPS address Telegram posts to) and "
            "WEBHOOK_SECRET in .env; without them, run without --webhook to poll"
        )
    host, port = settings.webhook_host, settings.webhook_port
    # The same socket options aiohttp's server uses, so "free here" means free for it.
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise webhook_port_error(settings, exc) from exc


def webhook_port_error(settings: Settings, exc: OSError) -> StartupError:
    """The one line for a webhook server that could not listen."""
    where = f"{settings.webhook_host}:{settings.webhook_port}"
    if exc.errno == errno.EADDRINUSE:
        return StartupError(
            f"WEBHOOK_PORT {settings.webhook_port} is in use on {settings.webhook_host} "
            "(another program listens there): set WEBHOOK_PORT to a free port"
        )
    return StartupError(
        f"cannot listen on {where} ({exc.strerror}): check WEBHOOK_HOST and WEBHOOK_PORT"
    )


async def check_bot_api(base: str, token: str) -> dict[str, Any]:
    """The bot's getMe, or the one thing that is wrong: address, TLS, server or token."""
    parts = urlsplit(base)
    where = parts.netloc
    try:
        timeout = aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"{base}/bot{token}/getMe") as response,
        ):
            status = response.status
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
    except aiohttp.ClientSSLError as exc:
        raise StartupError(
            f"TLS failed with {where} (TELEGRAM_API_BASE): it does not speak HTTPS, or its "
            "certificate is not trusted; the simulator and a local Bot API server use http://"
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        raise StartupError(
            f"cannot connect to {where} (TELEGRAM_API_BASE): nothing answers there; start the "
            "simulator or Bot API server, or fix the address"
        ) from exc
    except aiohttp.ServerDisconnectedError as exc:
        hint = " (if it expects HTTPS, use https://)" if parts.scheme == "http" else ""
        raise StartupError(
            f"{where} (TELEGRAM_API_BASE) closed the connection without answering{hint}"
        ) from exc
    except aiohttp.ClientError as exc:
        raise StartupError(
            f"{where} (TELEGRAM_API_BASE) did not answer as HTTP: {exc.__class__.__name__}"
        ) from exc
    except TimeoutError as exc:
        raise StartupError(
            f"{where} (TELEGRAM_API_BASE) did not answer within {API_TIMEOUT_SECONDS:.0f} s"
        ) from exc
    if not isinstance(body, dict) or "ok" not in body:
        raise StartupError(
            f"{where} answered HTTP {status} but is not a Bot API server: check TELEGRAM_API_BASE "
            "(Telegram's is https://api.telegram.org)"
        )
    if status in (401, 404) and not body["ok"]:
        # Telegram answers 401 for a token it does not know and 404 for one it cannot parse.
        raise StartupError(
            f"BOT_TOKEN was refused by {where} ({status} {body.get('description', '')}): copy "
            "it again from @BotFather (or from the simulator's start-up lines)"
        )
    if not body["ok"] or not isinstance(body.get("result"), dict):
        raise StartupError(
            f"getMe failed at {where}: {status} {body.get('description', '')}".rstrip()
        )
    result: dict[str, Any] = body["result"]
    return result


def _sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(database).resolve()


async def check_database(url: str) -> None:
    """The database is reachable and writable, or one line saying which and what to do."""
    url = async_url(url)
    path = _sqlite_file(url) if make_url(url).get_backend_name() == "sqlite" else None
    if path is not None:
        _check_sqlite_path(path)
    engine = create_engine(url, connect_timeout=DATABASE_TIMEOUT_SECONDS)
    try:
        async with engine.connect() as connection:
            if path is None:
                await connection.exec_driver_sql("SELECT 1")
            else:
                # A write that is rolled back: a read-only file fails here, not mid-batch.
                # The driver would commit DDL by itself, so the transaction is spelled out.
                await connection.exec_driver_sql("BEGIN")
                await connection.exec_driver_sql("CREATE TABLE groupops_probe (x INTEGER)")
                await connection.exec_driver_sql("ROLLBACK")
            await connection.rollback()
    except Exception as exc:
        raise _database_error(url, path, exc) from exc
    finally:
        await engine.dispose()


async def wait_for_database(
    url: str,
    within: float,
    *,
    check: Callable[[str], Awaitable[None]] = check_database,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """`check_database`, retried with backoff for up to `within` seconds while the database is
    down (one log line a failed attempt); a misconfigured one fails at once, as does the last
    attempt, with its one line."""
    deadline = clock() + within
    pause = DATABASE_RETRY_FIRST_SECONDS
    attempt = 1
    while True:
        try:
            await check(url)
            return
        except DatabaseDown as exc:
            left = deadline - clock()
            if left <= 0:
                raise
            wait = min(pause, left)
            log.warning("database attempt %d failed: %s; retrying in %.0fs", attempt, exc, wait)
            await sleep(wait)
            pause = min(pause * 2, DATABASE_RETRY_MAX_SECONDS)
            attempt += 1


def _check_sqlite_path(path: Path) -> None:
    if not path.parent.is_dir():
        raise StartupError(
            f"DATABASE_URL names a file in {path.parent}, which does not exist: create it "
            f"(mkdir -p {path.parent}) or point DATABASE_URL elsewhere"
        )
    # SQLite writes its -wal and -shm files beside the database, so the folder must be writable.
    for what, target in (("file", path), ("folder", path.parent)):
        if target.exists() and not os.access(target, os.W_OK):
            raise _read_only(path, what)


def _read_only(path: Path, what: str) -> StartupError:
    return DatabaseDown(
        f"the SQLite database {path} is read-only (its {what}): give the user running groupops "
        "write access to the file and its folder"
    )


def _database_error(url: str, path: Path | None, exc: BaseException) -> StartupError:
    """One line for what the driver raised, found anywhere in the exception's chain."""
    parsed = make_url(url)
    chain = _chain(exc)
    names = {type(link).__name__ for link in chain}
    said = " ".join(str(link) for link in chain).lower()
    if path is not None:
        if "readonly" in said or "read-only" in said:
            return _read_only(path, "file")
        return StartupError(f"cannot open the SQLite database {path}: {chain[-1]}")
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if "InvalidCatalogNameError" in names:
        return StartupError(
            f"PostgreSQL at {where} has no database {parsed.database!r}: create it "
            f"(createdb {parsed.database}) or fix DATABASE_URL"
        )
    if names & {"InvalidPasswordError", "InvalidAuthorizationSpecificationError"}:
        return StartupError(
            f"PostgreSQL at {where} refused user {parsed.username!r}: check the user and "
            "password in DATABASE_URL"
        )
    if any(isinstance(link, (OSError, TimeoutError)) for link in chain) or (
        "CannotConnectNowError" in names  # the server is starting up or shutting down
    ):
        return DatabaseDown(
            f"cannot connect to PostgreSQL at {where}: is it running, and are DATABASE_URL's "
            "host and port right?"
        )
    return StartupError(f"cannot use the database at {where}: {chain[-1]}")


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and its causes, outermost first."""
    seen: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in seen:
        seen.append(link)
        link = link.__cause__ or link.__context__
    return seen


@asynccontextmanager
async def instance_lock(url: str) -> AsyncIterator[None]:
    """Held while the bot runs: a second `groupops run` on the same database stops at once.

    Two bots on one database would both poll the same token and one would die of 409 Conflict
    mid-run. SQLite: an exclusive lock on a file beside the database (released by the OS even
    after kill -9). PostgreSQL: a session advisory lock on a connection held open.
    """
    url = async_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is None:
            yield
            return
        with _file_lock(path):
            yield
        return
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            held = await connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": INSTANCE_LOCK_KEY}
            )
            # Session-level lock: it outlives this transaction, and the connection must not
            # sit idle in a transaction for the whole run.
            await connection.commit()
            if not held:
                raise _another_instance(make_url(url).database or "")
            yield
    finally:
        await engine.dispose()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(f"{path}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise _another_instance(str(path)) from exc
        yield


def _another_instance(database: str) -> StartupError:
    return StartupError(
        f"another groupops is already running on the database {database}: stop it first "
        "(one database serves one running bot)"
    )
