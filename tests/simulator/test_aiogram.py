"""A real aiogram Bot against the simulator: group traffic, moderation and errors, both sides."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import TelegramMethod
from aiogram.types import ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup

from simulator import FloodLimits, Simulator
from tests.simulator.conftest import Group


class Frobnicate(TelegramMethod[bool]):
    """A method Telegram does not have."""

    __returning__ = bool
    __api_method__ = "frobnicate"


class BareSendMessage(TelegramMethod[bool]):
    """sendMessage without its required text, which aiogram's own model would refuse."""

    __returning__ = bool
    __api_method__ = "sendMessage"
    chat_id: int


class SendMessageWithBogus(TelegramMethod[bool]):
    """sendMessage with a parameter the Bot API does not define."""

    __returning__ = bool
    __api_method__ = "sendMessage"
    chat_id: int
    text: str
    colour: str


async def test_group_traffic_from_several_users_arrives_in_order(
    sim: Simulator, group: Group, aiogram_bot: Bot
) -> None:
    setup = await aiogram_bot.get_updates()
    offset = setup[-1].update_id + 1
    first = sim.post(group.chat_id, group.alice.id, "morning all")
    sim.post(group.chat_id, group.bob.id, "早上好", reply_to=first["message_id"])
    sim.post(group.chat_id, group.alice.id, "a photo", kind="photo")

    updates = await aiogram_bot.get_updates(offset=offset)

    messages = [u.message for u in updates]
    assert [m.from_user.id for m in messages] == [group.alice.id, group.bob.id, group.alice.id]
    assert messages[1].reply_to_message.message_id == first["message_id"]
    assert messages[1].from_user.language_code == "zh-hans"
    assert messages[2].photo and messages[2].caption == "a photo"
    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)


async def test_bot_reply_is_visible_in_history_and_recorded(
    sim: Simulator, group: Group, aiogram_bot: Bot
) -> None:
    question = sim.post(group.chat_id, group.alice.id, "how do I join the event?")

    sent = await aiogram_bot.send_message(
        group.chat_id,
        "See the <b>pinned</b> post",
        parse_mode="HTML",
        reply_to_message_id=question["message_id"],
    )

    assert sent.reply_to_message.message_id == question["message_id"]
    assert sent.entities[0].type == "bold"
    assert sim.history(group.chat_id)[-1]["text"] == "See the pinned post"
    assert sim.sent(group.chat_id)[-1]["message_id"] == sent.message_id
    call = sim.calls(group.bot.id)[-1]
    assert (call.method, call.ok, call.params["parse_mode"]) == ("sendMessage", True, "HTML")


async def test_privacy_mode_hides_chatter_from_a_member_bot(
    sim: Simulator, group: Group, aiogram_bot: Bot
) -> None:
    other = sim.create_bot(username="quiet_bot")
    sim.add_bot(group.chat_id, other.id, admin=False)
    ours = sim.post(group.chat_id, group.alice.id, "/help@quiet_bot")
    sim.post(group.chat_id, group.alice.id, "chatter")
    sim.post(group.chat_id, group.alice.id, "/stats@groupops_bot")
    sim.post(group.chat_id, group.bob.id, "/rules")

    pending = other_bot_texts(sim, other.id)

    assert pending == ["/help@quiet_bot", "/rules"]
    assert ours["text"] == "/help@quiet_bot"
    # The admin bot sees everything, including commands for other bots.
    admin_texts = [u.message.text for u in await aiogram_bot.get_updates() if u.message]
    assert {"chatter", "/help@quiet_bot", "/stats@groupops_bot", "/rules"} <= set(admin_texts)


def other_bot_texts(sim: Simulator, bot_id: int) -> list[str]:
    """Texts of the message updates queued for a bot (service messages left out)."""
    queue = sim.bot_state(bot_id).queue
    return [
        u.payload["text"] for u in queue.peek(100) if u.kind == "message" and "text" in u.payload
    ]


async def test_chat_member_and_reaction_updates(
    sim: Simulator, group: Group, aiogram_bot: Bot
) -> None:
    offset = (await aiogram_bot.get_updates())[-1].update_id + 1
    carol = sim.create_user("Carol")
    link = sim.create_invite_link(group.chat_id, group.owner.id)
    sim.join(group.chat_id, carol.id, invite_link=link)
    post = sim.post(group.chat_id, carol.id, "hello!")
    sim.react(group.chat_id, post["message_id"], group.alice.id, ["👍"])
    sim.react(group.chat_id, post["message_id"], group.alice.id, ["🔥"])
    sim.react_anonymous(group.chat_id, post["message_id"], {"👍": 3})

    updates = await aiogram_bot.get_updates(offset=offset)

    kinds = [u.event_type for u in updates]
    assert kinds == [
        "message",
        "chat_member",
        "message",
        "message_reaction",
        "message_reaction",
        "message_reaction_count",
    ]
    joined = updates[1].chat_member
    assert (joined.old_chat_member.status, joined.new_chat_member.status) == ("left", "member")
    # Links made by someone else are shown to the bot with their tail hidden.
    assert joined.invite_link.invite_link.endswith("…")
    second = updates[4].message_reaction
    assert [r.emoji for r in second.old_reaction] == ["👍"]
    assert [r.emoji for r in second.new_reaction] == ["🔥"]
    assert updates[5].message_reaction_count.reactions[0].total_count == 3
    assert sim.reactions(group.chat_id, post["message_id"]) == {group.alice.id: ["🔥"]}


