"""The rate limiters, the posting/other split and the refusal phrases, as pure rules."""

from __future__ import annotations

import pytest

from bot.delivery import (
    DeliveryLimits,
    PacedWindow,
    SlidingWindow,
    TokenBucket,
    is_posting,
    refusal_reason,
)
from bot.delivery.limits import message_cost
from bot.ports import FailureReason


def test_token_bucket_allows_the_burst_then_one_per_interval() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    for _ in range(3):
        assert bucket.delay(0.0) == 0
        bucket.take(0.0)
    assert bucket.delay(0.0) == pytest.approx(1.0)
    assert bucket.delay(0.5) == pytest.approx(0.5)
    assert bucket.delay(1.0) == 0
    bucket.take(1.0)
    assert bucket.delay(1.0) == pytest.approx(1.0)


def test_token_bucket_refills_only_up_to_the_burst() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    bucket.take(0.0, 3)
    assert not bucket.idle(1.0)
    assert bucket.idle(100.0)
    bucket.take(100.0, 3)
    assert bucket.delay(100.0) == pytest.approx(1.0)


def test_token_bucket_cost_above_the_burst_waits_for_a_full_bucket_only() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, now=0.0)
    bucket.take(0.0, 3)
    assert bucket.delay(0.0, cost=10) == pytest.approx(3.0)


def test_sliding_window_holds_count_in_any_window() -> None:
    window = SlidingWindow(count=20, window=60.0)
    for second in range(20):
        assert window.delay(float(second)) == 0
        window.take(float(second))
    # The 21st waits until the first leaves the window, exactly 60 s after it.
    assert window.delay(20.0) == pytest.approx(40.0)
    assert window.delay(60.0) == 0
    window.take(60.0)
    assert window.delay(60.0) == pytest.approx(1.0)


def test_sliding_window_can_keep_places_free() -> None:
    window = SlidingWindow(count=20, window=60.0)
    window.take(0.0, cost=17)
    assert window.delay(1.0, reserve=3) == pytest.approx(59.0)
    assert window.delay(1.0) == 0


def test_paced_window_spreads_calls_after_a_burst() -> None:
    paced = PacedWindow(count=30, window=1.0, burst=5)
    sent = 0.0
    for _ in range(5):
        assert paced.delay(sent) == 0
        paced.take(sent)
    assert paced.delay(sent) == pytest.approx(1 / 30)


def test_sliding_window_counts_an_album_as_its_messages() -> None:
    window = SlidingWindow(count=20, window=60.0)
    window.take(0.0, cost=10)
    window.take(5.0, cost=8)
    assert window.delay(6.0, cost=2) == 0
    assert window.delay(6.0, cost=3) == pytest.approx(54.0)
    assert window.idle(65.0)


@pytest.mark.parametrize(
    ("method", "posting"),
    [
        ("sendMessage", True),
        ("sendPhoto", True),
        ("sendMediaGroup", True),
        ("copyMessage", True),
        ("forwardMessage", True),
        ("editMessageText", True),
        ("sendChatAction", False),
        ("deleteMessage", False),
        ("restrictChatMember", False),
        ("banChatMember", False),
        ("answerCallbackQuery", False),
        ("getChatAdministrators", False),
    ],
)
def test_posting_methods_are_those_that_put_a_message_in_a_chat(method: str, posting: bool) -> None:
    assert is_posting(method) is posting


def test_albums_and_batch_forwards_cost_one_per_message() -> None:
    assert message_cost("sendMediaGroup", {"media": [{}, {}, {}]}) == 3
    assert message_cost("forwardMessages", {"message_ids": [1, 2]}) == 2
    assert message_cost("sendMessage", {"text": "x"}) == 1


def test_scaled_limits_keep_the_ratios() -> None:
    fast = DeliveryLimits().scaled(10)
    assert fast.per_chat_rate == 10
    assert fast.per_group_count == 20 and fast.per_group_window == 6
    assert fast.overall_count == 30 and fast.overall_window == pytest.approx(0.1)
    assert fast.per_chat_burst == 3


@pytest.mark.parametrize(
    ("description", "reason"),
    [
        ("Bad Request: not enough rights to delete a message", FailureReason.MISSING_RIGHTS),
        ("Forbidden: have no rights to send a message", FailureReason.MISSING_RIGHTS),
        ("Bad Request: CHAT_ADMIN_REQUIRED", FailureReason.MISSING_RIGHTS),
        ("Bad Request: message can't be deleted", FailureReason.MESSAGE_TOO_OLD),
        ("Bad Request: message to delete not found", FailureReason.MESSAGE_NOT_FOUND),
        ("Bad Request: message to edit not found", FailureReason.MESSAGE_NOT_FOUND),
        ("Bad Request: message not found", FailureReason.MESSAGE_NOT_FOUND),
        ("Forbidden: bot was kicked from the supergroup chat", FailureReason.BOT_REMOVED),
        ("Forbidden: bot is not a member of the group chat", FailureReason.BOT_REMOVED),
        ("Forbidden: the group chat was deleted", FailureReason.BOT_REMOVED),
        ("Bad Request: group chat was upgraded to a supergroup chat", FailureReason.BOT_REMOVED),
        ("Bad Request: chat not found", FailureReason.CHAT_NOT_FOUND),
        ("Bad Request: message text is empty", FailureReason.BAD_REQUEST),
    ],
)
def test_refusals_map_to_the_reason_callers_act_on(description: str, reason: FailureReason) -> None:
    assert refusal_reason(description) is reason
