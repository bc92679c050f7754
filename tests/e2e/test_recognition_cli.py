"""`groupops standings` from the command line: the boards and top inviters /leaderboard and the
operators' /invites show, from the same service; an unknown group gets one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.test_cli import _groupops
from tests.storage.test_recognition import GROUP, _history


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'standings.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    try:
        await _history(SqlUnitOfWorkFactory(session_factory(engine)))
    finally:
        await engine.dispose()
    return url


async def test_standings_prints_the_boards_and_top_inviters(tmp_path: Path, database: str) -> None:
    code, out, err = await _groupops(
        "standings", "--chat", str(GROUP.chat_id), cwd=tmp_path, DATABASE_URL=database
    )
    assert (code, err) == (0, "")
    all_time = out.split("🏆 All time\n")[1]
    # The hand-built history: Erin's ten answers, Bob's answer and capped reactions, Alice's
    # five points, Carol's reactions; Dan's awards count too (no one opted out here), under no
    # name: no profile of his is kept.
    assert all_time.startswith(
        "1. Erin — 50\n2. a member — 29\n3. Bob — 15\n4. Alice — 5\n5. Carol — 4"
    )
    assert "Top inviters (joins that counted):\n1. Alice — 3\n2. Bob — 1" in out


async def test_standings_in_russian(tmp_path: Path, database: str) -> None:
    code, out, _ = await _groupops(
        "standings",
        "--chat",
        str(GROUP.chat_id),
        "--lang",
        "ru",
        cwd=tmp_path,
        DATABASE_URL=database,
    )
    assert code == 0 and "🏆 За всё время" in out and "Лучшие приглашающие" in out


async def test_an_unknown_group_is_one_clear_line(tmp_path: Path, database: str) -> None:
    code, _, err = await _groupops(
        "standings", "--chat", "-42", cwd=tmp_path, DATABASE_URL=database
    )
    assert code == 1
    assert err.strip().splitlines() == ["groupops: no group -42 is recorded in this database"]
