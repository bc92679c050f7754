"""Settings from the environment and `.env`, checked once at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the key."""


class Settings(BaseSettings):
    """Everything groupops reads from its environment (see `.env.example`)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr = Field(default=SecretStr(""), description="BotFather's token")
    database_url: str = "sqlite+aiosqlite:///./groupops.db"
    auto_migrate: bool | None = None  # None: on for SQLite, off for PostgreSQL
    telegram_api_base: str = "https://api.telegram.org"
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_host: str = "127.0.0.1"
    # Not 8081: that is the simulator's default, and a bot beside it could not listen.
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_path: str = "/telegram/webhook"
    ops_chat_id: int | None = None
    # A question unanswered this long goes to the humans; at the SLA it escalates (issue 10).
    handoff_after_seconds: int = Field(default=600, ge=1)
    handoff_sla_seconds: int = Field(default=1800, ge=1)
    default_timezone: str = "UTC"
    log_level: str = "INFO"
    # A database that is down at start (not misconfigured) is retried this long; 0: fail at once.
    database_wait_seconds: float = Field(default=30, ge=0)
    ingest_batch_size: int = Field(default=100, ge=1, le=10_000)
    ingest_flush_ms: int = Field(default=50, ge=1, le=10_000)
    ingest_queue_size: int = Field(default=10_000, ge=100)
    admin_cache_seconds: int = Field(default=300, ge=0)
    commands_per_minute: int = Field(default=5, ge=1)
    text_retention_sweep_minutes: int = Field(default=60, ge=1, le=24 * 60)

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("telegram_api_base")
    @classmethod
    def _api_base(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(
                "give the scheme and host, like https://api.telegram.org or http://127.0.0.1:8081"
            )
        if parts.path.strip("/") or parts.query or parts.fragment:
            # Often the simulator's `…/bot<token>/<method>` line pasted whole: aiogram appends
            # that part itself, and the token in it would be shown in every error.
            raise ValueError(
                f"it holds a path after the host: use only {parts.scheme}://{parts.netloc}"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("use one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

    @classmethod
    def model_fields_upper(cls) -> set[str]:
        """The environment variable names settings are read from."""
        return {name.upper() for name in cls.model_fields}

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def migrates_itself(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    def secrets(self) -> tuple[str, ...]:
        """Everything that must never be shown: the token, the webhook secret, the database
        password."""
        password = urlsplit(self.database_url).password or ""
        return (
            self.bot_token.get_secret_value(),
            self.webhook_secret.get_secret_value(),
            password,
            unquote(password),  # as a driver's error would quote it
        )

    def require_token(self) -> str:
        """The bot token, or a SettingsError naming BOT_TOKEN."""
        token = self.bot_token.get_secret_value()
        if not token:
            raise SettingsError("BOT_TOKEN is not set: put the token BotFather gave you in .env")
        if not _TOKEN_RE.match(token):
            raise SettingsError("BOT_TOKEN is malformed: expected digits, a colon and the secret")
        return token


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Read settings; a bad value becomes one SettingsError line naming its key."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]).upper() if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{key} is invalid: {message}") from None