async def test_callback_query_round_trip(sim: Simulator, group: Group, aiogram_bot: Bot) -> None:
    await aiogram_bot.get_updates()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Yes", callback_data="vote:yes")]]
    )
    sent = await aiogram_bot.send_message(group.chat_id, "Join?", reply_markup=markup)
    query_id = sim.press_button(group.chat_id, sent.message_id, group.bob.id, data="vote:yes")

    updates = await aiogram_bot.get_updates(offset=-1)
    query = updates[-1].callback_query
    assert (query.id, query.data, query.from_user.id) == (query_id, "vote:yes", group.bob.id)
    assert await aiogram_bot.answer_callback_query(query.id, text="Counted")
    assert sim.callback_answer(query_id) == {"text": "Counted"}
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await aiogram_bot.answer_callback_query(query.id, text="again")
    assert not sim.calls()[-1].ok


async def test_delete_needs_the_right_and_a_fresh_message(
    sim: Simulator, group: Group, aiogram_bot: Bot
) -> None:
    spam = sim.post(group.chat_id, group.alice.id, "buy now https://spam.example.com")
    old = sim.post(group.chat_id, group.bob.id, "ancient", date=sim.now() - 49 * 3600)

    assert await aiogram_bot.delete_message(group.chat_id, spam["message_id"])
    assert spam["message_id"] not in [m["message_id"] for m in sim.history(group.chat_id)]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await aiogram_bot.delete_message(group.chat_id, spam["message_id"])
    with pytest.raises(TelegramBadRequest, match="message can't be deleted"):
        await aiogram_bot.delete_message(group.chat_id, old["message_id"])

    sim.promote(group.chat_id, group.bot.id, rights={"can_invite_users"})
    other = sim.post(group.chat_id, group.bob.id, "keep me")
    with pytest.raises(TelegramBadRequest, match="not enough rights"):
        await aiogram_bot.delete_message(group.chat_id, other["message_id"])
    refused = sim.calls()[-1]
    assert (refused.method, refused.error_code) == ("deleteMessage", 400)
    assert other["message_id"] in [m["message_id"] for m in sim.history(group.chat_id)]


async def test_restrict_and_ban(sim: Simulator, group: Group, aiogram_bot: Bot) -> None:
    assert await aiogram_bot.restrict_chat_member(
        group.chat_id, group.alice.id, ChatPermissions(can_send_messages=False)
    )
    member = await aiogram_bot.get_chat_member(group.chat_id, group.alice.id)
    assert member.status == "restricted" and member.can_send_messages is False
    assert sim.member_status(group.chat_id, group.alice.id) == "restricted"

    assert await aiogram_bot.ban_chat_member(group.chat_id, group.bob.id)
    assert sim.member_status(group.chat_id, group.bob.id) == "kicked"
    assert "left_chat_member" in sim.history(group.chat_id)[-1]
    with pytest.raises(TelegramBadRequest, match="can't remove chat owner"):
        await aiogram_bot.ban_chat_member(group.chat_id, group.owner.id)

    assert await aiogram_bot.unban_chat_member(group.chat_id, group.bob.id, only_if_banned=True)
    assert sim.member_status(group.chat_id, group.bob.id) == "left"
    admins = await aiogram_bot.get_chat_administrators(group.chat_id)
    assert [a.user.id for a in admins] == [group.owner.id]
    assert await aiogram_bot.get_chat_member_count(group.chat_id) == 3


async def test_invite_link_needs_the_right(sim: Simulator, group: Group, aiogram_bot: Bot) -> None:
    link = await aiogram_bot.create_chat_invite_link(group.chat_id, name="spring", member_limit=2)
    assert link.invite_link.startswith("https://t.me/+") and link.member_limit == 2
    newcomer = sim.create_user("Dan")
    sim.join(group.chat_id, newcomer.id, invite_link=link.invite_link)
    assert sim.member_status(group.chat_id, newcomer.id) == "member"

    sim.promote(group.chat_id, group.bot.id, rights={"can_delete_messages"})
    with pytest.raises(TelegramBadRequest, match="not enough rights to manage chat invite link"):
        await aiogram_bot.create_chat_invite_link(group.chat_id)
    assert sim.calls()[-1].error_code == 400


