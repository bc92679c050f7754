"""`groupops run` as a child process against the in-process simulator, for fault tests.

A fault test needs the bot in its own process: a SIGKILL, a file made read-only under it or a
SIGTERM must hit the real bot, not a task the test shares its loop with. The verdicts read the
simulator (what Telegram still holds, what the bot sent) and the database (what was stored).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.domain.events import EventKind
from simulator import BotAccount, Simulator
from storage.engine import create_engine
from storage.models import events_table

# Issue 15: SIGTERM finishes within 10 s, whatever is failing or queued.
STOP_LIMIT = 10.0
START_LIMIT = 60.0  # start-up includes migrating a fresh database on a loaded machine
MESSAGE = EventKind.MESSAGE.value


def child_env(sim: Simulator, bot: BotAccount, db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a bot polling `sim` on `db_url`; nothing from the caller's settings."""
    clean = {k: v for k, v in os.environ.items() if k not in Settings.model_fields_upper()}
    return {
        **clean,
        "BOT_TOKEN": bot.token,
        "TELEGRAM_API_BASE": sim.url,
        "DATABASE_URL": db_url,
        "AUTO_MIGRATE": "true",
        "LOG_LEVEL": "INFO",
        **extra,
    }


class BotRun:
    """One `groupops run` child, its output in a log file the verdicts can read."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the bot and wait until it says it has started (its polling begins then)."""
        await self.launch()
        await self.until("it has started", lambda: "started as @" in self.log(), START_LIMIT)

    async def launch(self) -> None:
        """Start the process, not waiting for anything."""
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                env=self.env,
                cwd=self.log_path.parent,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    async def until(
        self,
        what: str,
        check: Callable[[], bool] | Callable[[], Awaitable[bool]],
        limit: float = 30.0,
    ) -> None:
        """Wait until `check` holds; fail with the bot's log if it never does or the bot exits.

        `limit` only guards against a hang: the verdicts are about state, not how long it took.
        """
        deadline = time.monotonic() + limit
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            if not self.running:
                code = self.proc.returncode if self.proc else None
                pytest.fail(f"groupops exited ({code}) before {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: not within {limit:.0f}s\n{self.tail()}")
            await asyncio.sleep(0.05)

    async def terminate(self) -> int:
        """SIGTERM; the exit code, failing the test if the bot is still running STOP_LIMIT later."""
        assert self.proc is not None and self.running, "the bot is not running"
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout=STOP_LIMIT)
        except TimeoutError:
            pytest.fail(f"SIGTERM: still running after {STOP_LIMIT:.0f}s\n{self.tail()}")

    async def kill(self) -> None:
        """SIGKILL and reap."""
        assert self.proc is not None
        if self.running:
            os.kill(self.proc.pid, signal.SIGKILL)
        await self.proc.wait()

    async def cleanup(self) -> None:
        """Leave nothing running, whatever the test did."""
        if self.proc is not None and self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()


def problems(log: str) -> list[str]:
    """Tracebacks and unexpected crashes in a run's log."""
    return [line for line in log.splitlines() if "Traceback" in line or "CRITICAL" in line]


async def stored_messages(engine: AsyncEngine, chat_id: int) -> list[int]:
    """The message ids of a chat's message events, one per stored row (doubles show twice)."""
    e = events_table.c
    query = select(e.message_id).where(e.chat_id == chat_id, e.kind == MESSAGE)
    async with engine.connect() as connection:
        return list((await connection.execute(query)).scalars())


def unconfirmed_messages(sim: Simulator, bot_id: int, chat_id: int) -> set[int]:
    """Message ids of `chat_id` whose update Telegram still holds (so will send again)."""
    return {
        u.payload["message_id"]
        for u in sim.bot_state(bot_id).queue.peek(1_000_000)
        if u.payload.get("chat", {}).get("id") == chat_id and "message_id" in u.payload
    }


async def confirmed_not_stored(
    engine: AsyncEngine, sim: Simulator, bot_id: int, chat_id: int, posted: list[int]
) -> set[int]:
    """Posted messages Telegram no longer holds that are not in the database: lost for good."""
    held = unconfirmed_messages(sim, bot_id, chat_id)
    stored = set(await stored_messages(engine, chat_id))
    return {m for m in posted if m not in held and m not in stored}


def can_make_immutable(scratch: Path) -> bool:
    """Whether `chattr +i` works here (root with CAP_LINUX_IMMUTABLE, on a file system that has
    the flag), tried on a scratch file."""
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    scratch.touch()
    if subprocess.run([chattr, "+i", str(scratch)], capture_output=True).returncode != 0:
        return False
    subprocess.run([chattr, "-i", str(scratch)], check=True)
    return True


@contextlib.contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """The files refuse every write, even through descriptors the bot already holds (chmod
    would not reach those): the state of a file system remounted read-only under a running bot.
    """
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("chattr is not installed")
    done: list[Path] = []
    try:
        for path in paths:
            result = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True)
            if result.returncode != 0:
                pytest.skip(f"cannot make a file immutable here: {result.stderr.strip()}")
            done.append(path)
        yield
    finally:
        for path in done:
            subprocess.run([chattr, "-i", str(path)], check=True)


# The recorder's backends that are writing a batch (between its statements, or in an INSERT or
# UPDATE of a table a batch writes), killed. Readers, the test's own, the instance lock's and
# the scheduled jobs' (content, hand-off: a cut there is a job's retry, not the batch's) are
# left alone, so every kill lands on a batch.
_BATCH_TABLES = "events|members|users|groups|activity_hours|member_days|responses|decisions"
_KILL_WRITERS = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND state IN ('idle in transaction', 'active') "
    f"AND query ~* '^\\s*(INSERT\\s+INTO|UPDATE)\\s+({_BATCH_TABLES})\\M'"
)


async def kill_writers(db_url: str, kills: int, done: Callable[[], bool]) -> int:
    """Kill the bot's backends mid-batch, `kills` of them unless `done()` first; how many."""
    engine = create_engine(db_url)
    killed = 0
    try:
        async with engine.connect() as connection:
            while killed < kills and not done():
                killed += int((await connection.execute(_KILL_WRITERS)).scalar_one())
                await connection.commit()
                await asyncio.sleep(0.01)
    finally:
        await engine.dispose()
    return killed
