"""A real python-telegram-bot Bot against the simulator (JSON bodies), asserted on both sides."""

from __future__ import annotations

import pytest
from telegram import Bot, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.request import HTTPXRequest

from simulator import FaultKind, Simulator
from tests.simulator.conftest import Group


async def test_updates_replies_and_offsets(sim: Simulator, group: Group, ptb_bot: Bot) -> None:
    setup = await ptb_bot.get_updates()
    question = sim.post(group.chat_id, group.alice.id, "where is the agenda?")
    updates = await ptb_bot.get_updates(offset=setup[-1].update_id + 1, timeout=1)
    assert [u.message.text for u in updates] == ["where is the agenda?"]
    # Confirming by offset forgets the earlier updates for good.
    assert sim.updates_pending(group.bot.id) == 1
    assert await ptb_bot.get_updates(offset=updates[-1].update_id + 1) == ()
    assert sim.updates_pending(group.bot.id) == 0

    reply = await ptb_bot.send_message(
        group.chat_id, "Pinned above", reply_to_message_id=question["message_id"]
    )
    assert reply.reply_to_message.message_id == question["message_id"]
    assert sim.history(group.chat_id)[-1]["reply_to_message"]["text"] == "where is the agenda?"


async def test_member_updates_and_reactions(sim: Simulator, group: Group, ptb_bot: Bot) -> None:
    setup = await ptb_bot.get_updates()
    await ptb_bot.get_updates(offset=setup[-1].update_id + 1)
    sim.promote(group.chat_id, group.alice.id, rights={"can_delete_messages"})
    post = sim.post(group.chat_id, group.bob.id, "nice")
    sim.react(group.chat_id, post["message_id"], group.alice.id, ["❤"])
    sim.leave(group.chat_id, group.bob.id)

    everything = await ptb_bot.get_updates()
    promoted = next(u.chat_member for u in everything if u.chat_member)
    assert promoted.new_chat_member.status == "administrator"
    assert promoted.new_chat_member.can_delete_messages is True
    assert promoted.new_chat_member.can_restrict_members is False
    reaction = next(u.message_reaction for u in everything if u.message_reaction)
    assert reaction.new_reaction[0].emoji == "❤"
    left = everything[-1].chat_member
    assert (left.old_chat_member.status, left.new_chat_member.status) == ("member", "left")
    # A negative offset keeps only the newest updates and forgets the rest.
    last = await ptb_bot.get_updates(offset=-1)
    assert [u.update_id for u in last] == [everything[-1].update_id]
    assert sim.updates_pending(group.bot.id) == 1


async def test_callback_and_edit_markup(sim: Simulator, group: Group, ptb_bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await ptb_bot.send_message(group.chat_id, "Mark when done", reply_markup=markup)
    query_id = sim.press_button(group.chat_id, sent.message_id, group.alice.id)
    query = (await ptb_bot.get_updates(offset=-1))[0].callback_query
    assert (query.id, query.data) == (query_id, "done")
    await query.answer("Thanks", show_alert=True)
    assert sim.callback_answer(query_id) == {"text": "Thanks", "show_alert": True}
    await ptb_bot.edit_message_reply_markup(group.chat_id, sent.message_id, reply_markup=None)
    assert "reply_markup" not in sim.history(group.chat_id)[-1]


async def test_moderation(sim: Simulator, group: Group, ptb_bot: Bot) -> None:
    spam = sim.post(group.chat_id, group.bob.id, "spam")
    assert await ptb_bot.delete_messages(group.chat_id, [spam["message_id"], 9999])
    assert all(m["message_id"] != spam["message_id"] for m in sim.history(group.chat_id))
    assert await ptb_bot.restrict_chat_member(
        group.chat_id,
        group.bob.id,
        ChatPermissions(can_send_messages=False),
        until_date=int(sim.now()) + 3600,
    )
    member = await ptb_bot.get_chat_member(group.chat_id, group.bob.id)
    assert member.status == "restricted" and member.can_send_messages is False
    assert await ptb_bot.ban_chat_member(group.chat_id, group.bob.id, revoke_messages=True)
    assert sim.member_status(group.chat_id, group.bob.id) == "kicked"
    link = await ptb_bot.create_chat_invite_link(group.chat_id, name="ptb")
    assert link.name == "ptb" and link.creator.id == group.bot.id


@pytest.mark.filterwarnings("ignore:Please use 'Bot")
async def test_errors_seen_by_ptb(sim: Simulator, group: Group, ptb_bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await ptb_bot.do_api_request("frobnicate")
    with pytest.raises(BadRequest, match=r'(?i)parameter "text" is required'):
        await ptb_bot.do_api_request("sendMessage", api_kwargs={"chat_id": group.chat_id})
    with pytest.raises(BadRequest, match=r'(?i)unknown parameter "colour"'):
        await ptb_bot.send_message(group.chat_id, "x", api_kwargs={"colour": "red"})
    with pytest.raises(BadRequest, match=r'(?i)invalid parameter "user_id"'):
        await ptb_bot.do_api_request(
            "getChatMember", api_kwargs={"chat_id": group.chat_id, "user_id": "alice"}
        )
    sim.promote(group.chat_id, group.bot.id, rights={"can_delete_messages"})
    with pytest.raises(BadRequest, match=r"(?i)not enough rights to restrict"):
        await ptb_bot.ban_chat_member(group.chat_id, group.bob.id)
    with pytest.raises(Forbidden, match=r"(?i)bot can't initiate conversation"):
        await ptb_bot.send_message(group.alice.id, "hi in private")
    sim.start_private(group.alice.id)
    await ptb_bot.send_message(group.alice.id, "hi in private")
    sim.block_bot(group.alice.id)
    with pytest.raises(Forbidden, match=r"(?i)blocked by the user"):
        await ptb_bot.send_message(group.alice.id, "again")
    calls = sim.calls()[1:]  # after PTB's getMe at start-up
    assert [c.error_code for c in calls] == [404, 400, 400, 400, 400, 403, None, 403]
    assert calls[1].description == 'Bad Request: parameter "text" is required'
    assert sim.member_status(group.chat_id, group.bob.id) == "member"
    assert [m["text"] for m in sim.history(group.alice.id)] == ["/start", "hi in private"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_faults(sim: Simulator, group: Group) -> None:
    request = HTTPXRequest(read_timeout=0.3, connect_timeout=1)
    async with Bot(group.bot.token, base_url=f"{sim.url}/bot", request=request) as bot:
        sim.inject_fault("sendMessage", FaultKind.RETRY_AFTER, retry_after=7)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(group.chat_id, "one")
        retry_after = caught.value.retry_after
        # PTB 22 gives int seconds, or a timedelta when PTB_TIMEDELTA is set.
        assert getattr(retry_after, "total_seconds", lambda: retry_after)() == 7

        sim.inject_fault("sendMessage", FaultKind.SERVER_ERROR, status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(group.chat_id, "two")

        sim.inject_fault("sendMessage", FaultKind.DROP)
        with pytest.raises(NetworkError):
            await bot.send_message(group.chat_id, "three")

        sim.inject_fault("sendMessage", FaultKind.TIMEOUT, applied=True)
        with pytest.raises(TimedOut):
            await bot.send_message(group.chat_id, "four")

        await bot.send_message(group.chat_id, "five")
    assert [c.error_code for c in sim.calls()[1:]] == [429, 502, 0, 0, None]
    # The applied timeout reached the chat even though the client never heard back.
    assert [m["text"] for m in sim.history(group.chat_id) if "text" in m] == ["four", "five"]
