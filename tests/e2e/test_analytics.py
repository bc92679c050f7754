"""The analytics commands through the simulator: admins get reports, others a polite no, and a
wrong argument the accepted forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete

from simulator import Simulator
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade_to_head
from storage.models import activity_hours_table, member_days_table, responses_table
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import Community, eventually, polling_bot, settings_for
from tests.e2e.test_cli import _groupops
from tests.storage.test_analytics_rollups import (
    EXPECTED_DAYS,
    EXPECTED_HOURS,
    EXPECTED_RESPONSES,
    _history,
    _record,
    _rollups,
)


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    """What the bot sent: each message's text, or a photo's caption."""
    return [m.get("text") or m.get("caption", "") for m in sim.sent(chat_id)]


def _photos(sim: Simulator, chat_id: int) -> list[dict[str, Any]]:
    """Photos the bot sent, each with the bytes it uploaded as `png`."""
    return [
        {**m, "png": sim.files[m["photo"][-1]["file_id"]].content}
        for m in sim.sent(chat_id)
        if "photo" in m
    ]


async def _answer(sim: Simulator, chat_id: int, needle: str) -> str:
    await eventually(lambda: any(needle in t for t in _texts(sim, chat_id)))
    return next(t for t in reversed(_texts(sim, chat_id)) if needle in t)


async def test_analytics_commands_for_admins(community: Community, sqlite_url: str) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    bob, carol = community.members[:2]
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.join(group, bob.id)
        sim.join(group, carol.id)
        said = sim.post(group, bob.id, text="how do I join the meetup?")
        sim.post(group, carol.id, text="sign up on the site", reply_to=said["message_id"])
        sim.react(group, said["message_id"], carol.id, ["👍"])
        sim.post(group, bob.id, text="thanks")

        sim.post(group, owner.id, text="/stats 30d")
        stats = await _answer(sim, group, "📈 Last 30 days")
        sim.post(group, owner.id, text="/top 7d")
        top = await _answer(sim, group, "🏆")
        sim.post(group, owner.id, text="/segments")
        segments = await _answer(sim, group, "👥")
        sim.post(group, owner.id, text="/atrisk")
        at_risk = await _answer(sim, group, "⚠️")
        sim.post(group, owner.id, text="/retention")
        retention = await _answer(sim, group, "📅")
        sim.post(group, owner.id, text="/heatmap")
        heatmap = await _answer(sim, group, "🗓")
        await eventually(lambda: len(_photos(sim, group)) == 3)
    trend, cohorts, hours = _photos(sim, group)
    # The charts arrive as photos (PNG uploads), replying to their commands, titled.
    assert all(p["png"].startswith(b"\x89PNG\r\n\x1a\n") for p in (trend, cohorts, hours))
    assert trend["caption"] == "📈 Messages and active members a day, last 30 days"
    assert cohorts["caption"] == retention and hours["caption"] == heatmap
    assert all("reply_to_message" in p for p in (trend, cohorts, hours))
    assert "📊" in stats and "📈 Last 30 days:" in stats
    # Bob and Carol posted (Olga's commands talk to the bot: no messages); Carol answered Bob.
    assert "messages a day · active members: 2 · daily 0.1 · weekly 2 · monthly 2" in stats
    assert "Members: new 3 · returning 0 · joins 2 · leaves 0 · net growth 2" in stats
    assert "answered: 33%" in stats  # one of the three messages
    assert "last 7 days" in top
    # Bob posted twice and got Carol's reply and reaction; Carol posted once.
    assert "1. Member0 — messages: 2 · replies received: 1 · reactions received: 1" in top
    assert "2. Member1 — messages: 1 · replies received: 0" in top
    assert "New: 2" in segments  # Bob and Carol: the owner only ran commands
    assert "No one is drifting away right now." in at_risk
    assert retention.endswith(
        "· 3 · – – – – – – – –"
    )  # this week: two joined, the owner first seen
    assert "Busiest:" in heatmap


async def test_analytics_commands_refuse_non_admins_and_wrong_forms(
    community: Community, sqlite_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    member = community.members[0]
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.join(group, member.id)
        sim.post(group, member.id, text="/atrisk")
        refusal = await _answer(sim, group, "only the group's admins")
        sim.post(group, owner.id, text="/stats 7x")
        wrong_stats = await _answer(sim, group, "is not a period")
        sim.post(group, owner.id, text="/top 7x")
        await eventually(lambda: sum("is not a period" in t for t in _texts(sim, group)) == 2)
        wrong_period = await _answer(sim, group, "is not a period")
        sim.post(group, owner.id, text="/heatmap now")
        no_arguments = await _answer(sim, group, "takes no arguments")
        sim.start_private(owner.id, text="/top")
        private = await _answer(sim, owner.id, "works in a group")
    assert "/atrisk" in refusal
    assert wrong_stats == "“7x” is not a period. Use: /stats [7d|30d|90d]"
    assert wrong_period == "“7x” is not a period. Use: /top [7d|30d|90d]"
    assert no_arguments == "/heatmap takes no arguments. Use: /heatmap"
    assert "/top" in private


async def test_rebuild_rollups_folds_history_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    try:
        factory = SqlUnitOfWorkFactory(session_factory(engine))
        await _record(factory, _history())
        async with factory() as uow:  # as a database recorded before migration 0005 would be
            for table in (activity_hours_table, member_days_table, responses_table):
                await uow.session.execute(delete(table))
            await uow.commit()
        code, out, _ = await _groupops("rebuild-rollups", cwd=tmp_path, DATABASE_URL=url)
        assert (code, out) == (0, "rollups rebuilt from 8 events\n")
        assert await _rollups(factory) == (EXPECTED_HOURS, EXPECTED_DAYS, EXPECTED_RESPONSES)
    finally:
        await engine.dispose()
