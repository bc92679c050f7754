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
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError

from bot.domain.events import GroupMigrated
from bot.services.engagement import EngagementRecorder
from bot.services.watching import WatchPipeline
from handlers.mapping import map_update
from handlers.routing import RouteGate

log = logging.getLogger(__name__)

# Ids of updates accepted lately: a copy arriving while the first is in flight (two webhook
# deliveries at once) is dropped before anything acts on it.
RECENT_UPDATES = 10_000
# Updates waiting for a handler, across chats; past that an update is dropped (and counted)
# rather than holding up ingestion.
HANDLERS_WAITING = 1_000
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
        self._handler_lanes: dict[int, deque[tuple[Update, asyncio.Future[None]]]] = {}
        self._waiting = 0
        self.shed = 0
        # Oldest first; an OrderedDict drops its oldest in constant time, where `next(iter(d))`
        # on a dict walks past every slot deleted before it (5% of the loop's time here).
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._handling: dict[int, bool] = {}
        self._migrated: set[GroupMigrated] = set()
        self.accepted = 0
        self.skipped = 0
        self.repeated = 0

    @property
    def update_types(self) -> frozenset[str]:
        """The update types some router observes (ask Telegram for these and what we record)."""
        return self._gate.update_types

    async def accept(self, raw: Mapping[str, Any]) -> asyncio.Future[None] | None:
        """Record one raw update's events, judge its message, start its handlers.

        An update we cannot read is logged and skipped. Returns the handlers' task, if a router
        takes the update (for callers that wait on it). Handlers of one chat run one at a time,
        in order; `accept` never waits for them, so a reply held up by one chat's flood limit
        holds up neither ingestion nor other chats.
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
        if mapped.migration is not None and mapped.migration not in self._migrated:
            # Both groups announce it (migrate_to in the old, migrate_from in the new): once.
            self._migrated.add(mapped.migration)
            await self.durable()  # the old group's history is complete before it moves
            await self._recorder.migrate_group(mapped.migration)
        watched = mapped.watched
        if (
            watched is not None
            and self._pipeline.watches(watched)
            and not await self._recorded_before(update_id, watched.event.dedup_key)
        ):
            await self._pipeline.submit(watched, mapped.events)
        elif mapped.events and not await self._pipeline.keep_order(
            mapped.events[0].group.chat_id, mapped.events
        ):
            # Nothing of its chat waits for watchers (a redelivered message was judged when
            # first delivered): recorded at once.
            await self._recorder.record(mapped.events)
        self.accepted += 1
        raw = _without_format_characters(raw)
        if not self._gate.routes(raw):
            return None
        try:
            update = Update.model_validate(raw, context={"bot": self._bot})
        except UNREADABLE as exc:
            self.skip(raw, exc)
            return None
        if self._waiting >= HANDLERS_WAITING:
            self.shed += 1
            log.warning("%d updates wait for handlers: update %s dropped", self._waiting, update_id)
            return None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = _chat_key(update)
        lane = self._handler_lanes.get(key)
        if lane is None:
            lane = self._handler_lanes[key] = deque()
            task = asyncio.create_task(self._serve(key, lane), name=f"handlers-{key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lane.append((update, done))
        self._waiting += 1
        return done

    async def durable(self) -> None:
        """Wait until every accepted update's message is judged and its events committed."""
        await self._pipeline.settled()
        await self._recorder.durable()

    async def first_delivery(self, dedup_key: str) -> bool:
        """Whether the event under `dedup_key` was new when written (not a redelivery)."""
        await self._pipeline.settled()
        return await self._recorder.first_delivery(dedup_key)

    async def first_handling(self, update_id: int) -> bool:
        """Whether an update handled without an event is handled for the first time.

        Asked by every router the update passes (commands, then plain chat), so the answer is
        kept for the update: only its first asking writes the note.
        """
        known = self._handling.get(update_id)
        if known is None:
            known = self._handling[update_id] = await self._recorder.first_handling(update_id)
            if len(self._handling) > RECENT_UPDATES:
                del self._handling[next(iter(self._handling))]
        return known

    async def drain(self, within: float = 3.0) -> None:
        """Let handlers finish for up to `within` seconds, then drop the rest (logged); wait for
        every message to be judged (at shutdown)."""
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=within)
            if late:
                log.warning("stopping: %d updates' handlers dropped unfinished", self._waiting)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
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
            self._recent.popitem(last=False)

    def skip(self, raw: Mapping[str, Any], exc: BaseException) -> None:
        """Count and log an update that cannot be read (without its content)."""
        self.skipped += 1
        update_id = raw.get("update_id", "?") if isinstance(raw, Mapping) else "?"
        log.warning("unreadable update %s skipped: %s", update_id, type(exc).__name__)
        log.debug("unreadable update %s", update_id, exc_info=exc)

    async def _serve(self, key: int, lane: deque[tuple[Update, asyncio.Future[None]]]) -> None:
        """Run one chat's handlers in order, a bounded number of chats at once."""
        try:
            while lane:
                update, done = lane[0]
                async with self._slots:
                    try:
                        await self._dispatcher.feed_update(self._bot, update)
                    except Exception:
                        log.exception("handler failed on update %s", update.update_id)
                lane.popleft()
                self._waiting -= 1
                done.set_result(None)
        finally:
            if self._handler_lanes.get(key) is lane:
                del self._handler_lanes[key]
            for _, done in lane:
                done.cancel()


def _without_format_characters(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """A command with invisible characters in it ("/settings" + a zero-width space, pasted
    from elsewhere) read as the command it shows; anything else unchanged."""
    message = raw.get("message")
    if type(message) is not dict:
        return raw
    text = message.get("text")
    if (
        type(text) is not str
        or text[:1] != "/"
        or not any(unicodedata.category(c) == "Cf" for c in text)
    ):
        return raw
    shown = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return {**raw, "message": {**message, "text": shown, "entities": []}}


def _chat_key(update: Update) -> int:
    """The chat whose handlers take this update in turn (the user's, for a button press
    without its message)."""
    event = update.event
    chat = getattr(event, "chat", None)
    if chat is None:
        message = getattr(event, "message", None)
        chat = getattr(message, "chat", None)
    if chat is not None:
        return int(chat.id)
    user = getattr(event, "from_user", None)
    return int(user.id) if user is not None else 0
