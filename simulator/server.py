"""The Simulator: the world served over HTTP as the Bot API, plus its control API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from simulator.errors import BotApiError
from simulator.faults import Fault, FaultKind
from simulator.flood import FloodLimits
from simulator.methods import BotApi, is_posting
from simulator.models import Call
from simulator.spec import UploadedFile, load_spec
from simulator.world import BotState, World

log = logging.getLogger(__name__)

_NOT_FOUND = BotApiError(404, "Not Found")
_UNAUTHORIZED = BotApiError(401, "Unauthorized")


class Simulator(World):
    """A stateful Telegram Bot API server on loopback, driven by tests through the World API.

    `async with Simulator() as sim:` starts it on a free port; bots reach it at
    f"{sim.url}/bot{token}/{method}" and tests act as members through the control methods.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limits: FloodLimits | None = None,
        clock: Callable[[], float] | None = None,
        fault_hang_seconds: float = 300.0,
        webhook_retry_delay: float = 0.05,
    ) -> None:
        super().__init__(flood_limits=flood_limits, clock=clock)
        self.host = host
        self.port = port
        self.url = ""
        self.spec = load_spec()
        self.fault_hang_seconds = fault_hang_seconds
        self.api = BotApi(self, webhook_retry_delay, on_webhook_reply=self._webhook_reply)
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def make_app(self) -> web.Application:
        """The aiohttp application (Bot API, file downloads, control API)."""
        from simulator.control import add_control_routes

        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_bot)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        add_control_routes(app, self)
        return app

    async def start(self) -> None:
        """Serve on host:port (port 0 picks a free one); sets `url`."""
        # Cancelling handlers on disconnect ends abandoned long polls and injected hangs.
        self._runner = web.AppRunner(
            self.make_app(), handler_cancellation=True, shutdown_timeout=0.5, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        """Stop webhook deliveries, release long polls and close the server."""
        self._closing.set()
        for bot in self.bots.values():
            if bot.delivery is not None:
                await bot.delivery.stop()
            bot.queue.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the Bot API --------------------------------------------------------------------------

    async def _handle_bot(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        bot = self.bots_by_token.get(request.match_info["token"])
        if bot is None:
            return _answer(_UNAUTHORIZED.envelope(), 401)
        try:
            raw, files = await _read_params(request)
        except BotApiError as exc:
            self._record(bot, name, {}, exc)
            return _answer(exc.envelope(), exc.code)
        spec_method = self.spec.method(name)
        if spec_method is None:
            self._record(bot, name, raw, _NOT_FOUND)
            return _answer(_NOT_FOUND.envelope(), 404)
        name = spec_method.name
        fault = self.faults.take(name, bot.account.id)
        if fault is not None and not fault.applied:
            return await self._fault(request, bot, name, _printable(raw, files), fault, None)
        try:
            params = self.spec.coerce_params(spec_method, raw, files)
        except BotApiError as exc:
            self._record(bot, name, _printable(raw, files), exc)
            return _answer(exc.envelope(), exc.code)
        try:
            result = await self.api.execute(bot, name, params)
        except BotApiError as exc:
            self._record(bot, name, _printable(params, {}), exc)
            return _answer(exc.envelope(), exc.code)
        except asyncio.CancelledError:
            # The client went away (a long poll it abandoned); keep the request in the log.
            self._record(bot, name, _printable(params, {}), BotApiError(499, "Client Closed"))
            raise
        if fault is not None:
            return await self._fault(request, bot, name, _printable(params, {}), fault, result)
        self._record(bot, name, _printable(params, {}), None, result)
        return _answer({"ok": True, "result": result}, 200)

    async def _fault(
        self,
        request: web.Request,
        bot: BotState,
        name: str,
        params: dict[str, Any],
        fault: Fault,
        result: Any,
    ) -> web.StreamResponse:
        if fault.kind is FaultKind.RETRY_AFTER:
            error = BotApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        elif fault.kind is FaultKind.SERVER_ERROR:
            words = "Bad Gateway" if fault.status == 502 else "Internal Server Error"
            error = BotApiError(fault.status, words)
        elif fault.kind is FaultKind.DROP:
            error = BotApiError(0, "connection dropped (injected)")
        else:
            error = BotApiError(0, "no answer (injected timeout)")
        self._record(bot, name, params, error, result)
        if fault.kind is FaultKind.TIMEOUT:
            # The client usually gives up first; its disconnect cancels this wait.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.fault_hang_seconds)
        if fault.kind in (FaultKind.DROP, FaultKind.TIMEOUT):
            if request.transport is not None:
                request.transport.close()
            # aiohttp skips writing to a closed transport: the client gets no answer at all.
            return web.Response(status=204)
        return _answer(error.envelope(), error.code)

    async def _webhook_reply(self, bot: BotState, reply: dict[str, Any]) -> None:
        name = str(reply.pop("method"))
        spec_method = self.spec.method(name)
        if spec_method is None:
            self._record(bot, name, reply, _NOT_FOUND)
            return
        try:
            params = self.spec.coerce_params(spec_method, reply, {})
            result = await self.api.execute(bot, spec_method.name, params)
        except BotApiError as exc:
            self._record(bot, spec_method.name, reply, exc)
            return
        self._record(bot, spec_method.name, _printable(params, {}), None, result)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] not in self.bots_by_token:
            return _answer(_UNAUTHORIZED.envelope(), 401)
        stored = self.files_by_path.get(request.match_info["path"])
        if stored is None:
            return _answer(_NOT_FOUND.envelope(), 404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _record(
        self,
        bot: BotState,
        name: str,
        params: dict[str, Any],
        error: BotApiError | None,
        result: Any = None,
    ) -> None:
        self.record_call(
            Call(
                method=name,
                params=params,
                ok=error is None,
                error_code=error.code if error else None,
                description=error.description if error else None,
                result=result,
                at=self.now(),
                bot_id=bot.account.id,
            )
        )
        if error is not None and error.code != 429 and is_posting(name):
            log.debug("%s refused: %s", name, error.description)


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Query string plus a JSON, form-encoded or multipart body, as Telegram accepts them."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        body = await request.read()
        if body.strip():
            try:
                decoded = json.loads(body)
            except ValueError as exc:
                raise BotApiError(400, "Bad Request: can't parse JSON body") from exc
            if not isinstance(decoded, dict):
                raise BotApiError(400, "Bad Request: JSON body must be an object")
            params.update(decoded)
        return params, files
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
            else:
                params[key] = value
    return params, files


def _printable(params: dict[str, Any], files: dict[str, UploadedFile]) -> dict[str, Any]:
    """Parameters for the call log: uploads shown by name and size, not their bytes."""
    shown: dict[str, Any] = {}
    for key, value in {**params, **files}.items():
        if isinstance(value, UploadedFile):
            shown[key] = {"filename": value.filename, "size": len(value.content)}
        else:
            shown[key] = value
    return shown


def _answer(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status)
