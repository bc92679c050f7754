"""Where every update enters: record its engagement events, then hand it to the routers.

Both transports (long polling and the webhook) call `accept` for each raw update and
`durable` before telling Telegram the update is theirs, so events are committed before an
offset is confirmed (invariant 1). Handlers run as tasks so a slow reply never holds up
ingestion; a bounded number run at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from bot.services.engagement import EngagementRecorder
from handlers.mapping import events_from_update

log = logging.getLogger(__name__)


class UpdateIntake:
    """Parses, records and dispatches updates; counts what it skipped."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        recorder: EngagementRecorder,
        *,
        max_handlers: int = 64,
    ) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._recorder = recorder
        self._slots = asyncio.Semaphore(max_handlers)
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0
        self.skipped = 0

    async def accept(self, raw: dict[str, Any]) -> asyncio.Task[None] | None:
        """Record one raw update's events and start its handlers; skip it if malformed.

        Returns the handlers' task (None for a skipped update), for callers that wait on it.
        """
        try:
            update = Update.model_validate(raw, context={"bot": self._bot})
            events = events_from_update(update, self._recorder.keeps_text)
        except (ValidationError, ValueError, TypeError, AttributeError):
            self.skipped += 1
            log.warning("malformed update %s skipped", raw.get("update_id", "?"), exc_info=True)
            return None
        if events:
            await self._recorder.record(events)
        self.accepted += 1
        await self._slots.acquire()
        task = asyncio.create_task(self._dispatch(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def durable(self) -> None:
        """Wait until the events of every accepted update are committed."""
        await self._recorder.durable()

    async def drain(self) -> None:
        """Wait for running handlers (at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _dispatch(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception:
            log.exception("handler failed on update %s", update.update_id)
        finally:
            self._slots.release()
