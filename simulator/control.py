"""The HTTP control API: POST /control/<op> with JSON arguments runs the same World operation."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator.errors import SimulatorError
from simulator.models import Call

if TYPE_CHECKING:
    from simulator.world import World

# Operations a test in another process may run; each is the World method of the same name.
OPERATIONS: tuple[str, ...] = (
    "create_bot",
    "create_user",
    "create_group",
    "create_channel",
    "add_bot",
    "join",
    "leave",
    "promote",
    "demote",
    "ban",
    "unban",
    "restrict",
    "post",
    "post_as_chat",
    "post_from_channel",
    "forward",
    "edit",
    "delete",
    "react",
    "react_anonymous",
    "press_button",
    "migrate_to_supergroup",
    "create_invite_link",
    "start_private",
    "block_bot",
    "calls",
    "sent",
    "history",
    "member_status",
    "member_rights",
    "reactions",
    "pinned",
    "callback_answer",
    "commands",
    "updates_pending",
    "inject_fault",
    "set_webhook_failures",
    "advance",
    "now",
)


def to_json(value: Any) -> Any:
    """Control results as JSON: dataclasses become objects, sets become sorted lists."""
    if isinstance(value, Call):
        return value.as_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, dict):
        # JSON object keys are strings; ids come back as strings and the client converts them.
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def add_control_routes(app: web.Application, world: World) -> None:
    """Serve the control operations of `world` under /control/."""

    async def handle(request: web.Request) -> web.Response:
        op = request.match_info["op"]
        if op not in OPERATIONS:
            return web.json_response({"ok": False, "error": f"unknown operation {op}"}, status=404)
        try:
            body = await request.json() if request.can_read_body else {}
        except json.JSONDecodeError:
            return web.json_response({"ok": False, "error": "body must be JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"ok": False, "error": "body must be an object"}, status=400)
        try:
            result = getattr(world, op)(**body)
        except (SimulatorError, TypeError, ValueError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": to_json(result)})

    async def describe(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": list(OPERATIONS)})

    app.router.add_post("/control/{op}", handle)
    app.router.add_get("/control", describe)
