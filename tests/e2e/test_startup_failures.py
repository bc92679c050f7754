"""Every start-up mistake an operator is likely to make: one line, non-zero exit, nothing leaked.

Each test runs `groupops` as a subprocess, the way an operator does, against the simulator, a
port nothing listens on, SQLite files and the PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.config import Settings
from simulator import Simulator
from storage.migrate import upgrade_to_head

WRONG_TOKEN = "123456789:AAH-not-the-token-the-simulator-knows"
PASSWORD = "hunter2-secret-pw"


def _env(**env: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in Settings.model_fields_upper()}
    # A database that is down fails at once here: the retry has its own tests.
    return {**clean, "DATABASE_WAIT_SECONDS": "0", **env}


async def _start(
    *args: str, cwd: Path, as_plain_user: bool = False, **env: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=cwd,
        env=_env(**env),
        preexec_fn=_without_root_overrides if as_plain_user else None,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _groupops(
    *args: str, cwd: Path, as_plain_user: bool = False, **env: str
) -> tuple[int, str]:
    """Run `groupops` to its end: the exit code and everything it printed."""
    process = await _start(*args, cwd=cwd, as_plain_user=as_plain_user, **env)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode() + err.decode()


def _one_line(code: int, output: str, *secrets: str) -> str:
    """The failure's single line, after checking everything the operator must not see."""
    assert code != 0, output
    assert "Traceback" not in output
    assert "Unclosed" not in output, output
    for secret in secrets:
        assert secret not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("groupops: ")
    return lines[0]


def _without_root_overrides() -> None:
    """In the child, before exec: root loses the right to write files it may not (as in
    containers, where tests run as root and a read-only file would be written anyway)."""
    if os.geteuid() != 0:
        return
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _sqlite(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def sim_bot(sim: Simulator) -> str:
    """The token of a bot the simulator knows."""
    return sim.create_bot(username="startup_bot").token


async def test_nothing_listening_names_the_address(tmp_path: Path, sim_bot: str) -> None:
    port = _free_port()
    code, output = await _groupops(
        "run", cwd=tmp_path, BOT_TOKEN=sim_bot, TELEGRAM_API_BASE=f"http://127.0.0.1:{port}"
    )
    line = _one_line(code, output, sim_bot)
    assert f"cannot connect to 127.0.0.1:{port}" in line
    assert not (tmp_path / "groupops.db").exists()  # getMe comes before the database


async def test_https_against_the_simulator_is_a_tls_mismatch(
    tmp_path: Path, sim: Simulator, sim_bot: str
) -> None:
    base = sim.url.replace("http://", "https://")
    code, output = await _groupops("run", cwd=tmp_path, BOT_TOKEN=sim_bot, TELEGRAM_API_BASE=base)
    assert "TLS failed" in _one_line(code, output, sim_bot)


async def test_a_server_that_is_not_a_bot_api_says_so(tmp_path: Path, sim_bot: str) -> None:
    from aiohttp import web

    app = web.Application()  # answers 404 in plain text to everything
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        code, output = await _groupops(
            "run", cwd=tmp_path, BOT_TOKEN=sim_bot, TELEGRAM_API_BASE=f"http://127.0.0.1:{port}"
        )
    finally:
        await runner.cleanup()
    assert "is not a Bot API server" in _one_line(code, output, sim_bot)


@pytest.mark.parametrize("tail", ["/bot<token>/<method>", f"/bot{WRONG_TOKEN}/getMe"])
async def test_a_pasted_simulator_line_is_refused_with_the_base_to_use(
    tmp_path: Path, sim: Simulator, sim_bot: str, tail: str
) -> None:
    code, output = await _groupops(
        "run", cwd=tmp_path, BOT_TOKEN=sim_bot, TELEGRAM_API_BASE=sim.url + tail
    )
    line = _one_line(code, output, sim_bot, WRONG_TOKEN)
    assert code == 2
    assert line.startswith("groupops: TELEGRAM_API_BASE is invalid: it holds a path")
    assert line.endswith(f"use only {sim.url}")


async def test_a_base_without_scheme_is_refused(tmp_path: Path, sim_bot: str) -> None:
    code, output = await _groupops(
        "run", cwd=tmp_path, BOT_TOKEN=sim_bot, TELEGRAM_API_BASE="127.0.0.1:8081"
    )
    line = _one_line(code, output, sim_bot)
    assert line.startswith("groupops: TELEGRAM_API_BASE is invalid: give the scheme and host")


async def test_a_refused_token_touches_no_database(tmp_path: Path, sim: Simulator) -> None:
    code, output = await _groupops(
        "run", cwd=tmp_path, BOT_TOKEN=WRONG_TOKEN, TELEGRAM_API_BASE=sim.url
    )
    line = _one_line(code, output, WRONG_TOKEN)
    assert "BOT_TOKEN was refused" in line and "401" in line
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 (a directory listing)


async def test_a_missing_sqlite_directory(tmp_path: Path, sim: Simulator, sim_bot: str) -> None:
    missing = tmp_path / "no" / "such"
    env = {"BOT_TOKEN": sim_bot, "TELEGRAM_API_BASE": sim.url}
    code, output = await _groupops(
        "run", cwd=tmp_path, DATABASE_URL=_sqlite(missing / "g.db"), **env
    )
    assert f"in {missing}, which does not exist" in _one_line(code, output, sim_bot)
    # The traceback is there for whoever asks for it.
    _, debug = await _groupops(
        "run", cwd=tmp_path, DATABASE_URL=_sqlite(missing / "g.db"), LOG_LEVEL="DEBUG", **env
    )
    assert "Traceback" in debug and sim_bot not in debug


async def test_a_read_only_sqlite_file(tmp_path: Path, sim: Simulator, sim_bot: str) -> None:
    database = tmp_path / "g.db"
    await upgrade_to_head(_sqlite(database))
    database.chmod(0o444)
    code, output = await _groupops(
        "run",
        cwd=tmp_path,
        as_plain_user=True,
        BOT_TOKEN=sim_bot,
        TELEGRAM_API_BASE=sim.url,
        DATABASE_URL=_sqlite(database),
    )
    assert "is read-only" in _one_line(code, output, sim_bot)


@pytest.mark.postgres
async def test_a_missing_postgresql_database(
    tmp_path: Path, sim: Simulator, sim_bot: str, pg_url: str
) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(password=PASSWORD, database="groupops_missing_db")
    code, output = await _groupops(
        "run",
        cwd=tmp_path,
        BOT_TOKEN=sim_bot,
        TELEGRAM_API_BASE=sim.url,
        DATABASE_URL=url.render_as_string(hide_password=False),
    )
    line = _one_line(code, output, sim_bot, PASSWORD)
    assert "has no database 'groupops_missing_db'" in line


async def test_a_closed_postgresql_port(tmp_path: Path, sim: Simulator, sim_bot: str) -> None:
    port = _free_port()
    code, output = await _groupops(
        "run",
        cwd=tmp_path,
        BOT_TOKEN=sim_bot,
        TELEGRAM_API_BASE=sim.url,
        DATABASE_URL=f"postgresql+asyncpg://groupops:{PASSWORD}@127.0.0.1:{port}/groupops",
    )
    line = _one_line(code, output, sim_bot, PASSWORD)
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}" in line


