"""/stats says when it counts only what the bot can see (privacy mode on, no admin rights)."""

from __future__ import annotations

from simulator import Simulator
from tests.e2e.conftest import Community, eventually, polling_bot, settings_for

NOTE = "these figures count only what I can see"


def _reports(sim: Simulator, chat_id: int) -> list[str]:
    return [m["text"] for m in sim.sent(chat_id) if m.get("text", "").startswith("📊")]


async def test_a_bot_that_sees_only_commands_says_so(sim: Simulator, sqlite_url: str) -> None:
    bot = sim.create_bot(username="groupops_private_bot")  # privacy mode on
    owner = sim.create_user(first_name="Owner")
    group = sim.create_group(title="Quiet", creator_id=owner.id)
    sim.add_bot(group, bot.id, admin=False)
    async with polling_bot(settings_for(sim, bot, sqlite_url), sim):
        sim.post(group, owner.id, text="/stats")
        await eventually(lambda: bool(_reports(sim, group)))
    (report,) = _reports(sim, group)
    assert NOTE in report


async def test_an_admin_bot_sees_everything_and_says_nothing(
    community: Community, sqlite_url: str
) -> None:
    sim, group = community.sim, community.group
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post(group, community.owner.id, text="/stats")
        await eventually(lambda: bool(_reports(sim, group)))
    (report,) = _reports(sim, group)
    assert NOTE not in report
