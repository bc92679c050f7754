"""The route gate: aiogram parses only the updates some router could act on (from the routers)."""

from __future__ import annotations

from typing import Any, cast

from aiogram import Dispatcher, Router
from aiogram.filters import Command

from bot.app import build_dispatcher
from bot.config import Settings
from bot.features import Runtime
from bot.services.engagement import EngagementRecorder
from handlers.features import FEATURES
from handlers.filters import in_group, in_private
from handlers.routing import RouteGate

GROUP = {"id": -1001, "type": "supergroup", "title": "G"}
PRIVATE = {"id": 5, "type": "private", "first_name": "A"}
USER = {"id": 5, "is_bot": False, "first_name": "A"}


def message(text: str, chat: dict[str, Any] = GROUP) -> dict[str, Any]:
    return {
        "update_id": 1,
        "message": {"message_id": 1, "date": 1, "chat": chat, "from": USER, "text": text},
    }


def app_gate() -> RouteGate:
    runtime = Runtime(
        settings=Settings(bot_token="1:x"),  # type: ignore[arg-type]
        clock=cast(Any, None),
        uow_factory=cast(Any, None),
        gateway=cast(Any, None),
        # A recorder that is never started: features read only its shared sets.
        recorder=EngagementRecorder(cast(Any, None), cast(Any, None)),
        admins=cast(Any, None),
    )
    return RouteGate(build_dispatcher([make(runtime) for make in FEATURES]))


def test_ordinary_group_chat_is_not_parsed_but_commands_are() -> None:
    gate = app_gate()
    assert not gate.routes(message("hello everyone"))
    assert not gate.routes(message("see https://example.org /stats"))
    assert gate.routes(message("/stats"))
    assert gate.routes(message("/stats@groupops_bot 7d"))
    assert gate.routes(message("/settings timezone UTC"))
    assert not gate.routes(message("/nosuchcommand"))
    assert gate.routes(message("hi bot", chat=PRIVATE))  # answered with what it does there


def test_update_types_follow_what_routers_observe() -> None:
    gate = app_gate()
    callback = {"update_id": 2, "callback_query": {"id": "q", "from": USER, "chat_instance": "c"}}
    assert gate.routes(callback)  # /forgetme's confirmation button
    assert gate.routes({"update_id": 3, "my_chat_member": {}})
    reaction = {"update_id": 4, "message_reaction": {"chat": GROUP}}
    assert not gate.routes(reaction)  # recorded, never routed
    assert "message_reaction" not in gate.update_types


def test_the_gate_follows_a_newly_registered_command_and_its_filters() -> None:
    router = Router()
    router.message.register(lambda m: None, Command("promo"), in_group)
    router.message.register(lambda m: None, Command("mydata"), in_private)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    gate = RouteGate(dispatcher)
    assert gate.routes(message("/promo"))
    assert not gate.routes(message("/promo", chat=PRIVATE))
    assert gate.routes(message("/mydata", chat=PRIVATE))
    assert not gate.routes(message("/mydata"))
    assert not gate.routes(message("promo"))


def test_a_filter_the_gate_does_not_know_lets_messages_through() -> None:
    async def mentions_bot(message: object) -> bool:
        return True

    router = Router()
    router.message.register(lambda m: None, mentions_bot)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    assert RouteGate(dispatcher).routes(message("plain chat"))
