"""The mapping reads what the simulator sends (Telegram's shapes) for every kind we record."""

from __future__ import annotations

from typing import Any

import aiohttp

from bot.domain.events import EventKind, MessageKind
from handlers.mapping import map_update
from simulator import Simulator
from tests.simulator.conftest import Group


async def raw_updates(sim: Simulator, group: Group) -> list[dict[str, Any]]:
    """Everything pending for the bot, as the JSON getUpdates answers (then confirmed)."""
    url = f"{sim.url}/bot{group.bot.token}/getUpdates"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"timeout": 0}) as response:
            body = await response.json()
        assert body["ok"]
        result = list(body["result"])
        if result:
            confirm = {"timeout": 0, "offset": result[-1]["update_id"] + 1}
            async with http.post(url, json=confirm) as response:
                assert (await response.json())["result"] == []
    return result


async def test_every_kind_the_simulator_sends_maps_to_its_event(
    sim: Simulator, group: Group
) -> None:
    chat = group.chat_id
    await raw_updates(sim, group)  # the fixture's own joins
    first = sim.post(chat, group.alice.id, text="hello, see https://example.org")
    sim.post(chat, group.bob.id, text="thanks", reply_to=first["message_id"])
    sim.post(chat, group.alice.id, text="a photo", kind="photo")
    sim.post(chat, group.alice.id, text="🙂", kind="sticker")
    sim.post(chat, group.alice.id, text="lunch?", kind="poll")
    sim.post_as_chat(chat, text="notice from the admins")
    channel = sim.create_channel("News")
    sim.post_from_channel(chat, channel, text="linked channel post")
    sim.forward(chat, group.bob.id, from_chat_id=channel, text="forwarded")
    sim.edit(chat, first["message_id"], "hello again")
    sim.react(chat, first["message_id"], group.bob.id, ["👍"])
    sim.react_anonymous(chat, first["message_id"], {"🔥": 3})
    carol = sim.create_user("Carol")
    sim.join(chat, carol.id)
    sim.leave(chat, carol.id)

    raws = await raw_updates(sim, group)
    mapped = [map_update(raw) for raw in raws]
    events = [event for m in mapped for event in m.events]
    kinds = [(e.kind, e.message_kind) for e in events]
    assert kinds == [
        (EventKind.MESSAGE, MessageKind.TEXT),
        (EventKind.MESSAGE, MessageKind.TEXT),
        (EventKind.MESSAGE, MessageKind.MEDIA),
        (EventKind.MESSAGE, MessageKind.STICKER),
        (EventKind.MESSAGE, MessageKind.POLL),
        (EventKind.MESSAGE, MessageKind.TEXT),
        (EventKind.MESSAGE, MessageKind.FORWARD),
        (EventKind.MESSAGE, MessageKind.FORWARD),
        (EventKind.EDIT, MessageKind.TEXT),
        (EventKind.REACTION_ADDED, None),
        (EventKind.REACTION_COUNT, None),
        (EventKind.JOIN, None),
        (EventKind.LEAVE, None),
    ]
    hello, reply, photo, _, _, anonymous, linked, forward, edit, *_ = events
    assert hello.has_link and hello.actor is not None
    assert hello.actor.user_id == group.alice.id
    assert reply.reply_to_message_id == first["message_id"]
    assert reply.reply_to_user_id == group.alice.id
    assert photo.text_length == len("a photo")
    assert anonymous.actor is None and anonymous.sender_chat_id == chat
    assert linked.actor is None and linked.sender_chat_id == channel
    assert forward.actor is not None and forward.actor.user_id == group.bob.id
    assert edit.dedup_key.startswith("u:")
    watched = [m.watched for m in mapped if m.watched is not None]
    assert [w.text for w in watched][:3] == ["hello, see https://example.org", "thanks", "a photo"]
    assert watched[6].forward_origin == "channel"
    assert all(e.text is None for e in events)  # no group here stores text


async def test_forum_topics_and_migrations(sim: Simulator, group: Group) -> None:
    forum = sim.create_group("Forum", creator_id=group.owner.id, is_forum=True)
    sim.add_bot(forum, group.bot.id, admin=True)
    sim.join(forum, group.alice.id)
    small = sim.create_group("Small", creator_id=group.owner.id, type="group")
    sim.add_bot(small, group.bot.id, admin=True)
    await raw_updates(sim, group)
    sim.post(forum, group.alice.id, text="in a topic", thread_id=7)
    new_id = sim.migrate_to_supergroup(small)

    mapped = [map_update(raw) for raw in await raw_updates(sim, group)]
    topic = next(e for m in mapped for e in m.events if e.group.chat_id == forum)
    assert topic.group.is_forum
    assert topic.thread_id == 7
    assert topic.reply_to_message_id is None  # the topic's root is not a reply
    migrations = {m.migration for m in mapped if m.migration is not None}
    assert {(m.old_chat_id, m.new_chat_id) for m in migrations} == {(small, new_id)}
