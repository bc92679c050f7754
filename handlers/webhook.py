"""The webhook endpoint: Telegram POSTs updates; we answer 200 once their events are durable."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from handlers.intake import UpdateIntake

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_app(intake: UpdateIntake, path: str, secret: str) -> web.Application:
    """An aiohttp app with one route; requests without the right secret get 401."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("webhook request from %s without the right secret", request.remote)
            return web.Response(status=401, text="wrong secret token")
        try:
            raw = await request.json()
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raw = exc
        if not isinstance(raw, dict):
            # 200 all the same: Telegram would only send again what can never be read.
            intake.skip({}, raw if isinstance(raw, BaseException) else TypeError("not an object"))
            return web.Response(text="skipped")
        await intake.accept(raw)
        # Answering 200 confirms the update to Telegram: only once its events are committed.
        await intake.durable()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post(path, receive)
    return app
