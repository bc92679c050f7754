"""How often one member may run commands: a sliding window per member and chat, pure."""

from __future__ import annotations

from collections import deque
from enum import StrEnum


class RateVerdict(StrEnum):
    """What to do with a member's command."""

    RUN = "run"
    NOTICE = "notice"  # the first past the limit: say so once
    IGNORE = "ignore"  # later ones in the same window: silence


class CommandRate:
    """Each member may run `limit` commands per `window` seconds in a chat.

    The first command past the limit gets one notice; the rest are ignored until the window
    has room again. Bounded: the oldest members are forgotten past `max_members`.
    """

    def __init__(self, limit: int = 5, window: float = 60.0, max_members: int = 100_000) -> None:
        self._limit = limit
        self._window = window
        self._max_members = max_members
        self._runs: dict[tuple[int, int], deque[float]] = {}
        self._noticed: dict[tuple[int, int], float] = {}

    def check(self, chat_id: int, user_id: int, now: float) -> RateVerdict:
        """Count a command at `now` (seconds) and say whether it runs."""
        key = (chat_id, user_id)
        runs = self._runs.get(key)
        if runs is None:
            if len(self._runs) >= self._max_members:
                del self._runs[next(iter(self._runs))]
            runs = self._runs[key] = deque()
        while runs and runs[0] <= now - self._window:
            runs.popleft()
        if len(runs) < self._limit:
            runs.append(now)
            self._noticed.pop(key, None)
            return RateVerdict.RUN
        if key in self._noticed:
            return RateVerdict.IGNORE
        if len(self._noticed) >= self._max_members:
            del self._noticed[next(iter(self._noticed))]
        self._noticed[key] = now
        return RateVerdict.NOTICE
