"""/mydata and /forgetme in a private chat, through the simulator over HTTP."""

from __future__ import annotations

from simulator import Simulator
from tests.e2e.conftest import Community, count_events, eventually, polling_bot, settings_for


def _said(sim: Simulator, chat_id: int) -> list[dict]:  # type: ignore[type-arg]
    return sim.sent(chat_id)


async def _reply_with(sim: Simulator, chat_id: int, needle: str) -> dict:  # type: ignore[type-arg]
    await eventually(lambda: any(needle in m.get("text", "") for m in sim.sent(chat_id)))
    return next(m for m in reversed(sim.sent(chat_id)) if needle in m.get("text", ""))


async def test_a_member_sees_and_erases_their_data(community: Community, db_url: str) -> None:
    sim, group = community.sim, community.group
    bob, carol = community.members[0], community.members[1]
    async with polling_bot(settings_for(sim, community.bot, db_url), sim):
        sim.join(group, bob.id)
        sim.join(group, carol.id)
        said = sim.post(group, bob.id, text="hello")
        sim.post(group, carol.id, text="hi Bob", reply_to=said["message_id"])
        sim.react(group, said["message_id"], carol.id, ["👍"])

        sim.post(group, bob.id, text="/mydata")  # in the group: only a pointer
        pointer = await _reply_with(sim, group, "works in a private chat")
        assert "Makers" not in pointer["text"]

        sim.start_private(bob.id)
        await _reply_with(sim, bob.id, "/forgetme")
        sim.start_private(bob.id, text="/mydata")
        shown = await _reply_with(sim, bob.id, "What I have stored about you")
        # The join, "hello" and the /mydata asked in the group (a command: no message).
        assert "Makers (member): 3 events, 1 of them messages, 0 with their text" in shown["text"]

        sim.start_private(bob.id, text="/forgetme")
        question = await _reply_with(sim, bob.id, "Erase?")
        assert "in 1 group:" in question["text"] and "3 events" in question["text"]
        query = sim.press_button(bob.id, question["message_id"], bob.id, data="forgetme:erase")
        await eventually(lambda: sim.callback_answer(query) is not None)
        await eventually(lambda: "Erased 3 events" in _text(sim, bob.id, question["message_id"]))

        sim.start_private(bob.id, text="/mydata")
        await _reply_with(sim, bob.id, "I have stored nothing about you.")
        # Carol's message and reaction stay; only the link to Bob went.
        assert await count_events(db_url, user_id=bob.id) == 0
        assert await count_events(db_url, user_id=carol.id) == 3  # join, reply, reaction
        assert await count_events(db_url, reply_to_user_id=bob.id) == 0

        sim.start_private(carol.id, text="/forgetme")
        asked = await _reply_with(sim, carol.id, "Erase?")
        sim.press_button(carol.id, asked["message_id"], carol.id, data="forgetme:keep")
        await eventually(lambda: "Nothing was erased" in _text(sim, carol.id, asked["message_id"]))
        assert await count_events(db_url, user_id=carol.id) == 3


def _text(sim: Simulator, chat_id: int, message_id: int) -> str:
    shown = [m for m in sim.history(chat_id) if m["message_id"] == message_id]
    return shown[0].get("text", "") if shown else ""
