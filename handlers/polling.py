"""Long polling that confirms an offset only after the batch's events are committed.

aiogram's own polling confirms as soon as it has read a batch; a crash then loses events. This
loop reads raw updates (so one malformed update is skipped, not the whole batch), feeds them to
the intake, waits until they are durable, and only then asks for the next offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession

from handlers.intake import UpdateIntake

log = logging.getLogger(__name__)


class PollingError(Exception):
    """getUpdates answered something other than a list of updates."""

    def __init__(self, status: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(f"{status}: {description}")
        self.status = status
        self.retry_after = retry_after


class UpdatePoller:
    """Reads updates with getUpdates until stopped."""

    def __init__(
        self,
        bot: Bot,
        intake: UpdateIntake,
        allowed_updates: Sequence[str],
        *,
        timeout: int = 25,
        limit: int = 100,
        max_backoff: float = 30.0,
    ) -> None:
        if not isinstance(bot.session, AiohttpSession):
            raise TypeError("UpdatePoller needs aiogram's AiohttpSession")
        self._bot = bot
        self._session = bot.session
        self._intake = intake
        self._allowed = list(allowed_updates)
        self._timeout = timeout
        self._limit = limit
        self._max_backoff = max_backoff
        self._offset: int | None = None
        self._stopping = asyncio.Event()

    @property
    def offset(self) -> int | None:
        return self._offset

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Poll until `stop()`; network and server trouble is retried with backoff."""
        failures = 0
        while not self._stopping.is_set():
            try:
                raw = await self._poll_unless_stopped()
                if raw is None:
                    break
            except PollingError as exc:
                if exc.status == 409 or exc.status == 401:
                    raise  # a webhook is set, or the token is wrong: polling cannot go on
                delay = exc.retry_after or self._backoff(failures)
                failures += 1
                log.warning("getUpdates failed (%s); retrying in %.1fs", exc, delay)
                await self._pause(delay)
                continue
            except (aiohttp.ClientError, TimeoutError, json.JSONDecodeError) as exc:
                delay = self._backoff(failures)
                failures += 1
                log.warning("getUpdates failed (%s); retrying in %.1fs", exc, delay)
                await self._pause(delay)
                continue
            failures = 0
            await self._process_unless_stopped(raw)
        await self._confirm()

    async def _poll_unless_stopped(self) -> list[Any] | None:
        """One long poll, abandoned (None) when `stop()` is called while it waits.

        Abandoning is safe: nothing from this poll has been processed, and the offset it would
        have confirmed is confirmed by `_confirm` instead.
        """
        fetch = asyncio.ensure_future(self._get_updates(self._timeout))
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({fetch, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not fetch.done():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetch
            return None
        return fetch.result()

    async def _process(self, raw: list[Any]) -> None:
        last_id: int | None = None
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("update_id"), int):
                log.warning("update without an id skipped: %.200r", item)
                continue
            await self._intake.accept(item)
            last_id = item["update_id"] if last_id is None else max(last_id, item["update_id"])
        if last_id is not None:
            await self._intake.durable()
            self._offset = last_id + 1

    async def _process_unless_stopped(self, raw: list[Any]) -> None:
        """Process a batch; give up when `stop()` comes first.

        Writes that keep failing (or a full buffer behind them) must not hold a stop: the
        offset is then not advanced, so Telegram sends the batch again after the restart and
        nothing is lost; what was accepted is written, if it can be, as the recorder stops.
        """
        work = asyncio.ensure_future(self._process(raw))
        stop = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if work.done():
            work.result()
            return
        work.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await work
        log.warning("stopping before the last batch was written: Telegram will send it again")

    async def _confirm(self) -> None:
        """Tell Telegram about the last offset, so a clean stop redelivers nothing."""
        if self._offset is None:
            return
        try:
            await self._get_updates(0, limit=1)
        except (PollingError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not confirm offset %s at shutdown: %s", self._offset, exc)

    async def _get_updates(self, wait: int, limit: int | None = None) -> list[Any]:
        payload: dict[str, Any] = {
            "timeout": wait,
            "limit": limit or self._limit,
            "allowed_updates": self._allowed,
        }
        if self._offset is not None:
            payload["offset"] = self._offset
        http = await self._session.create_session()
        url = self._session.api.api_url(token=self._bot.token, method="getUpdates")
        client_timeout = aiohttp.ClientTimeout(total=wait + 10)
        async with http.post(url, json=payload, timeout=client_timeout) as response:
            body = await response.json(content_type=None)
        if not isinstance(body, dict) or not body.get("ok"):
            body = body if isinstance(body, dict) else {}
            parameters = body.get("parameters") or {}
            raise PollingError(
                int(body.get("error_code", response.status)),
                str(body.get("description", "no description")),
                parameters.get("retry_after"),
            )
        result = body.get("result")
        if not isinstance(result, list):
            raise PollingError(response.status, "result is not a list")
        return result

    def _backoff(self, failures: int) -> float:
        return min(self._max_backoff, 0.5 * 2.0**failures) * random.uniform(0.8, 1.2)

    async def _pause(self, delay: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=delay)
