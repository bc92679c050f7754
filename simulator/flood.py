"""Flood control: Telegram's per-chat, per-group and global limits on messages a bot posts."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FloodLimits:
    """How fast a bot may post. Defaults follow Telegram's published limits.

    per_chat_per_sec/per_chat_burst: a token bucket per chat (a short burst, then about 1/s);
    per_group_per_min: a sliding minute per group or supergroup; global_per_sec: a sliding second
    across all chats. A value of 0 or None switches that limit off.
    """

    per_chat_per_sec: float | None = 1.0
    per_chat_burst: int = 3
    per_group_per_min: int | None = 20
    global_per_sec: int | None = 30

    @classmethod
    def disabled(cls) -> FloodLimits:
        """No flood control at all (for tests that post a lot and do not test limits)."""
        return cls(per_chat_per_sec=None, per_group_per_min=None, global_per_sec=None)


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class FloodControl:
    """The limiter state of one bot. `check` answers how long to wait, or 0 and counts the post."""

    limits: FloodLimits
    _chats: dict[int, _Bucket] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)
    _recent: deque[float] = field(default_factory=deque)

    def check(self, chat_id: int, is_group: bool, now: float) -> int:
        """Seconds the bot must wait before posting to `chat_id`; 0 means the post is counted."""
        limits = self.limits
        waits: list[float] = []
        bucket: _Bucket | None = None
        if limits.per_chat_per_sec:
            rate = limits.per_chat_per_sec
            burst = max(1, limits.per_chat_burst)
            bucket = self._chats.setdefault(chat_id, _Bucket(float(burst), now))
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
            if bucket.tokens < 1:
                waits.append((1 - bucket.tokens) / rate)
        window: deque[float] | None = None
        if limits.per_group_per_min and is_group:
            window = self._groups.setdefault(chat_id, deque())
            _expire(window, now - 60)
            if len(window) >= limits.per_group_per_min:
                waits.append(window[0] + 60 - now)
        if limits.global_per_sec:
            _expire(self._recent, now - 1)
            if len(self._recent) >= limits.global_per_sec:
                waits.append(self._recent[0] + 1 - now)
        if waits:
            # Telegram rounds up and never says "retry after 0".
            return max(1, math.ceil(max(waits)))
        if bucket is not None:
            bucket.tokens -= 1
        if window is not None:
            window.append(now)
        if limits.global_per_sec:
            self._recent.append(now)
        return 0


def _expire(window: deque[float], before: float) -> None:
    while window and window[0] <= before:
        window.popleft()
