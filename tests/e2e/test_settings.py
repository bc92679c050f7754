"""/settings and text retention, through the simulator over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from simulator import Simulator
from storage.engine import create_engine
from storage.models import events_table
from tests.e2e.conftest import Community, eventually, polling_bot, settings_for
from tests.fakes import FakeClock


def _replies(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


async def _texts(db_url: str, chat_id: int) -> dict[int, str | None]:
    """Stored text by message id, for the group's messages."""
    engine = create_engine(db_url)
    try:
        e = events_table.c
        query = select(e.message_id, e.text).where(e.chat_id == chat_id, e.kind == "message")
        async with engine.connect() as connection:
            return {row.message_id: row.text for row in await connection.execute(query)}
    finally:
        await engine.dispose()


async def _reply_with(sim: Simulator, group: int, needle: str) -> str:
    await eventually(lambda: any(needle in t for t in _replies(sim, group)))
    return next(t for t in reversed(_replies(sim, group)) if needle in t)


async def test_admins_turn_text_on_and_off_and_set_the_timezone(
    community: Community, db_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    member = community.members[0]
    async with polling_bot(settings_for(sim, community.bot, db_url), sim):
        sim.join(group, member.id)
        sim.post(group, owner.id, text="/settings")
        shown = await _reply_with(sim, group, "⚙️")
        assert "Message text: not stored" in shown
        assert "Time zone: UTC (the bot's default)" in shown

        sim.post(group, member.id, text="/settings text on")
        await _reply_with(sim, group, "only the group's admins can use /settings")

        sim.post(group, owner.id, text="/settings timezone Mars/Olympus")
        wrong = await _reply_with(sim, group, "Mars/Olympus")
        assert "is not a time zone name" in wrong and "Use: /settings" in wrong

        said_before = sim.post(group, member.id, text="said before")
        sim.post(group, owner.id, text="/settings text on 7")
        await _reply_with(sim, group, "stored, each erased after 7 days")
        kept = sim.post(group, member.id, text="kept while on")
        await eventually(lambda: _stored(db_url, group, kept["message_id"]))
        texts = await _texts(db_url, group)
        assert texts[said_before["message_id"]] is None

        sim.post(group, owner.id, text="/settings text off")
        erased = await _reply_with(sim, group, "Erased the stored text")
        assert "Message text: not stored" in erased
        assert all(text is None for text in (await _texts(db_url, group)).values())

        sim.post(group, owner.id, text="/settings tz asia/shanghai")
        await _reply_with(sim, group, "Time zone: Asia/Shanghai")
        sim.post(group, owner.id, text="/stats")
        await _reply_with(sim, group, "time zone Asia/Shanghai")


async def _stored(db_url: str, group: int, message_id: int) -> bool:
    return (await _texts(db_url, group)).get(message_id) is not None


async def test_text_past_its_retention_is_erased_by_the_sweep(
    community: Community, db_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    settings = settings_for(sim, community.bot, db_url)
    async with polling_bot(settings, sim):
        sim.join(group, community.members[0].id)
        sim.post(group, owner.id, text="/settings text on 3")
        await _reply_with(sim, group, "erased after 3 days")
        kept = sim.post(group, community.members[0].id, text="remember me")
        await eventually(lambda: _stored(db_url, group, kept["message_id"]))
    # Two days on the text is still within its retention; four days on the sweep at start erases it.
    two_days_on = FakeClock(datetime.now(UTC) + timedelta(days=2))
    async with polling_bot(settings, sim, clock=two_days_on):
        pass
    assert (await _texts(db_url, group))[kept["message_id"]] == "remember me"
    four_days_on = FakeClock(datetime.now(UTC) + timedelta(days=4))
    async with polling_bot(settings, sim, clock=four_days_on):
        await eventually(lambda: _erased(db_url, group, kept["message_id"]))


async def _erased(db_url: str, group: int, message_id: int) -> bool:
    return (await _texts(db_url, group))[message_id] is None


async def test_groups_without_their_own_timezone_follow_the_default(
    community: Community, db_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    settings = settings_for(sim, community.bot, db_url, default_timezone="Asia/Tokyo")
    async with polling_bot(settings, sim):
        sim.post(group, owner.id, text="/stats")
        await _reply_with(sim, group, "time zone Asia/Tokyo")
        sim.post(group, owner.id, text="/settings")
        await _reply_with(sim, group, "Time zone: Asia/Tokyo (the bot's default)")
        sim.post(group, owner.id, text="/settings timezone Europe/Berlin")
        await _reply_with(sim, group, "Time zone: Europe/Berlin\n")
