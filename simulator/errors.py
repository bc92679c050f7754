"""Errors: those a bot sees in the Bot API envelope and those a test sees from control calls."""

from __future__ import annotations

from typing import Any


class BotApiError(Exception):
    """A Bot API failure, answered as {"ok": false, "error_code", "description", "parameters"}."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def envelope(self) -> dict[str, Any]:
        """The JSON body Telegram would answer with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class SimulatorError(Exception):
    """A control call asked for something the world does not allow (unknown chat, banned user)."""
