"""`groupops modlog` from the command line: the log /modlog shows, from the same service, about
one member or all; an unknown group gets one clear line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.events import GroupRef
from bot.domain.moderation import LogEntry, ModAction, Person
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.test_cli import _groupops

CHAT = -1001234
AT = datetime(2026, 11, 25, 14, 3, tzinfo=UTC)
OLGA, ANN, MAX = Person(1, "Olga (@olga)"), Person(5, "Ann (@ann)"), Person(6, "Max")


@pytest.fixture
async def database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'modlog.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    try:
        uow_factory = SqlUnitOfWorkFactory(session_factory(engine))
        async with uow_factory() as uow:
            await uow.groups.upsert_many([GroupRef(CHAT, "Makers", "supergroup")], AT)
            for entry in (
                LogEntry(CHAT, OLGA, ModAction.WARN, AT, ANN, "spam"),
                LogEntry(
                    CHAT,
                    OLGA,
                    ModAction.MUTE,
                    AT + timedelta(minutes=1),
                    ANN,
                    "",
                    AT + timedelta(days=1, minutes=1),
                ),
                LogEntry(CHAT, OLGA, ModAction.KICK, AT + timedelta(minutes=2), MAX, "rude"),
            ):
                await uow.moderation.log(entry)
            await uow.commit()
    finally:
        await engine.dispose()
    return url


async def test_modlog_prints_the_log_newest_first(tmp_path: Path, database: str) -> None:
    code, out, err = await _groupops(
        "modlog", "--chat", str(CHAT), cwd=tmp_path, DATABASE_URL=database
    )
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "🛡 Moderation log, latest first:",
        "• Nov 25, 2026 14:05 UTC · Olga (@olga) kicked Max — rude",
        "• Nov 25, 2026 14:04 UTC · Olga (@olga) muted Ann (@ann) until Nov 26, 2026 14:04 UTC",
        "• Nov 25, 2026 14:03 UTC · Olga (@olga) warned Ann (@ann) — spam",
    ]


async def test_modlog_about_one_member_in_russian(tmp_path: Path, database: str) -> None:
    code, out, _ = await _groupops(
        "modlog",
        "--chat",
        str(CHAT),
        "--user",
        "6",
        "--lang",
        "ru",
        cwd=tmp_path,
        DATABASE_URL=database,
    )
    assert code == 0
    assert out.splitlines()[0] == "🛡 Журнал модерации для Max, сначала новые:"
    assert out.splitlines()[1:] == [
        "• 25 нояб. 2026\u202fг. 14:05 UTC · Olga (@olga) исключил(а) Max — rude"
    ]


async def test_an_unknown_group_is_one_clear_line(tmp_path: Path, database: str) -> None:
    code, _, err = await _groupops("modlog", "--chat", "-42", cwd=tmp_path, DATABASE_URL=database)
    assert code == 1
    assert err.strip().splitlines() == ["groupops: no group -42 is recorded in this database"]
