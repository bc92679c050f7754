"""Logging set-up: one line per event of note, and never a secret (bot token, passwords)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Any Bot API token, known or not: a library error may quote a token from a URL we never built
# (a pasted `.env` line, another bot's token in a test). Same shape as config's token check.
_ANY_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{20,}")
# The password in `scheme://user:password@host` (database URLs, proxies).
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+@")


class RedactSecrets(logging.Filter):
    """Hides the bot token, database passwords and known secrets in every record it sees.

    It sits on the handler, so it sees records from every logger, and it rewrites tracebacks too:
    an exception's message is where libraries quote URLs with the token in them.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by a placeholder."""
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        text = _ANY_TOKEN.sub("<token>", text)
        return _URL_PASSWORD.sub(r"\g<head>***@", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure(level: str, secrets: Iterable[str] = ()) -> RedactSecrets:
    """Log to stderr at `level`, with secrets hidden; quiet libraries' line-per-run chatter.

    Returns the filter, so what is printed outside logging can be redacted the same way.
    """
    redactor = RedactSecrets(secrets)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Python's warnings (a library's deprecation, an unclosed resource) pass the same filter.
    logging.captureWarnings(True)
    # aiogram logs every update at INFO; our own intake logs what matters.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    # APScheduler logs every job run and its own start and stop at INFO; failures are ours to log.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic announces its plugins and its context at INFO on every start, and each revision
    # it applies; the app says itself that it migrates, in one line.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return redactor
