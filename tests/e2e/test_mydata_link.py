"""The in-group /mydata pointer carries a button that opens the private chat on /mydata."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Community, eventually, polling_bot, settings_for


async def test_the_pointer_opens_the_private_chat_on_the_command(
    community: Community, sqlite_url: str
) -> None:
    sim, group, bob = community.sim, community.group, community.members[0]
    sim.join(group, bob.id)

    def pointers() -> list[dict[str, Any]]:
        return [m for m in sim.sent(group) if "works in a private chat" in m.get("text", "")]

    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        asked = sim.post(group, bob.id, text="/mydata")
        await eventually(lambda: bool(pointers()))
        (pointer,) = pointers()
        assert pointer["reply_to_message"]["message_id"] == asked["message_id"]
        ((button,),) = pointer["reply_markup"]["inline_keyboard"]
        assert button == {
            "text": "Open my private chat",
            "url": f"https://t.me/{community.bot.username}?start=mydata",
        }
        # What Telegram sends when the member follows the link.
        sim.start_private(bob.id, text="/start mydata")
        await eventually(
            lambda: any("What I have stored about you" in m["text"] for m in sim.sent(bob.id))
        )
