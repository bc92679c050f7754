"""/settings digest on|off through the simulator: admins turn the weekly digest on and off, and a
wrong word gets the right form."""

from __future__ import annotations

from simulator import Simulator
from tests.e2e.conftest import Community, eventually, polling_bot, settings_for


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
