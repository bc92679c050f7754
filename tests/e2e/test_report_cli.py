"""`groupops report` from the command line: the same reports as the chat commands, as text, CSV
files or PNG charts; a wrong --since or an unknown group gets one clear line."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.events import EngagementEvent
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.test_cli import _groupops
from tests.storage.test_analytics_rollups import _history, _record
from tests.storage.test_repositories import CHAT, T0


def _recent(events: list[EngagementEvent]) -> list[EngagementEvent]:
    """The hand-built history moved to two hours ago, so it falls in today's windows."""
    shift = datetime.now(UTC) - timedelta(hours=2) - T0
    return [replace(event, occurred_at=event.occurred_at + shift) for event in events]


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'report.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    try:
        await _record(SqlUnitOfWorkFactory(session_factory(engine)), _recent(_history()))
    finally:
        await engine.dispose()
    return url


async def test_text_prints_every_report(tmp_path: Path, database: str) -> None:
    code, out, err = await _groupops(
        "report", "--chat", str(CHAT), "--since", "7d", cwd=tmp_path, DATABASE_URL=database
    )
    assert (code, err) == (0, "")
    for heading in ("📈 Last 7 days", "🏆", "👥", "⚠️", "📅", "🗓"):
        assert heading in out
    # Bob posted twice, Alice twice (both replies to Bob): two active members.
    assert "active members: 2" in out


async def test_csv_writes_the_export_files(tmp_path: Path, database: str) -> None:
    out_dir = tmp_path / "out"
    code, out, _ = await _groupops(
        "report",
        "--chat",
        str(CHAT),
        "--format",
        "csv",
        "--out",
        str(out_dir),
        cwd=tmp_path,
        DATABASE_URL=database,
    )
    assert code == 0
    daily, members = (Path(line) for line in out.split())
    assert daily.name.startswith("daily-") and members.name.startswith("members-")
    rows = list(csv.DictReader(io.StringIO(daily.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 30  # the default: 30 days
    assert sum(int(row["messages"]) for row in rows) == 4


async def test_png_writes_the_charts(tmp_path: Path, database: str) -> None:
    code, out, _ = await _groupops(
        "report",
        "--chat",
        str(CHAT),
        "--format",
        "png",
        "--since",
        (datetime.now(UTC).date() - timedelta(days=13)).isoformat(),
        "--lang",
        "zh",
        cwd=tmp_path,
        DATABASE_URL=database,
    )
    assert code == 0
    paths = [Path(tmp_path, line) for line in out.split()]
    assert [p.name for p in paths] == ["trend.png", "heatmap.png", "retention.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") for p in paths)


async def test_bad_arguments_get_one_clear_line(tmp_path: Path, database: str) -> None:
    code, _, err = await _groupops(
        "report", "--chat", str(CHAT), "--since", "7x", cwd=tmp_path, DATABASE_URL=database
    )
    assert code == 2 and "neither a date (2026-11-01) nor a number of days (30d)" in err
    code, _, err = await _groupops("report", "--chat", "-42", cwd=tmp_path, DATABASE_URL=database)
    assert (code, err.strip()) == (1, "groupops: no group -42 is recorded in this database")
