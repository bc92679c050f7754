"""Logging set-up: one line per event of note, and never the bot token."""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    """Replaces the token wherever a message would show it (URLs in library errors)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token
        self._secret = token.partition(":")[2]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secret:
            return True
        message = record.getMessage()
        if self._secret in message:
            record.msg = message.replace(self._token, "<token>").replace(self._secret, "<token>")
            record.args = None
        return True


def configure(level: str, token: str = "") -> None:
    """Log to stderr at `level`; quiet aiogram's and APScheduler's line-per-run chatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if token:
        handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every update at INFO; our own intake logs what matters.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    # APScheduler logs every job run and its own start and stop at INFO; failures are ours to log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
