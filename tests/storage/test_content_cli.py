"""`groupops content …` on SQLite and PostgreSQL: add, list, show, move, cancel, export and an
import that applies all its lines or none (a bad line changes nothing and is named)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Settings
from bot.content_cli import add_arguments, run_content
from bot.domain.events import GroupRef
from storage.engine import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory

CHAT = -100777


def _args(*words: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(words))


async def _run(url: str, *words: str) -> int:
    return await run_content(
        Settings(database_url=url, default_timezone="Europe/Berlin"), _args(*words)
    )


@pytest.fixture
async def url(migrated_db_url: str) -> str:
    engine = create_engine(migrated_db_url)
    try:
        uow_factory = SqlUnitOfWorkFactory(session_factory(engine))
        async with uow_factory() as uow:
            await uow.groups.upsert_many(
                [GroupRef(CHAT, "Makers", "supergroup")], datetime.now(UTC)
            )
            await uow.commit()
    finally:
        await engine.dispose()
    return migrated_db_url


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%d")


async def test_add_list_show_move_cancel(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        await _run(url, "add", "--chat", str(CHAT), "--at", f"{_day(2)} 20:00", "--text", "Hi") == 0
    )
    assert "#1 scheduled for" in capsys.readouterr().out
    assert (
        await _run(
            url,
            "add",
            "--chat",
            str(CHAT),
            "--every",
            "mon,thu 20:00",
            "--text",
            "Tip",
            "--kind",
            "promo",
        )
        == 0
    )
    assert await _run(url, "list", "--chat", str(CHAT)) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[-2].startswith("#1\tscheduled\torganic\t")
    assert listed[-1].startswith("#2\tscheduled\tpromo\t") and "every mon,thu 20:00" in listed[-1]
    assert await _run(url, "move", "1", f"{_day(3)} 09:30") == 0
    assert "moved to" in capsys.readouterr().out
    assert await _run(url, "cancel", "2") == 0
    assert await _run(url, "show", "2") == 0
    shown = capsys.readouterr().out
    assert "cancelled" in shown and "add: - → approved by cli" in shown
    # Bad input: a clear error and exit code 2.
    assert await _run(url, "add", "--chat", str(CHAT), "--at", "tomorrow 25:00", "--text", "x") == 2
    assert "There is no time 25:00" in capsys.readouterr().err
    assert await _run(url, "cancel", "2") == 2
    assert await _run(url, "show", "99") == 2
    assert "There is no item 99" in capsys.readouterr().err


async def _export(url: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()
    assert await _run(url, "export", "--chat", str(CHAT)) == 0
    return capsys.readouterr().out.strip().splitlines()


async def test_export_edit_import_with_a_dry_run_first(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in (1, 2, 3):
        await _run(
            url, "add", "--chat", str(CHAT), "--at", f"{_day(n + 1)} 10:00", "--text", f"Post {n}"
        )
    lines = await _export(url, capsys)
    assert lines[0] == "id,chat,kind,when,title,text,state"
    assert lines[1] == f"1,{CHAT},organic,{_day(2)} 10:00,Post 1,Post 1,scheduled"
    edited = [
        lines[0],
        f"1,{CHAT},organic,{_day(5)} 18:00,Post 1,Post 1,scheduled",  # moved
        f"2,{CHAT},promo,{_day(3)} 10:00,Post 2,Post 2 (new text),scheduled",  # kind and text
        f"3,{CHAT},organic,{_day(4)} 10:00,Post 3,Post 3,cancelled",  # cancelled
        f",{CHAT},announcement,daily 08:00,Morning,Good morning!,",  # added
    ]
    plan = tmp_path / "plan.csv"
    plan.write_text("\n".join(edited) + "\n")
    assert await _run(url, "import", str(plan), "--dry-run") == 0
    diff = capsys.readouterr().out
    assert f"~ #1 (chat {CHAT}): when {_day(2)} 10:00 → {_day(5)} 18:00" in diff
    assert f"~ #2 (chat {CHAT}): kind organic → promo, text" in diff
    assert f"- #3 (chat {CHAT}): Post 3" in diff
    assert f"+ new (chat {CHAT}): daily 08:00 · Morning" in diff
    assert "dry run: 4 change(s), none made" in diff
    assert await _export(url, capsys) == lines  # nothing changed
    assert await _run(url, "import", str(plan)) == 0
    assert "4 change(s) made" in capsys.readouterr().out
    after = await _export(url, capsys)
    assert after[1] == f"1,{CHAT},organic,{_day(5)} 18:00,Post 1,Post 1,scheduled"
    assert after[2] == f"2,{CHAT},promo,{_day(3)} 10:00,Post 2,Post 2 (new text),scheduled"
    assert after[3] == f"4,{CHAT},announcement,daily 08:00,Morning,Good morning!,scheduled"
    assert len(after) == 4  # #3 is cancelled: no longer in the plan
    plan.write_text("\n".join(after) + "\n")  # a fresh export, imported, changes nothing
    assert await _run(url, "import", str(plan)) == 0
    assert "0 change(s) made" in capsys.readouterr().out


async def test_an_import_with_a_bad_line_changes_nothing_and_names_the_line(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _run(url, "add", "--chat", str(CHAT), "--at", f"{_day(2)} 10:00", "--text", "Post 1")
    before = await _export(url, capsys)
    plan = tmp_path / "plan.csv"
    plan.write_text(
        "\n".join(
            [
                "id,chat,kind,when,title,text,state",
                f",{CHAT},organic,{_day(3)} 09:00,Fine,A fine post,",
                f",{CHAT},organic,{_day(3)} 25:00,Bad time,Text,",
                f"1,{CHAT},organic,{_day(6)} 10:00,Post 1,Post 1,scheduled",
                f"77,{CHAT},organic,{_day(3)} 10:00,Ghost,Ghost,",
                f",{CHAT},organic,2020-01-01 10:00,Past,Text,",
                f",{CHAT},spam,{_day(3)} 10:00,Kind,Text,",
                f",{CHAT},organic,{_day(3)} 10:00,Empty,,",
            ]
        )
        + "\n"
    )
    assert await _run(url, "import", str(plan)) == 2
    err = capsys.readouterr().err
    assert "line 3: There is no time 25:00" in err
    assert "line 5: There is no item 77" in err
    assert "line 6:" in err and "already passed" in err
    assert "line 7: not a kind" in err
    assert "line 8: The post needs a text." in err
    assert "line 2:" not in err and "line 4:" not in err
    assert "nothing changed: 5 bad line(s)" in err
    assert await _export(url, capsys) == before
