"""The weekly digest through the simulator: admins turn it on and off with /settings (a wrong word
gets the right form), and the week reaches the ops chat once, across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.services.digest import DigestService
from simulator import Simulator
from tests.e2e.conftest import Community, eventually, polling_bot, settings_for
from tests.fakes import FakeClock


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


async def _answer(sim: Simulator, chat_id: int, needle: str) -> str:
    await eventually(lambda: any(needle in t for t in _texts(sim, chat_id)))
    return next(t for t in reversed(_texts(sim, chat_id)) if needle in t)


async def test_the_digest_is_turned_on_and_off_by_admins(
    community: Community, sqlite_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    member = community.members[0]
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post(group, owner.id, text="/settings digest on")
        on = await _answer(sim, group, "Weekly digest on")
        sim.post(group, owner.id, text="/settings digest off")
        off = await _answer(sim, group, "Weekly digest off")
        sim.post(group, owner.id, text="/settings digest maybe")
        wrong = await _answer(sim, group, "Say “digest on”")
        sim.join(group, member.id)
        sim.post(group, member.id, text="/settings digest on")
        refused = await _answer(sim, group, "only the group's admins")
    # The test bot has no OPS_CHAT_ID and no hand-off link: it says where to set one.
    assert "no ops chat" in on and "/handoff link" in on
    assert off == "Weekly digest off."
    assert wrong == (
        "Say “digest on” or “digest off”. Use: /settings digest on · /settings digest off"
    )
    assert "/settings" in refused


def _next_monday_morning() -> datetime:
    """09:30 UTC on the Monday after this week: the week reported is the one running now."""
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=1)
    return datetime.combine(monday, time(9, 30), tzinfo=UTC)


async def test_the_digest_reaches_the_ops_chat_once_across_a_restart(
    community: Community, db_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    bob, carol = community.members[:2]
    ops = sim.create_group(title="Moderators", creator_id=owner.id)
    sim.add_bot(ops, community.bot.id, admin=False)
    settings = settings_for(sim, community.bot, db_url, ops_chat_id=ops, default_timezone="UTC")
    clock = FakeClock(_next_monday_morning())
    async with polling_bot(settings, sim, clock) as app:
        sim.join(group, bob.id)
        sim.join(group, carol.id)
        sim.post(group, bob.id, text="hello all")
        sim.post(group, carol.id, text="hi Bob")
        sim.post(group, owner.id, text="/settings digest on")
        await _answer(sim, group, "Weekly digest on: every Monday")
        await app.recorder.durable()
        digest = app.services["digest"]
        assert isinstance(digest, DigestService)
        assert await digest.run_due() == 1
        assert await digest.run_due() == 0
    async with polling_bot(settings, sim, clock) as app:  # a restart: the week was told
        digest = app.services["digest"]
        assert isinstance(digest, DigestService)
        assert await digest.run_due() == 0
    told = [t for t in _texts(sim, ops) if t.startswith("📬")]
    assert len(told) == 1
    assert "Messages: 2 (+2) · active members: 2 (+2)" in told[0]
    assert "joins: 2" in told[0].lower()
