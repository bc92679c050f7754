"""Secrets never reach the log: the leaks seen in the field, fed through the one filter."""

from __future__ import annotations

import logging

import pytest

from bot.config import Settings
from bot.logging import RedactSecrets

TOKEN = "7000000001:AAe6Hq-known-token-from-the-settings-0123"
OTHER_TOKEN = "123456789:AAH-a-token-nobody-configured-xyz"
URL = "postgresql+asyncpg://root:hunter2%25x@db.internal:5432/groupops"


@pytest.fixture
def shown() -> list[str]:
    """Every line a handler with the filter would write, traceback included."""
    return []


@pytest.fixture
def log(shown: list[str]) -> logging.Logger:
    settings = Settings(bot_token=TOKEN, database_url=URL, webhook_secret="hook-s3cret")  # type: ignore[arg-type]
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.emit = lambda record: shown.append(handler.format(record))  # type: ignore[method-assign]
    handler.addFilter(RedactSecrets(settings.secrets()))
    logger = logging.getLogger("groupops.test.redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def _leaks(text: str) -> list[str]:
    secrets = (TOKEN, TOKEN.partition(":")[2], OTHER_TOKEN, "hunter2", "hook-s3cret")
    return [secret for secret in secrets if secret in text]


def test_a_token_in_a_library_error(log: logging.Logger, shown: list[str]) -> None:
    log.error("NonHttpUrlClientError: 127.0.0.1:8081/bot%s/getMe", TOKEN)
    assert shown == ["NonHttpUrlClientError: 127.0.0.1:8081/bot<secret>/getMe"]


def test_a_token_nobody_configured(log: logging.Logger, shown: list[str]) -> None:
    log.warning("request to https://api.telegram.org/bot%s/getMe failed", OTHER_TOKEN)
    assert shown == ["request to https://api.telegram.org/bot<token>/getMe failed"]


def test_a_database_password_in_a_url(log: logging.Logger, shown: list[str]) -> None:
    log.info("migrating %s", URL)
    log.info("migrating %s", URL.replace("%25", "%"))  # as a driver decodes it
    log.info("connecting to mysql://u:other-pass@h/db")
    assert shown == [
        "migrating postgresql+asyncpg://root:***@db.internal:5432/groupops",
        "migrating postgresql+asyncpg://root:***@db.internal:5432/groupops",
        "connecting to mysql://u:***@h/db",
    ]


def test_secrets_in_a_traceback(log: logging.Logger, shown: list[str]) -> None:
    try:
        raise ConnectionError(f"cannot reach http://x/bot{TOKEN}/getMe with hook-s3cret")
    except ConnectionError:
        log.exception("polling failed")
    (text,) = shown
    assert "Traceback" in text and "bot<secret>/getMe" in text
    assert _leaks(text) == []


def test_a_message_without_secrets_is_unchanged(log: logging.Logger, shown: list[str]) -> None:
    log.info("started as @%s (id %s) at 14:35:02", "groupops_bot", 7000000001)
    assert shown == ["started as @groupops_bot (id 7000000001) at 14:35:02"]


def test_an_unexpected_error_shows_its_traceback_without_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    async def crash(settings: Settings, *, webhook: bool) -> int:
        raise RuntimeError(f"cannot reach http://x/bot{TOKEN}/getUpdates")

    monkeypatch.setattr(cli, "_run", crash)
    monkeypatch.setattr(cli, "load_settings", lambda: Settings(_env_file=None, bot_token=TOKEN))  # type: ignore[call-arg]
    try:
        assert cli.main(["run"]) == 1
    finally:  # main() configured the process's logging; give the test run its own back
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
        logging.captureWarnings(False)
    err = capsys.readouterr().err
    assert "Traceback" in err and "stopped by an unexpected error" in err
    assert _leaks(err) == []
