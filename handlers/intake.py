"""Where every update enters: map it to events, let watchers judge it, record it, route it.

Both transports (long polling and the webhook) call `accept` for each raw update and
`durable` before telling Telegram the update is theirs, so an offset is confirmed only once
the update's events are committed and its message judged (invariant 1; DESIGN.md, "The
message pipeline"). The raw JSON is mapped straight to domain events; aiogram parses only
the updates some router can act on (`RouteGate`), and its handlers run as tasks, a bounded
number at once, so a slow reply never holds up ingestion.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from bot.services.engagement import EngagementRecorder
from bot.services.watching import WatchPipeline
from handlers.mapping import map_update
from handlers.routing import RouteGate

log = logging.getLogger(__name__)

# Ids of updates accepted lately: a copy arriving while the first is in flight (two webhook
# deliveries at once) is dropped before anything acts on it.
RECENT_UPDATES = 10_000
# Telegram redelivers only what was not confirmed: at most a few batches below the highest
# update id stored before a restart.
REDELIVERY_SPAN = 10_000
# What reading an update we cannot read raises (wrong types, absurd values, deep nesting).
UNREADABLE = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    OverflowError,
    RecursionError,
    ValidationError,
)


class UpdateIntake:
    """Maps, judges, records and routes updates; counts what it skipped."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        recorder: EngagementRecorder,
        pipeline: WatchPipeline,
        *,
        max_handlers: int = 64,
    ) -> None:
        self._bot = bot
        self._dispatcher = dispatcher
        self._recorder = recorder
        self._pipeline = pipeline
        self._gate = RouteGate(dispatcher)
        self._slots = asyncio.Semaphore(max_handlers)
        self._tasks: set[asyncio.Task[None]] = set()
        self._recent: dict[int, None] = {}
        self.accepted = 0
        self.skipped = 0
        self.repeated = 0

    @property
    def update_types(self) -> frozenset[str]:
        """The update types some router observes (ask Telegram for these and what we record)."""
        return self._gate.update_types

    async def accept(self, raw: Mapping[str, Any]) -> asyncio.Task[None] | None:
        """Record one raw update's events, judge its message, start its handlers.

        An update we cannot read is logged and skipped. Returns the handlers' task, if a router
        takes the update (for callers that wait on it).
        """
        try:
            mapped = map_update(raw, self._recorder.keeps_text)
            update_id: int = raw["update_id"]
        except UNREADABLE as exc:
            self.skip(raw, exc)
            return None
        if update_id in self._recent:
            self.repeated += 1
            return None
        self._remember(update_id)
        if mapped.migration is not None:
            await self.durable()  # the old group's history is complete before it moves
            await self._recorder.migrate_group(mapped.migration)
        watched = mapped.watched
        if watched is not None and self._pipeline.watches(watched):
            if not await self._recorded_before(update_id, watched.event.dedup_key):
                await self._pipeline.submit(watched, mapped.events)
            else:
                await self._recorder.record(mapped.events)  # judged when first delivered
        elif mapped.events:
            await self._recorder.record(mapped.events)
        self.accepted += 1
        if not self._gate.routes(raw):
            return None
        try:
            update = Update.model_validate(raw, context={"bot": self._bot})
        except UNREADABLE as exc:
            self.skip(raw, exc)
            return None
        await self._slots.acquire()
        task = asyncio.create_task(self._dispatch(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def durable(self) -> None:
        """Wait until every accepted update's message is judged and its events committed."""
        await self._pipeline.settled()
        await self._recorder.durable()

    async def first_delivery(self, dedup_key: str) -> bool:
        """Whether the event under `dedup_key` was new when written (not a redelivery)."""
        await self._pipeline.settled()
        return await self._recorder.first_delivery(dedup_key)

    async def drain(self) -> None:
        """Wait for running handlers and for every message to be judged (at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self._pipeline.settled()

    async def _recorded_before(self, update_id: int, dedup_key: str) -> bool:
        """Whether a message that may be a redelivery after a restart is stored already.

        Only updates at or just below the highest update id stored at start can be; for them
        one indexed look-up decides whether the watchers judged the message last time.
        """
        horizon = self._recorder.redelivery_horizon
        if not horizon - REDELIVERY_SPAN < update_id <= horizon:
            return False
        return bool(await self._recorder.already_recorded([dedup_key]))

    def _remember(self, update_id: int) -> None:
        self._recent[update_id] = None
        if len(self._recent) > RECENT_UPDATES:
            del self._recent[next(iter(self._recent))]

    def skip(self, raw: Mapping[str, Any], exc: BaseException) -> None:
        """Count and log an update that cannot be read (without its content)."""
        self.skipped += 1
        update_id = raw.get("update_id", "?") if isinstance(raw, Mapping) else "?"
        log.warning("unreadable update %s skipped: %s", update_id, type(exc).__name__)
        log.debug("unreadable update %s", update_id, exc_info=exc)

    async def _dispatch(self, update: Update) -> None:
        try:
            await self._dispatcher.feed_update(self._bot, update)
        except Exception:
            log.exception("handler failed on update %s", update.update_id)
        finally:
            self._slots.release()
