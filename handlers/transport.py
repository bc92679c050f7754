"""The aiogram adapter behind delivery: runs one Bot API call and maps aiogram's errors to ports'.

This and the composition root (`bot/app.py`) are the only places that call the aiogram `Bot`;
everything else sends through `bot.delivery` (checked by tests/delivery/test_bot_only_via_delivery).
aiogram's session makes exactly one HTTP request per call and never retries on its own, so the
retries, waits and back-off all live in delivery.
"""

from __future__ import annotations

from typing import Any

import aiogram.methods
from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import BufferedInputFile
from aiohttp import ClientError
from pydantic import BaseModel, ValidationError

from bot.ports import Refused, RetryAfter, TransientError, Upload

# aiogram names the exception by status code; the code itself is not kept, so it is restored here.
_REFUSALS: tuple[tuple[type[TelegramAPIError], int], ...] = (
    (TelegramMigrateToChat, 400),
    (TelegramBadRequest, 400),
    (TelegramUnauthorizedError, 401),
    (TelegramForbiddenError, 403),
    (TelegramNotFound, 404),
    (TelegramConflictError, 409),
    (TelegramEntityTooLarge, 413),  # a subclass of TelegramNetworkError, so checked before it
)


class AiogramTransport:
    """`BotApiTransport` over an aiogram `Bot`: one call, one request, plain JSON-able results."""

    def __init__(self, bot: Bot, request_timeout: float = 30) -> None:
        self._bot = bot
        self._request_timeout = request_timeout

    async def execute(self, method: str, params: dict[str, Any]) -> Any:
        """Run `method` (its Bot API name, e.g. "sendMessage") with `params`; map failures."""
        method_type = getattr(aiogram.methods, method[:1].upper() + method[1:], None)
        if not isinstance(method_type, type) or not issubclass(
            method_type, aiogram.methods.TelegramMethod
        ):
            raise Refused(404, f"Not Found: no Bot API method {method!r}")
        try:
            call = method_type(**_with_files(params))
        except ValidationError as exc:
            # What Telegram would answer to the same parameters; retrying cannot fix it.
            raise Refused(400, f"Bad Request: {exc.errors(include_url=False)}") from exc
        try:
            # aiogram types request_timeout as int; aiohttp takes any number of seconds.
            result = await self._bot(call, request_timeout=self._request_timeout)  # type: ignore[arg-type]
        except TelegramRetryAfter as exc:
            raise RetryAfter(exc.retry_after, exc.message) from exc
        except TelegramAPIError as exc:
            raise _map_api_error(exc) from exc
        except ClientDecodeError as exc:
            data = exc.data
            if isinstance(data, dict) and data.get("ok") is True:
                # Telegram did it; only aiogram's model of the answer is older than the answer
                # (a field added in a newer Bot API). Retrying would do it twice.
                return data.get("result")
            # A body that is not the Bot API's JSON comes from a proxy or a server in trouble.
            raise TransientError(str(exc)) from exc
        except (TimeoutError, ClientError) as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        return _plain(result)


def _with_files(params: dict[str, Any]) -> dict[str, Any]:
    """Uploads as aiogram input files, which its session sends as multipart parts."""
    if not any(isinstance(value, Upload) for value in params.values()):
        return params
    return {
        key: BufferedInputFile(value.data, filename=value.filename)
        if isinstance(value, Upload)
        else value
        for key, value in params.items()
    }


def _map_api_error(exc: TelegramAPIError) -> Refused | TransientError:
    if isinstance(exc, TelegramMigrateToChat):
        return Refused(400, exc.message, migrate_to_chat_id=exc.migrate_to_chat_id)
    for exc_type, code in _REFUSALS:
        if isinstance(exc, exc_type):
            return Refused(code, exc.message)
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return TransientError(exc.message)
    # An unexpected status aiogram has no class for: retrying blindly would not help either.
    return Refused(0, exc.message)


def _plain(result: Any) -> Any:
    """aiogram's result as JSON-able data: models as dicts without nulls, lists item by item."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json", exclude_none=True)
    if isinstance(result, list):
        return [_plain(item) for item in result]
    return result
