"""Fault injection: make the next calls of a method fail the ways Telegram's servers fail."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FaultKind(enum.StrEnum):
    """How an injected fault shows itself to the client."""

    SERVER_ERROR = "server_error"  # 500 Internal Server Error (or 502 with status=502)
    TIMEOUT = "timeout"  # no answer until the client gives up and closes the connection
    DROP = "drop"  # the connection is closed without an answer
    RETRY_AFTER = "retry_after"  # 429 Too Many Requests with parameters.retry_after


@dataclass
class Fault:
    """A pending fault for `count` more calls of `method` (lower-case; None = any bot)."""

    method: str
    kind: FaultKind
    count: int
    retry_after: int = 5
    status: int = 500
    applied: bool = False  # True: the call takes effect first, only the answer is lost
    bot_id: int | None = None


class FaultPlan:
    """The faults waiting to fire, in the order they were injected."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue a fault."""
        self._faults.append(fault)

    def take(self, method: str, bot_id: int) -> Fault | None:
        """The fault for this call, if one is waiting; consumes one of its counts."""
        for fault in self._faults:
            if fault.method == method.lower() and fault.bot_id in (None, bot_id):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()