async def test_migrate_shows_no_password_and_no_alembic_chatter(tmp_path: Path) -> None:
    port = _free_port()
    code, output = await _groupops(
        "migrate",
        cwd=tmp_path,
        DATABASE_URL=f"postgresql+asyncpg://groupops:{PASSWORD}@127.0.0.1:{port}/groupops",
    )
    assert "cannot connect to PostgreSQL" in _one_line(code, output, PASSWORD)
    code, output = await _groupops("migrate", cwd=tmp_path)
    assert code == 0, output
    assert "alembic.runtime.plugins" not in output


@pytest.mark.postgres
async def test_a_migrate_that_works_shows_no_password(tmp_path: Path, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    # The test server trusts local users: any password gets in, and must not be shown.
    url = make_url(pg_url).set(password=PASSWORD).render_as_string(hide_password=False)
    code, output = await _groupops("migrate", cwd=tmp_path, DATABASE_URL=url, LOG_LEVEL="DEBUG")
    assert code == 0, output
    assert PASSWORD not in output
    assert "Traceback" not in output


@asynccontextmanager
async def _running(*args: str, cwd: Path, **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """`groupops` running until the block ends (then stopped with SIGINT, as Ctrl-C does)."""
    process = await _start(*args, cwd=cwd, **env)
    assert process.stderr is not None
    seen = []
    while not any("started as @" in line for line in seen):
        raw = await asyncio.wait_for(process.stderr.readline(), timeout=30)
        assert raw, "groupops exited early: " + "".join(seen)
        seen.append(raw.decode())
    # A start, migrating or not, is not a page of Alembic's chatter.
    assert not any("alembic" in line for line in seen), "".join(seen)
    try:
        yield process
    except BaseException:
        if process.returncode is None:
            process.kill()  # a failed test leaves no bot behind
            await process.wait()
        raise
    if process.returncode is None:
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        # Ctrl-C is a clean stop: exit 0, every session closed, nothing to apologise for.
        said = out.decode() + err.decode()
        assert process.returncode == 0, said
        assert "Traceback" not in said and "Unclosed" not in said, said


async def test_a_second_instance_on_one_database_is_refused(
    tmp_path: Path, sim: Simulator, sim_bot: str, db_url: str
) -> None:
    url = db_url
    await upgrade_to_head(url)  # PostgreSQL does not migrate itself
    env = {"BOT_TOKEN": sim_bot, "TELEGRAM_API_BASE": sim.url, "DATABASE_URL": url}
    async with _running("run", cwd=tmp_path, **env) as first:
        code, output = await _groupops("run", cwd=tmp_path, **env)
        assert first.returncode is None  # the first one runs on, untouched
    assert "another groupops is already running on the database" in _one_line(code, output, sim_bot)


async def test_another_process_polling_the_token_stops_the_bot_cleanly(
    tmp_path: Path, sim: Simulator, sim_bot: str
) -> None:
    env = {"BOT_TOKEN": sim_bot, "TELEGRAM_API_BASE": sim.url}
    first_db, second_db = _sqlite(tmp_path / "a.db"), _sqlite(tmp_path / "b.db")
    async with _running("run", cwd=tmp_path, DATABASE_URL=first_db, **env) as first:
        assert first.stderr is not None
        # The newer getUpdates ends the older one with 409, as Telegram does.
        async with _running("run", cwd=tmp_path, DATABASE_URL=second_db, **env):
            rest = await asyncio.wait_for(first.stderr.read(), timeout=30)
            code = await first.wait()
    line = _one_line(code, rest.decode(), sim_bot)
    assert "another process is polling Telegram with this BOT_TOKEN" in line


async def test_a_token_revoked_while_running_stops_the_bot_cleanly(
    tmp_path: Path, sim: Simulator, sim_bot: str
) -> None:
    owner = sim.create_user(first_name="Owner")
    group = sim.create_group(title="Makers", creator_id=owner.id)
    bot_id = int(sim_bot.partition(":")[0])
    sim.add_bot(group, bot_id, admin=True)
    env = {"BOT_TOKEN": sim_bot, "TELEGRAM_API_BASE": sim.url}
    async with _running("run", cwd=tmp_path, **env) as bot:
        assert bot.stderr is not None
        del sim.bots_by_token[sim_bot]  # as @BotFather's /revoke does
        sim.post(group, owner.id, text="/help")  # ends the long poll; the next one is refused
        rest = await asyncio.wait_for(bot.stderr.read(), timeout=30)
        code = await bot.wait()
    # While running, other refused calls are logged too; the last line says why it stopped.
    output = rest.decode()
    last = output.strip().splitlines()[-1]
    assert code == 1 and "Traceback" not in output and "Unclosed" not in output
    assert sim_bot not in output
    assert last.startswith("groupops: BOT_TOKEN was refused while running (401 Unauthorized)")


async def test_webhook_without_url_fails_before_anything(
    tmp_path: Path, sim: Simulator, sim_bot: str
) -> None:
    code, output = await _groupops(
        "run", "--webhook", cwd=tmp_path, BOT_TOKEN=sim_bot, TELEGRAM_API_BASE=sim.url
    )
    assert "needs WEBHOOK_URL" in _one_line(code, output, sim_bot)
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 (a directory listing)


async def test_webhook_port_in_use(tmp_path: Path, sim: Simulator, sim_bot: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = await _groupops(
            "run",
            "--webhook",
            cwd=tmp_path,
            BOT_TOKEN=sim_bot,
            TELEGRAM_API_BASE=sim.url,
            WEBHOOK_URL="https://bot.example.org/hook",
            WEBHOOK_SECRET="hook-secret",
            WEBHOOK_PORT=str(port),
        )
    line = _one_line(code, output, sim_bot, "hook-secret")
    assert f"WEBHOOK_PORT {port} is in use" in line


def test_the_default_webhook_port_is_not_the_simulators() -> None:
    from simulator.__main__ import build_parser

    assert Settings().webhook_port != build_parser().parse_args([]).port
