"""Telegram's flood limits as data, and the rate limiters that keep delivery under them."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

# Calls that put (or change) a message in a chat. Telegram's flood control counts edits as well as
# new messages, so edits share the posting limits; everything else (deletes, restrictions, bans,
# callback answers, getChat*) is "other" and has its own, looser overall limit.
_POSTING_EXTRA = frozenset(
    {
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
        "editMessageLiveLocation",
        "editMessageChecklist",
        "stopPoll",
    }
)
# "send…" methods that do not post a message.
_NOT_POSTING = frozenset({"sendChatAction"})


def is_posting(method: str) -> bool:
    """Whether `method` posts or edits a message, and so counts against the message limits."""
    if method in _NOT_POSTING:
        return False
    return method.startswith("send") or method in _POSTING_EXTRA


def message_cost(method: str, params: dict[str, Any]) -> int:
    """How many messages one call posts: an album or a batch forward counts each message."""
    if method == "sendMediaGroup":
        return max(1, len(params.get("media") or ()))
    if method in {"copyMessages", "forwardMessages"}:
        return max(1, len(params.get("message_ids") or ()))
    return 1


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """How fast delivery may talk to Telegram, and how hard it tries again.

    The defaults are Telegram's documented limits (the same numbers python-telegram-bot uses).
    """

    per_chat_rate: float = 1.0  # messages per second in one chat...
    per_chat_burst: int = 3  # ...with a short burst allowed
    per_group_count: int = 20  # messages in one group (chat_id < 0)...
    per_group_window: float = 60.0  # ...per this many seconds...
    group_reserve: int = 3  # ...of which CONTENT may not use the last few, kept for replies
    overall_count: int = 30  # posting calls across all chats...
    overall_window: float = 1.0  # ...per this many seconds...
    overall_burst: int = 5  # ...evenly paced after a burst of this many
    other_count: int = 50  # non-posting calls (delete, restrict, getChat*…) per window
    other_window: float = 1.0
    other_burst: int = 10
    # Windows are kept this much longer than Telegram's: requests reach Telegram with jitter,
    # and a window filled to the exact count gets 429s when two arrive closer than they left.
    window_guard: float = 0.05
    max_in_flight: int = 64  # HTTP requests open at once
    moderation_reserve: int = 8  # of those, kept free for MODERATION calls
    max_tries: int = 5  # attempts per call when failures are transient (5xx, time-outs)
    backoff_base: float = 0.5  # first transient back-off, doubled each try, with jitter
    backoff_cap: float = 30.0
    max_flood_waits: int = 20  # 429s one call will sit out before giving up
    global_flood_chats: int = 3  # 429s from this many chats...
    global_flood_window: float = 1.0  # ...within this many seconds are treated as a global wait

    def scaled(self, factor: float) -> DeliveryLimits:
        """The same limits `factor` times faster (for simulator runs that must stay short)."""
        return replace(
            self,
            per_chat_rate=self.per_chat_rate * factor,
            per_group_window=self.per_group_window / factor,
            overall_window=self.overall_window / factor,
            other_window=self.other_window / factor,
            backoff_base=self.backoff_base / factor,
            backoff_cap=self.backoff_cap / factor,
            global_flood_window=self.global_flood_window / factor,
            window_guard=self.window_guard / factor,
        )


class TokenBucket:
    """`rate` tokens a second, holding at most `burst`: a steady pace with a short burst."""

    __slots__ = ("_burst", "_rate", "_tokens", "_updated")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self._rate = rate
        self._burst = float(max(1, burst))
        self._tokens = self._burst
        self._updated = now

    def _refill(self, now: float) -> None:
        if now > self._updated:
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now

    def delay(self, now: float, cost: int = 1) -> float:
        """Seconds until `cost` tokens are there (0 when they are now)."""
        self._refill(now)
        missing = min(float(cost), self._burst) - self._tokens
        return 0.0 if missing <= 1e-9 else missing / self._rate

    def take(self, now: float, cost: int = 1) -> None:
        """Spend `cost` tokens; the balance may go negative, which delays the next call."""
        self._refill(now)
        self._tokens -= cost

    def idle(self, now: float) -> bool:
        """Whether the bucket is full again, so forgetting it changes nothing."""
        self._refill(now)
        return self._tokens >= self._burst

    def copy(self) -> TokenBucket:
        """A twin to try "what if" on (an estimate of a wait) without spending these tokens."""
        twin = TokenBucket(self._rate, 1, self._updated)
        twin._burst, twin._tokens = self._burst, self._tokens
        return twin


class SlidingWindow:
    """At most `count` events in any `window` seconds: Telegram's "20 per minute" read literally.

    A token bucket of the same rate would let twice the count through in the first window (a full
    burst, then the refill), which is how bots earn 429s from the per-group limit.
    """

    __slots__ = ("_count", "_times", "_window")

    def __init__(self, count: int, window: float) -> None:
        self._count = max(1, count)
        self._window = window
        self._times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        times = self._times
        while times and times[0] + self._window <= now:
            times.popleft()

    def delay(self, now: float, cost: int = 1, reserve: int = 0) -> float:
        """Seconds until `cost` more events fit in the window, leaving `reserve` places free."""
        self._expire(now)
        limit = max(1, self._count - reserve)
        excess = len(self._times) + min(cost, limit) - limit
        if excess <= 0:
            return 0.0
        return max(0.0, self._times[excess - 1] + self._window - now)

    def take(self, now: float, cost: int = 1) -> None:
        """Record `cost` events at `now`."""
        self._expire(now)
        self._times.extend([now] * min(cost, self._count))

    def idle(self, now: float) -> bool:
        """Whether the window is empty, so forgetting it changes nothing."""
        self._expire(now)
        return not self._times

    def copy(self) -> SlidingWindow:
        """A twin to try "what if" on (an estimate of a wait) without recording anything here."""
        twin = SlidingWindow(self._count, self._window)
        twin._times = deque(self._times)
        return twin


class PacedWindow:
    """A sliding window that is also paced: `count` per `window`, spread out after a burst.

    The window alone lets the whole count out at once and then nothing for the rest of the window,
    so an urgent call that arrives just after such a burst waits the full window. Pacing at the
    window's own rate keeps that wait to one interval (33 ms at 30/s); the window still
    guarantees the count is never exceeded.
    """

    __slots__ = ("_bucket", "_window")

    def __init__(self, count: int, window: float, burst: int) -> None:
        self._window = SlidingWindow(count, window)
        self._bucket = TokenBucket(max(1, count) / window, burst, -math.inf)

    def delay(self, now: float, cost: int = 1) -> float:
        """Seconds until `cost` more events are allowed (0 when they are now)."""
        return max(self._window.delay(now, cost), self._bucket.delay(now, cost))

    def take(self, now: float, cost: int = 1) -> None:
        """Record `cost` events at `now`."""
        self._window.take(now, cost)
        self._bucket.take(now, cost)

    def idle(self, now: float) -> bool:
        """Whether nothing is remembered that could delay a call."""
        return self._window.idle(now) and self._bucket.idle(now)
