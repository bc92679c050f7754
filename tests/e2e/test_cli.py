"""The `groupops` command as a person runs it: clear errors, migrate, simulator, demo."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from bot.app import prepare_database
from bot.config import Settings, SettingsError
from bot.demo import run_demo
from storage.migrate import is_up_to_date

TOKEN = "123456789:AAH-secret-part-of-the-token-xyz"


async def _groupops(*args: str, cwd: Path, **env: str) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in Settings.model_fields_upper()}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        cwd=cwd,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_missing_token_is_one_clear_line(tmp_path: Path) -> None:
    code, _, err = await _groupops("run", cwd=tmp_path)
    assert code == 2
    assert err.strip().splitlines() == [
        "groupops: BOT_TOKEN is not set: put the token BotFather gave you in .env"
    ]


async def test_a_malformed_setting_names_its_key(tmp_path: Path) -> None:
    code, _, err = await _groupops(
        "run", cwd=tmp_path, BOT_TOKEN=TOKEN, DEFAULT_TIMEZONE="Mars/Base"
    )
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith("groupops: DEFAULT_TIMEZONE is invalid")
    assert TOKEN not in err


async def test_migrate_brings_a_database_to_head(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    code, out, _ = await _groupops("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert code == 0, out
    assert await is_up_to_date(url)


async def test_the_bot_refuses_a_database_that_is_behind(db_url: str) -> None:
    settings = Settings(bot_token=TOKEN, database_url=db_url, auto_migrate=False)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="groupops migrate"):
        await prepare_database(settings)
    await prepare_database(Settings(bot_token=TOKEN, database_url=db_url, auto_migrate=True))  # type: ignore[arg-type]
    assert await is_up_to_date(db_url)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def test_simulator_command_prints_its_url_and_token(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "simulator",
        "--port",
        "0",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # As a background job starts it (and a child inherits that): SIGINT ignored. The
        # simulator handles Ctrl-C itself all the same.
        preexec_fn=_ignore_sigint,
    )
    assert process.stdout is not None
    try:
        lines = []
        while not any(line.startswith("serving") for line in lines):
            raw = await asyncio.wait_for(process.stdout.readline(), timeout=30)
            assert raw, "the simulator exited early"
            lines.append(raw.decode())
        pasted = [line.strip() for line in lines if line.startswith(("TELEGRAM_", "BOT_"))]
        keys = {key.lower(): value for key, value in (line.split("=", 1) for line in pasted)}
        settings = Settings(_env_file=None, **keys)  # type: ignore[call-arg]
        assert settings.telegram_api_base.startswith("http://127.0.0.1:")
        assert settings.require_token()
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), timeout=30)


async def test_demo_shows_the_bot_at_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_demo(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}") == 0
    shown = capsys.readouterr().out
    assert "📊 Activity in this group" in shown
    assert "only the group's admins" in shown
    assert "Time zone: Asia/Shanghai" in shown
    assert "Keep text for 1 to 365 days, not “forever”. Use: /settings" in shown
    # The ops chat hears about the community, not about itself (the bot is no admin there).
    assert "✅ groupops is ready in “Demo Community”." in shown
    assert "needs a hand" not in shown
    # The churn warning replayed on the demo's months of history (issue 12).
    assert re.search(r"On this group's past: \d+ of \d+ members warned about", shown)
