"""Delivery on fake time: limits, priorities, 429s, retries, refusals, back-pressure, order."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.delivery import Delivery, DeliveryLimits
from bot.ports import ChatAdmin, FailureReason, Outcome, Priority, Refused, RetryAfter
from bot.ports import TransientError as Transient
from tests.delivery.conftest import MakeDelivery
from tests.delivery.fakes import Call, FakeTime, FakeTransport, until

GROUP = -1001
OTHER_GROUP = -1002
PRIVATE = 42
KICKED = Refused(403, "Forbidden: bot was kicked from the supergroup chat")


def times(calls: list[Call]) -> list[float]:
    return [round(c.at - 1000.0, 6) for c in calls]


def most_in_any_window(calls: list[Call], window: float) -> int:
    stamps = sorted(c.at for c in calls)
    return max(sum(1 for t in stamps if start <= t < start + window - 1e-9) for start in stamps)


async def send_all(delivery: Delivery, chat_id: int, n: int, **kwargs: object) -> list[Outcome]:
    return list(
        await asyncio.gather(*(delivery.send_message(chat_id, f"m{i}", **kwargs) for i in range(n)))
    )


# --- limits -----------------------------------------------------------------------------------


async def test_one_chat_gets_a_burst_of_three_then_one_a_second(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    outcomes = await send_all(delivery, PRIVATE, 6)
    assert all(o.ok for o in outcomes)
    assert times(transport.sent(PRIVATE)) == [0, 0, 0, 1, 2, 3]


async def test_a_group_gets_twenty_a_minute(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    await send_all(delivery, GROUP, 25)
    sent = transport.sent(GROUP)
    assert len(sent) == 25
    assert most_in_any_window(sent, 60.0) == 20
    # The 21st leaves when the first has left the minute (plus the 50 ms jitter guard).
    assert sent[20].at - sent[0].at == pytest.approx(60.05)


async def test_content_leaves_a_groups_last_places_to_replies(
    make_delivery: MakeDelivery, transport: FakeTransport, fake_time: FakeTime
) -> None:
    delivery = await make_delivery()
    posts = asyncio.ensure_future(send_all(delivery, GROUP, 30, priority=Priority.CONTENT))
    await until(lambda: len(transport.sent(GROUP)) >= 17)
    await fake_time.sleep(5.0)
    assert len(transport.sent(GROUP)) == 17  # 20 a minute, less the 3 kept for replies
    asked = fake_time.now
    assert (await delivery.send_message(GROUP, "reply")).ok
    assert transport.sent(GROUP)[-1].at - asked < 1.0
    await posts


async def test_all_chats_together_stay_under_thirty_a_second(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    outcomes = await asyncio.gather(
        *(delivery.send_message(chat, "hello") for chat in range(1, 101))
    )
    assert all(o.ok for o in outcomes)
    sent = transport.sent()
    assert most_in_any_window(sent, 1.0) == 30
    assert sent[-1].at - sent[0].at >= 70 / 30


async def test_non_posting_calls_skip_the_message_limits(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    await send_all(delivery, GROUP, 5)
    deletes = await asyncio.gather(
        *(delivery.delete_message(GROUP, message_id) for message_id in range(1, 11))
    )
    assert all(o.ok for o in deletes)
    # Deletes are served one at a time per chat, but none waits for the chat's message bucket.
    assert len(set(times(transport.sent(GROUP, "deleteMessage")))) == 1


async def test_non_posting_calls_have_their_own_overall_limit(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery(limits=DeliveryLimits(other_count=10, other_window=1.0))
    await asyncio.gather(
        *(delivery.call("answerCallbackQuery", {"callback_query_id": str(i)}) for i in range(25))
    )
    # Ten a second, plus the 50 ms guard against jitter.
    assert times(transport.sent(method="answerCallbackQuery"))[::10] == [0, 1.05, 2.1]


# --- priorities and order ---------------------------------------------------------------------


async def test_higher_priorities_go_first(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery(start=False)
    waiting = [
        asyncio.ensure_future(delivery.send_message(chat, "post", priority=Priority.CONTENT))
        for chat in range(1, 6)
    ]
    waiting.append(asyncio.ensure_future(delivery.send_message(6, "reply")))
    waiting.append(
        asyncio.ensure_future(delivery.send_message(7, "alert", priority=Priority.MODERATION))
    )
    await asyncio.sleep(0)
    await delivery.start()
    await asyncio.gather(*waiting)
    assert [c.params["text"] for c in transport.sent()] == ["alert", "reply"] + ["post"] * 5


async def test_a_ban_and_an_alert_start_within_a_second_behind_a_thousand_posts(
    make_delivery: MakeDelivery, transport: FakeTransport, fake_time: FakeTime
) -> None:
    delivery = await make_delivery()
    posts = [
        asyncio.ensure_future(
            delivery.send_message(-(i % 50) - 1, f"post {i}", priority=Priority.CONTENT)
        )
        for i in range(1000)
    ]
    await until(lambda: len(transport.calls) >= 150)  # the broadcast is well under way
    asked = fake_time.now
    ban = delivery.call(
        "banChatMember", {"chat_id": -1, "user_id": 9}, priority=Priority.MODERATION
    )
    alert = delivery.send_message(-7777, "handoff", priority=Priority.MODERATION)
    assert all(o.ok for o in await asyncio.gather(ban, alert))
    (ban_call,) = transport.sent(method="banChatMember")
    (alert_call,) = transport.sent(-7777)
    assert ban_call.at - asked < 1.0
    assert alert_call.at - asked < 1.0
    assert delivery.metrics().queued > 500
    for post in posts:
        post.cancel()


async def test_a_waiting_chat_never_blocks_the_others(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    busy = asyncio.ensure_future(send_all(delivery, GROUP, 30, priority=Priority.MODERATION))
    # The burst is out; 27 bans wait for the chat's bucket.
    await until(lambda: len(transport.sent(GROUP)) >= 3)
    quiet = await delivery.send_message(OTHER_GROUP, "hi", priority=Priority.CONTENT)
    assert quiet.ok
    (quiet_call,) = transport.sent(OTHER_GROUP)
    assert quiet_call.at - 1000.0 < 1.0
    await busy


async def test_each_chat_keeps_its_order_across_retries(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", Transient("502"), RetryAfter(2), Transient("timeout"))
    outcomes = await asyncio.gather(
        *(delivery.send_message(chat, f"{chat}:{i}") for i in range(8) for chat in (1, 2, 3))
    )
    assert all(o.ok for o in outcomes)
    for chat in (1, 2, 3):
        texts = [c.params["text"] for c in transport.sent(chat)]
        delivered = list(dict.fromkeys(texts))  # a retried message shows up once per try
        assert delivered == [f"{chat}:{i}" for i in range(8)]
    assert delivery.metrics().retried == 3


async def test_a_caller_who_stops_waiting_takes_the_call_out_of_the_queue(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery(start=False)
    gone = asyncio.ensure_future(delivery.send_message(PRIVATE, "never mind"))
    kept = asyncio.ensure_future(delivery.send_message(PRIVATE, "still wanted"))
    await asyncio.sleep(0)
    gone.cancel()
    await delivery.start()
    assert (await kept).ok
    assert [c.params["text"] for c in transport.sent(PRIVATE)] == ["still wanted"]


# --- 429 --------------------------------------------------------------------------------------


async def test_429_waits_exactly_retry_after_for_that_chat(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", *[RetryAfter(5) for _ in range(10)])
    outcomes = await send_all(delivery, GROUP, 10)
    assert all(o.ok for o in outcomes)
    sent = transport.sent(GROUP)
    refused, delivered = sent[:10], sent[10:]
    assert [c.params["text"] for c in delivered] == [f"m{i}" for i in range(10)]
    # One call per chat is in flight, so the head message met all ten 429s, each one sitting out
    # exactly its 5 s, never less; then the chat's messages went in order.
    assert times(refused) == [5.0 * i for i in range(10)]
    assert delivered[0].at - refused[-1].at == pytest.approx(5.0)
    assert delivery.metrics().retried == 10


async def test_a_429_in_one_chat_does_not_hold_back_another(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", RetryAfter(30))
    first = asyncio.ensure_future(delivery.send_message(GROUP, "flooded"))
    await asyncio.sleep(0)
    assert (await delivery.send_message(OTHER_GROUP, "free")).ok
    assert transport.sent(OTHER_GROUP)[0].at - 1000.0 < 1.0
    assert (await first).ok
    assert transport.sent(GROUP)[-1].at - 1000.0 == pytest.approx(30.0)


async def test_a_429_without_a_chat_holds_every_chat(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", RetryAfter(7))
    assert (await delivery.call("sendMessage", {"text": "no chat given"}, chat_id=None)).ok
    assert (await delivery.send_message(PRIVATE, "after")).ok
    assert transport.sent(PRIVATE)[0].at - 1000.0 == pytest.approx(7.0)


async def test_429s_from_many_chats_at_once_become_a_global_wait(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", RetryAfter(4), RetryAfter(4), RetryAfter(4))
    flooded = [asyncio.ensure_future(delivery.send_message(chat, "x")) for chat in (1, 2, 3)]
    await until(lambda: delivery.metrics().retried >= 3)
    assert delivery.metrics().waits[None] == pytest.approx(4.0)
    assert (await delivery.send_message(4, "y")).ok
    assert transport.sent(4)[0].at - 1000.0 == pytest.approx(4.0)
    assert all(o.ok for o in await asyncio.gather(*flooded))


async def test_metrics_show_the_wait_in_force(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", RetryAfter(9))
    pending = asyncio.ensure_future(delivery.send_message(GROUP, "x"))
    await until(lambda: delivery.metrics().retried >= 1)
    metrics = delivery.metrics()
    assert metrics.waits == {GROUP: pytest.approx(9.0)}
    assert metrics.queued == 1
    assert "429 waits 1 (longest 9.0s)" in delivery.health_line()
    assert (await pending).ok


# --- transient failures -----------------------------------------------------------------------


async def test_server_errors_back_off_then_deliver(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", Transient("500"), Transient("dropped"), Transient("timeout"))
    outcome = await delivery.send_message(PRIVATE, "persistent")
    assert outcome.ok and outcome.message_id is not None
    gaps = [
        b - a for a, b in zip(times(transport.sent()), times(transport.sent())[1:], strict=False)
    ]
    # Steps 0.5, 1, 2 s with equal jitter: each gap in [step / 2, step].
    for gap, step in zip(gaps, (0.5, 1.0, 2.0), strict=True):
        assert step / 2 <= gap <= step


async def test_transient_failures_give_up_after_the_limit(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", *[Transient("502") for _ in range(10)])
    outcome = await delivery.send_message(PRIVATE, "doomed")
    assert outcome.reason is FailureReason.GAVE_UP
    assert len(transport.sent()) == 5
    assert delivery.metrics().failed_by_reason == {FailureReason.GAVE_UP: 1}


async def test_a_broken_transport_fails_the_call_without_retrying(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("sendMessage", KeyError("chat"))
    outcome = await delivery.send_message(PRIVATE, "x")
    assert outcome.reason is FailureReason.BAD_REQUEST
    assert len(transport.sent()) == 1


# --- refusals ---------------------------------------------------------------------------------


async def test_refusals_are_not_retried_and_say_why(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    transport.fail("deleteMessage", Refused(400, "Bad Request: message can't be deleted"))
    outcome = await delivery.delete_message(GROUP, 5)
    assert outcome == Outcome(
        ok=False,
        reason=FailureReason.MESSAGE_TOO_OLD,
        detail="400: Bad Request: message can't be deleted",
    )
    assert len(transport.sent(method="deleteMessage")) == 1


async def test_the_ops_chat_hears_once_per_chat_and_reason(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    told: list[tuple[int | None, FailureReason]] = []

    async def on_refusal(chat_id: int | None, reason: FailureReason, detail: str) -> None:
        told.append((chat_id, reason))

    delivery = await make_delivery(on_refusal=on_refusal)
    no_rights = Refused(400, "Bad Request: not enough rights to delete a message")
    transport.fail("deleteMessage", *[no_rights] * 5)
    for chat in (GROUP, GROUP, GROUP, OTHER_GROUP, OTHER_GROUP):
        assert (await delivery.delete_message(chat, 1)).reason is FailureReason.MISSING_RIGHTS
    assert told == [
        (GROUP, FailureReason.MISSING_RIGHTS),
        (OTHER_GROUP, FailureReason.MISSING_RIGHTS),
    ]
    delivery.reopen_chat(GROUP)
    transport.fail("deleteMessage", no_rights)
    await delivery.delete_message(GROUP, 1)
    assert told[-1] == (GROUP, FailureReason.MISSING_RIGHTS) and len(told) == 3


async def test_a_kicked_bot_stops_sending_to_that_group_until_reopened(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    told: list[tuple[int | None, FailureReason, str]] = []

    async def on_refusal(chat_id: int | None, reason: FailureReason, detail: str) -> None:
        told.append((chat_id, reason, detail))

    delivery = await make_delivery(on_refusal=on_refusal)
    transport.fail_chat(GROUP, KICKED)
    outcomes = await send_all(delivery, GROUP, 10)
    assert {o.reason for o in outcomes} == {FailureReason.BOT_REMOVED}
    # One call per chat is in flight: the first 403 came back before the rest left.
    assert len(transport.sent(GROUP)) == 1
    assert (await delivery.send_message(GROUP, "later")).reason is FailureReason.BOT_REMOVED
    assert len(transport.sent(GROUP)) == 1
    assert told == [(GROUP, FailureReason.BOT_REMOVED, f"403: {KICKED.description}")]
    assert delivery.metrics().closed_chats == {GROUP}
    assert (await delivery.send_message(OTHER_GROUP, "others are fine")).ok

    transport.fail_chat(GROUP, None)
    delivery.reopen_chat(GROUP)
    assert (await delivery.send_message(GROUP, "welcome back")).ok


async def test_calls_to_a_group_that_became_a_supergroup_follow_it(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    told: list[object] = []

    async def on_refusal(chat_id: int | None, reason: FailureReason, detail: str) -> None:
        told.append((chat_id, reason))

    basic, supergroup = -5001, -1005001
    delivery = await make_delivery(on_refusal=on_refusal)
    upgraded = Refused(400, "Bad Request: group chat was upgraded to a supergroup chat", supergroup)
    transport.fail_chat(basic, upgraded)
    outcomes = await send_all(delivery, basic, 5)
    assert all(o.ok for o in outcomes)
    assert [c.params["text"] for c in transport.sent(supergroup)] == [f"m{i}" for i in range(5)]
    assert len(transport.sent(basic)) == 1  # one refusal taught it; the rest went straight
    assert (await delivery.send_message(basic, "later")).ok
    assert transport.sent(supergroup)[-1].params == {"chat_id": supergroup, "text": "later"}
    assert len(transport.sent(basic)) == 1 and told == []
    assert delivery.metrics().failed == 0


# --- back-pressure ----------------------------------------------------------------------------


async def test_a_full_queue_sheds_the_newest_of_the_lowest_priority(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery(start=False, max_queue=4)

    def queue(text: str, priority: Priority) -> asyncio.Future[Outcome]:
        return asyncio.ensure_future(delivery.send_message(PRIVATE, text, priority=priority))

    old_post = queue("old post", Priority.CONTENT)
    new_post = queue("new post", Priority.CONTENT)
    reply = queue("reply", Priority.REPLY)
    ban = queue("ban 1", Priority.MODERATION)
    await asyncio.sleep(0)
    ban2 = queue("ban 2", Priority.MODERATION)  # full: the newest post makes room
    late_post = queue("late post", Priority.CONTENT)  # full, and it is the newest post itself
    await asyncio.sleep(0)
    assert (await new_post).reason is FailureReason.SHED
    assert (await late_post).reason is FailureReason.SHED
    ban3 = queue("ban 3", Priority.MODERATION)  # sheds the old post
    ban4 = queue("ban 4", Priority.MODERATION)  # sheds the reply
    ban5 = queue("ban 5", Priority.MODERATION)  # only bans left: the newcomer goes
    await asyncio.sleep(0)
    assert (await old_post).reason is FailureReason.SHED
    assert (await reply).reason is FailureReason.SHED
    assert (await ban5).reason is FailureReason.SHED
    assert delivery.metrics().shed == 5

    await delivery.start()
    assert all(o.ok for o in await asyncio.gather(ban, ban2, ban3, ban4))
    assert [c.params["text"] for c in transport.sent()] == ["ban 1", "ban 2", "ban 3", "ban 4"]


# --- the gateway helpers ----------------------------------------------------------------------


async def test_send_message_replies_in_a_thread(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    await delivery.send_message(GROUP, "answer", reply_to_message_id=12, thread_id=3)
    assert transport.sent()[0].params == {
        "chat_id": GROUP,
        "text": "answer",
        "reply_parameters": {"message_id": 12, "allow_sending_without_reply": True},
        "message_thread_id": 3,
    }


async def test_admins_are_parsed_from_chat_members(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    transport.admins[GROUP] = [
        {"status": "creator", "user": {"id": 1, "is_bot": False}, "is_anonymous": True},
        {
            "status": "administrator",
            "user": {"id": 2, "is_bot": True},
            "can_delete_messages": True,
            "can_restrict_members": False,
            "can_be_edited": False,
        },
    ]
    transport.members[(GROUP, 2)] = transport.admins[GROUP][1]
    delivery = await make_delivery()
    assert await delivery.get_chat_administrators(GROUP) == [
        ChatAdmin(user_id=1, is_bot=False, status="creator", is_anonymous=True),
        ChatAdmin(
            user_id=2,
            is_bot=True,
            status="administrator",
            rights=frozenset({"can_delete_messages"}),
        ),
    ]
    admin = await delivery.get_chat_member_status(GROUP, 2)
    assert admin is not None and admin.rights == {"can_delete_messages"}
    assert await delivery.get_chat_member_status(GROUP, 3) is None
    transport.fail("getChatAdministrators", KICKED)
    assert await delivery.get_chat_administrators(GROUP) is None


# --- stopping ---------------------------------------------------------------------------------


async def test_stop_with_drain_finishes_the_queue(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    pending = asyncio.ensure_future(send_all(delivery, GROUP, 8))
    await until(lambda: bool(transport.calls))
    await delivery.stop(drain=True)
    assert all(o.ok for o in await pending)
    assert (await delivery.send_message(GROUP, "too late")).reason is FailureReason.SHED
    assert "delivery stopped" in delivery.health_line()


async def test_stop_without_drain_sheds_what_is_queued(
    make_delivery: MakeDelivery, transport: FakeTransport
) -> None:
    delivery = await make_delivery()
    pending = asyncio.ensure_future(send_all(delivery, GROUP, 8))
    # The burst is out; the rest wait for the chat's bucket.
    await until(lambda: len(transport.calls) >= 3)
    await delivery.stop(drain=False)
    reasons = Counter(o.reason for o in await pending)
    assert reasons == {None: 3, FailureReason.SHED: 5}
    assert delivery.metrics().queued == 0
