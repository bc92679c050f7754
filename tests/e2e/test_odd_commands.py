"""Commands with invisible characters or odd arguments still get the right answer."""

from __future__ import annotations

from tests.e2e.conftest import Community, eventually, polling_bot, settings_for


async def test_odd_settings_arguments_get_the_right_form(
    community: Community, sqlite_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post(group, owner.id, text="/settings\u200b")  # pasted with a zero-width space
        sim.post(group, owner.id, text="/settings text on ²")
        sim.post(group, owner.id, text="/settings text on " + "9" * 4000)

        def answered() -> bool:
            return len([m for m in sim.sent(group) if "reply_to_message" in m]) >= 3

        await eventually(answered)
    replies = [m["text"] for m in sim.sent(group) if "reply_to_message" in m]
    assert "UTC" in replies[0]  # the settings as they are, for the zero-width one
    assert all("text on 30" in reply for reply in replies[1:])  # the right form


async def test_plain_text_in_a_private_chat_gets_what_the_bot_does_there(
    community: Community, sqlite_url: str
) -> None:
    sim, owner = community.sim, community.owner
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        chat = sim.start_private(owner.id, community.bot.id, text="hello?")["chat"]["id"]
        sim.start_private(owner.id, community.bot.id, text="/nosuchcommand")

        def answered() -> bool:
            return len(sim.sent(chat)) >= 2

        await eventually(answered)
    assert all("/mydata" in m["text"] for m in sim.sent(chat))
