"""Russian, the third language: a member whose Telegram speaks it is answered in it."""

from __future__ import annotations

from tests.e2e.conftest import Community, eventually, polling_bot, settings_for


async def test_a_russian_speaking_member_is_answered_in_russian(
    community: Community, sqlite_url: str
) -> None:
    sim, group = community.sim, community.group
    olga = sim.create_user(first_name="Ольга", language_code="ru")
    sim.join(group, olga.id)
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post(group, olga.id, text="/mydata")
        await eventually(lambda: any("личном чате" in m["text"] for m in sim.sent(group)))
        sim.start_private(olga.id, text="/mydata")
        await eventually(lambda: any("Что я храню о вас" in m["text"] for m in sim.sent(olga.id)))
        shown = next(m["text"] for m in sim.sent(olga.id) if "Что я храню" in m["text"])
        # the /mydata asked in the group: an event, but a command, so no message
        assert "Makers (участник): 1 событие, из них сообщений — 0" in shown
