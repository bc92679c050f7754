"""One member's command flood stops neither ingestion nor other groups, and the bot still stops.

The simulator enforces Telegram's limits here (20 messages a minute per group), so replies
to a flood wait in delivery; the verdicts are about order and state, never durations.
"""

from __future__ import annotations

import asyncio

from simulator import FloodLimits, Simulator
from tests.e2e.conftest import count_events, eventually, polling_bot, settings_for

GUARD = 30.0  # seconds: only a hung stop waits this long; the bound itself is each step's


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    """The bot's answers to commands (its replies), not its welcome."""
    return [m.get("text", "") for m in sim.sent(chat_id) if "reply_to_message" in m]


async def test_a_flood_in_one_group_holds_up_neither_ingestion_nor_another_group(
    sqlite_url: str,
) -> None:
    async with Simulator(flood_limits=FloodLimits()) as sim:
        bot = sim.create_bot(username="groupops_flood_bot")
        owner = sim.create_user("Olga")
        members = [sim.create_user(f"Member{n}") for n in range(16)]  # 80 commands > 64 slots
        busy = sim.create_group("Busy", creator_id=owner.id)
        quiet = sim.create_group("Quiet", creator_id=owner.id)
        for group in (busy, quiet):
            sim.add_bot(group, bot.id, admin=True)
            for member in members:
                sim.join(group, member.id)
        # Five commands a member: all within the rate, so each is answered in turn.
        settings = settings_for(sim, bot, sqlite_url, commands_per_minute=5)
        async with polling_bot(settings, sim) as app:
            for member in members:
                for _ in range(5):
                    sim.post(busy, member.id, text="/help")
            sim.post(quiet, members[0].id, text="a message in the quiet group")

            async def quiet_recorded() -> bool:
                return await count_events(sqlite_url, chat_id=quiet, kind="message") == 1

            await eventually(quiet_recorded)
            # Recorded while most of the busy group's 80 answers still wait on its limit.
            assert len(_texts(sim, busy)) < 40
            assert app.intake.shed == 0
            queued = app.delivery.metrics().queued
        # Leaving the block stops the bot with those replies still queued; each step of the stop
        # is bounded, so it returns rather than waiting out the group's limit.
        assert queued > 0


async def test_a_members_commands_past_the_rate_get_one_notice_then_silence(
    sqlite_url: str,
) -> None:
    async with Simulator(flood_limits=FloodLimits.disabled()) as sim:
        bot = sim.create_bot(username="groupops_rate_bot")
        owner = sim.create_user("Olga")
        member = sim.create_user("Mallory")
        group = sim.create_group("G", creator_id=owner.id)
        sim.add_bot(group, bot.id, admin=True)
        sim.join(group, member.id)
        async with polling_bot(settings_for(sim, bot, sqlite_url), sim):
            for _ in range(9):
                sim.post(group, member.id, text="/help")
            for _ in range(7):  # the owner, an admin, is never held back
                sim.post(group, owner.id, text="/help")

            def answered() -> bool:
                return len(_texts(sim, group)) >= 13

            await eventually(answered)
            await asyncio.sleep(0)
        texts = _texts(sim, group)
        notices = [t for t in texts if "too fast" in t]
        assert len(notices) == 1
        assert len(texts) == 13  # 5 answers and a notice for Mallory, 7 answers for Olga
