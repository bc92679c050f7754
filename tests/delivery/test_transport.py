"""The aiogram adapter: Bot API answers (status and body) become results or the ports' errors."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiohttp import ClientConnectionError

from bot.ports import Refused, RetryAfter, TransientError
from handlers.transport import AiogramTransport

TOKEN = "42:" + "A" * 35


class CannedSession(BaseSession):
    """An aiogram session that answers each request with the next canned (status, body).

    It runs aiogram's own `check_response`, so the status-to-exception mapping under test is
    aiogram's real one; an exception in place of an answer is raised as the network would.
    """

    def __init__(self) -> None:
        super().__init__()
        self.answers: deque[tuple[int, dict[str, Any]] | Exception] = deque()
        self.requests: list[tuple[str, int | None]] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> Any:
        self.requests.append((method.__api_method__, timeout))
        answer = self.answers.popleft()
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        response = self.check_response(bot, method, status, json.dumps(body))
        return response.result

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - aiogram's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError("delivery never downloads files")
        yield b""


@pytest.fixture
def session() -> CannedSession:
    return CannedSession()


@pytest.fixture
def transport(session: CannedSession) -> AiogramTransport:
    return AiogramTransport(Bot(TOKEN, session=session), request_timeout=7)


def error(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


async def test_a_message_comes_back_as_plain_json(
    transport: AiogramTransport, session: CannedSession
) -> None:
    session.answers.append(
        (
            200,
            {
                "ok": True,
                "result": {
                    "message_id": 7,
                    "date": 1764072000,
                    "chat": {"id": -1001, "type": "supergroup", "title": "G"},
                    "text": "hi",
                },
            },
        )
    )
    result = await transport.execute(
        "sendMessage",
        {"chat_id": -1001, "text": "hi", "reply_parameters": {"message_id": 3}},
    )
    assert result["message_id"] == 7
    assert result["chat"] == {"id": -1001, "type": "supergroup", "title": "G"}
    assert isinstance(result["date"], int | str)
    json.dumps(result)  # JSON-able all the way down
    assert session.requests == [("sendMessage", 7)]


async def test_lists_and_booleans_come_back_as_they_are(
    transport: AiogramTransport, session: CannedSession
) -> None:
    admin = {
        "status": "administrator",
        "user": {"id": 5, "is_bot": False, "first_name": "A"},
        "can_be_edited": False,
        "is_anonymous": False,
        "can_manage_chat": True,
        "can_delete_messages": True,
        "can_manage_video_chats": False,
        "can_restrict_members": True,
        "can_promote_members": False,
        "can_change_info": False,
        "can_invite_users": True,
        "can_post_stories": False,
        "can_edit_stories": False,
        "can_delete_stories": False,
        "can_send_welcome_messages": False,
    }
    session.answers.append((200, {"ok": True, "result": [admin]}))
    session.answers.append((200, {"ok": True, "result": True}))
    (got,) = await transport.execute("getChatAdministrators", {"chat_id": -1001})
    assert got["status"] == "administrator" and got["can_delete_messages"] is True
    assert await transport.execute("deleteMessage", {"chat_id": -1001, "message_id": 1}) is True


async def test_an_answer_newer_than_aiogram_still_counts_as_done(
    transport: AiogramTransport, session: CannedSession
) -> None:
    # A Bot API newer than aiogram's models: the call happened, so it must not be retried.
    admin = {"status": "administrator", "user": {"id": 5, "is_bot": False, "first_name": "A"}}
    session.answers.append((200, {"ok": True, "result": [admin]}))
    assert await transport.execute("getChatAdministrators", {"chat_id": -1001}) == [admin]


async def test_429_becomes_retry_after_with_telegrams_seconds(
    transport: AiogramTransport, session: CannedSession
) -> None:
    session.answers.append(error(429, "Too Many Requests: retry after 5", retry_after=5))
    with pytest.raises(RetryAfter) as caught:
        await transport.execute("sendMessage", {"chat_id": 1, "text": "x"})
    assert caught.value.retry_after == 5


@pytest.mark.parametrize(
    "answer",
    [
        error(500, "Internal Server Error"),
        error(502, "Bad Gateway"),
        (502, {"not": "the bot api"}),
        ClientConnectionError("Connection reset by peer"),
        TimeoutError(),
    ],
)
async def test_server_trouble_is_transient(
    transport: AiogramTransport,
    session: CannedSession,
    answer: tuple[int, dict[str, Any]] | Exception,
) -> None:
    session.answers.append(answer)
    with pytest.raises(TransientError):
        await transport.execute("sendMessage", {"chat_id": 1, "text": "x"})


async def test_aiogram_wrapped_network_errors_are_transient(session: CannedSession) -> None:
    # The real aiohttp session wraps time-outs and connection errors in TelegramNetworkError.
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9")))
    try:
        with pytest.raises(TransientError):
            await AiogramTransport(bot, request_timeout=2).execute(
                "sendMessage", {"chat_id": 1, "text": "x"}
            )
    finally:
        await bot.session.close()


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (error(400, "Bad Request: message can't be deleted"), 400),
        (error(403, "Forbidden: bot was kicked from the supergroup chat"), 403),
        (error(404, "Not Found"), 404),
        (error(401, "Unauthorized"), 401),
        (error(409, "Conflict: terminated by other getUpdates request"), 409),
        (error(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1009), 400),
    ],
)
async def test_refusals_keep_code_and_description(
    transport: AiogramTransport,
    session: CannedSession,
    answer: tuple[int, dict[str, Any]],
    code: int,
) -> None:
    session.answers.append(answer)
    with pytest.raises(Refused) as caught:
        await transport.execute("deleteMessage", {"chat_id": -1001, "message_id": 1})
    assert caught.value.error_code == code
    assert answer[1]["description"] in caught.value.description


async def test_calls_that_cannot_be_built_are_refused_without_a_request(
    transport: AiogramTransport, session: CannedSession
) -> None:
    with pytest.raises(Refused) as unknown:
        await transport.execute("sendCarrierPigeon", {"chat_id": 1})
    assert unknown.value.error_code == 404
    with pytest.raises(Refused) as malformed:
        await transport.execute("sendMessage", {"chat_id": 1})  # no text
    assert malformed.value.error_code == 400
    assert session.requests == []
