"""A command whose reply waits on Telegram's group limit is acknowledged at once with a 👀
reaction (no message); one answered at once gets none. The simulator enforces the real limits
(20 messages a minute in a group), so a burst of commands makes the later replies wait."""

from __future__ import annotations

from simulator import FloodLimits, Simulator
from tests.e2e.conftest import eventually, polling_bot, settings_for

BURST = 30


def _answers(sim: Simulator, chat_id: int) -> list[dict[str, object]]:
    return [m for m in sim.sent(chat_id) if "reply_to_message" in m]


async def test_a_burst_of_commands_is_acknowledged_before_the_replies_can_go(
    db_url: str,
) -> None:
    async with Simulator(flood_limits=FloodLimits()) as sim:
        bot = sim.create_bot(username="groupops_eyes_bot")
        owner = sim.create_user("Olga")  # an admin: never held back by the command rate
        group = sim.create_group("Busy", creator_id=owner.id)
        sim.add_bot(group, bot.id, admin=True)
        async with polling_bot(settings_for(sim, bot, db_url), sim):
            first = sim.post(group, owner.id, text="/help")
            await eventually(lambda: len(_answers(sim, group)) == 1)
            commands = [sim.post(group, owner.id, text="/help") for _ in range(BURST)]
            last = commands[-1]

            def last_acknowledged() -> bool:
                return sim.reactions(group, last["message_id"]).get(bot.id) == ["👀"]

            await eventually(last_acknowledged, within=10)
            # Acknowledged while its reply still waits on the group's 20 a minute.
            answered = {m["reply_to_message"]["message_id"] for m in _answers(sim, group)}  # type: ignore[index]
            assert last["message_id"] not in answered
            assert len(answered) <= 20
        # The first command was answered at once: no reaction needed.
        assert sim.reactions(group, first["message_id"]) == {}
        acknowledged = [
            c for c in commands if sim.reactions(group, c["message_id"]).get(bot.id) == ["👀"]
        ]
        # Those answered within the group's free places went without one; the rest got it.
        assert 0 < len(acknowledged) < BURST
        reactions = [c for c in sim.calls(bot.id) if c.method == "setMessageReaction"]
        assert len(reactions) == len(acknowledged)  # one reaction per waiting command
        assert all(c.error_code is None for c in reactions)