async def test_forbidden_when_not_a_member_or_kicked(
    sim: Simulator, group: Group, aiogram_bot: Bot
) -> None:
    elsewhere = sim.create_group("Other", creator_id=group.owner.id)
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the supergroup"):
        await aiogram_bot.send_message(elsewhere, "hello?")
    sim.ban(group.chat_id, group.bot.id)
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await aiogram_bot.send_message(group.chat_id, "still here?")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await aiogram_bot.send_message(-100123, "anyone?")
    assert [c.error_code for c in sim.calls()[-3:]] == [403, 403, 400]
    assert sim.sent(group.chat_id) == []


async def test_validation_errors(sim: Simulator, group: Group, aiogram_bot: Bot) -> None:
    with pytest.raises(TelegramNotFound):
        await aiogram_bot(Frobnicate())
    with pytest.raises(TelegramBadRequest, match='parameter "text" is required'):
        await aiogram_bot(BareSendMessage(chat_id=group.chat_id))
    with pytest.raises(TelegramBadRequest, match='unknown parameter "colour"'):
        await aiogram_bot(SendMessageWithBogus(chat_id=group.chat_id, text="x", colour="red"))
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await aiogram_bot.send_message(group.chat_id, "   ")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await aiogram_bot.send_message(group.chat_id, "<b>bold", parse_mode="HTML")
    codes = [(c.method, c.error_code) for c in sim.calls()[-5:]]
    assert codes == [
        ("frobnicate", 404),
        ("sendMessage", 400),
        ("sendMessage", 400),
        ("sendMessage", 400),
        ("sendMessage", 400),
    ]
    assert sim.sent(group.chat_id) == []


async def test_flood_control_answers_429_with_retry_after(group: Group) -> None:
    limits = FloodLimits(per_chat_per_sec=1, per_chat_burst=2, per_group_per_min=20)
    async with Simulator(flood_limits=limits) as limited:
        bot = limited.create_bot()
        owner = limited.create_user("Owner")
        chat_id = limited.create_group(creator_id=owner.id)
        limited.add_bot(chat_id, bot.id)
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer

        client = Bot(
            bot.token, session=AiohttpSession(api=TelegramAPIServer.from_base(limited.url))
        )
        try:
            await client.send_message(chat_id, "one")
            await client.send_message(chat_id, "two")
            with pytest.raises(TelegramRetryAfter) as caught:
                await client.send_message(chat_id, "three")
            assert caught.value.retry_after >= 1
            call = limited.calls()[-1]
            assert (call.error_code, call.description) == (
                429,
                f"Too Many Requests: retry after {caught.value.retry_after}",
            )
            limited.advance(caught.value.retry_after)
            await client.send_message(chat_id, "three")
            assert [m["text"] for m in limited.sent(chat_id)] == ["one", "two", "three"]
        finally:
            await client.session.close()


async def test_migrated_group_answers_with_the_new_id(sim: Simulator, aiogram_bot: Bot) -> None:
    owner = sim.create_user("Owner")
    bot_id = next(iter(sim.bots))
    chat_id = sim.create_group("Small", creator_id=owner.id, type="group")
    sim.add_bot(chat_id, bot_id)
    new_id = sim.migrate_to_supergroup(chat_id)

    with pytest.raises(TelegramMigrateToChat) as caught:
        await aiogram_bot.send_message(chat_id, "hello")
    assert caught.value.migrate_to_chat_id == new_id
    await aiogram_bot.send_message(new_id, "hello again")
    service = [u.message for u in await aiogram_bot.get_updates() if u.message]
    assert service[-2].migrate_to_chat_id == new_id
    assert service[-1].migrate_from_chat_id == chat_id
    assert sim.history(new_id)[-1]["text"] == "hello again"


async def test_edits_pins_and_copies(sim: Simulator, group: Group, aiogram_bot: Bot) -> None:
    sent = await aiogram_bot.send_message(group.chat_id, "Draft")
    edited = await aiogram_bot.edit_message_text(
        "Final", chat_id=group.chat_id, message_id=sent.message_id
    )
    assert edited.text == "Final" and edited.edit_date
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await aiogram_bot.edit_message_text(
            "Final", chat_id=group.chat_id, message_id=sent.message_id
        )
    member_post = sim.post(group.chat_id, group.alice.id, "mine")
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await aiogram_bot.edit_message_text(
            "hijack", chat_id=group.chat_id, message_id=member_post["message_id"]
        )
    assert await aiogram_bot.pin_chat_message(group.chat_id, sent.message_id)
    assert sim.pinned(group.chat_id) == [sent.message_id]
    copied = await aiogram_bot.copy_message(group.chat_id, group.chat_id, member_post["message_id"])
    history = sim.history(group.chat_id)
    assert history[-1]["message_id"] == copied.message_id and history[-1]["text"] == "mine"
    assert any(m.get("text") == "Final" for m in history)
    sim.edit(group.chat_id, member_post["message_id"], "mine, edited")
    edits = [u.edited_message for u in await aiogram_bot.get_updates() if u.edited_message]
    assert edits[-1].text == "mine, edited"
