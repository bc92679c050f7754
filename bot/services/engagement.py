"""Record engagement events in batches: nothing lost, nothing twice (invariant 1).

Handlers hand events to `EngagementRecorder.record` (cheap: an append to a bounded buffer). A
writer task commits them in batches of `batch_size` or every `flush_interval`, one unit of work
per batch. Transports call `durable()` before confirming an update to Telegram, so an offset is
confirmed only once its events are committed; a crash before that means Telegram redelivers,
and the dedup key makes the redelivery harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.events import EngagementEvent, GroupMigrated, GroupRef
from bot.domain.optout import anonymised
from bot.domain.watching import Decision
from bot.ports import (
    Clock,
    IngestStore,
    IngestWritten,
    StoredDecision,
    StoreFailed,
    UnitOfWork,
    UnitOfWorkFactory,
    WriteSuspended,
)

if TYPE_CHECKING:
    from bot.services.decisions import Write

log = logging.getLogger(__name__)

REDELIVERED_KEPT = 10_000  # duplicate keys remembered for `first_delivery`
WRITE_RULE = (
    "a Write may await only its unit of work (it may run in the ingest store's thread);"
    " its decisions are applied one by one instead"
)


@dataclass(slots=True)
class RecorderMetrics:
    """Counters since start."""

    recorded: int = 0
    written: int = 0
    duplicates: int = 0
    batches: int = 0
    failed_flushes: int = 0
    quarantined: int = 0  # events the database refused, left out so the rest goes on
    write_failures: int = 0  # batches whose decisions' writes failed (stored for later instead)
    store_failures: int = 0  # batches the ingest store failed to write (a unit of work wrote them)
    slowest_write: float = 0.0  # seconds: the longest a batch took to write and commit


class EngagementRecorder:
    """Buffers events and writes them in batches; `durable()` waits for them to be committed."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        *,
        batch_size: int = 100,
        flush_interval: float = 0.05,
        max_buffer: int = 10_000,
        retry_delay: float = 0.5,
        transient: Callable[[BaseException], bool] = lambda exc: True,
        store: IngestStore | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._store = store
        self._clock = clock
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_buffer = max_buffer
        self._retry_delay = retry_delay
        self._transient = transient
        self._buffer: list[EngagementEvent] = []
        self._enqueued = 0  # sequence number of the last event accepted
        self._committed = 0  # sequence number of the last event committed
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._known_groups: dict[int, GroupRef] = {}
        self._text_chats: set[int] = set()
        self._redelivered: dict[str, None] = {}  # recent duplicate keys, oldest first
        # Watchers' decisions by their message's dedup key, written with it (if it is new).
        self._decisions: dict[str, Sequence[tuple[str, Decision]]] = {}
        self.on_decided: Callable[[list[StoredDecision]], None] | None = None
        # Decisions written in the batch's own transaction, by action (see DecisionApplier).
        self.writes: Mapping[str, Write] = {}
        self.redelivery_horizon = 0  # the highest update id stored at start
        # (chat, user) pairs that opted out, written without their identity (the recognition
        # feature fills it); empty for most bots, so a batch pays one truth test.
        self.opted_out: set[tuple[int, int]] = set()
        self.metrics = RecorderMetrics()

    async def start(self) -> None:
        """Load which groups store text and the last update id stored, then start the writer."""
        await self.reload_text_policy()
        async with self._uow_factory() as uow:
            self.redelivery_horizon = await uow.events.latest_update_id() or 0
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="engagement-writer")

    async def stop(self, within: float = 3.0) -> None:
        """Write whatever is buffered, then stop the writer; give up after `within` seconds.

        Events still unwritten then were never durable, so their updates were never confirmed:
        Telegram sends them again after the restart.
        """
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), within)
        except TimeoutError:
            log.warning(
                "stopped with %d events unwritten; Telegram will send their updates again",
                len(self._buffer),
            )
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def record(
        self,
        events: Sequence[EngagementEvent],
        decisions: Sequence[tuple[str, Decision]] = (),
    ) -> None:
        """Accept events for writing; waits only when the buffer is full (back-pressure).

        `decisions` (watcher name, decision) about the first event are written in the same
        transaction, and only if that event is new; `on_decided` then gets them.
        """
        if not events:
            return
        if decisions:
            self._decisions[events[0].dedup_key] = decisions
        while len(self._buffer) >= self._max_buffer:
            self._room.clear()
            self._wake.set()
            await self._room.wait()
        idle = not self._buffer  # the writer sleeps until woken while there is nothing to write
        self._buffer.extend(events)
        self._enqueued += len(events)
        self.metrics.recorded += len(events)
        # Wake an idle writer so the flush interval starts now; a writer already holding a
        # partial batch is woken only by a full one, so the interval can fill it.
        if idle or len(self._buffer) >= self._batch_size:
            self._wake.set()

    async def durable(self) -> None:
        """Return once every event recorded before this call is committed."""
        target = self._enqueued
        if self._committed >= target:
            return
        if self._task is None:
            raise RuntimeError("the recorder is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((target, future))
        self._wake.set()  # someone is waiting: flush now rather than at the next interval
        await future

    async def already_recorded(self, dedup_keys: Sequence[str]) -> set[str]:
        """Which of these events are stored already (for updates that may be redeliveries)."""
        async with self._uow_factory() as uow:
            return await uow.events.recorded(dedup_keys)

    async def first_handling(self, update_id: int) -> bool:
        """Whether an update handled without an event (a private command, a button press) is
        handled for the first time; noted durably before the handler runs, so a redelivery
        after a crash is not answered again (at most once, like group commands)."""
        async with self._uow_factory() as uow:
            first = await uow.events.first_seen(update_id, self._clock.now())
            await uow.commit()
        return first

    async def forget_handled(self, kept: timedelta = timedelta(days=7)) -> int:
        """Drop notes of handled updates older than `kept` (Telegram resends for 24 hours)."""
        async with self._uow_factory() as uow:
            dropped = await uow.events.forget_seen_before(self._clock.now() - kept)
            await uow.commit()
        return dropped

    async def first_delivery(self, dedup_key: str) -> bool:
        """Whether the event recorded under `dedup_key` was new when written, not a redelivery.

        Waits for what is recorded to be committed. Handlers that act on an update (replies,
        moderation) ask this so an update Telegram sends again after a crash acts once.
        """
        await self.durable()
        return dedup_key not in self._redelivered

    def keeps_text(self, chat_id: int) -> bool:
        """Whether a group turned message text storage on (invariant 6: off by default)."""
        return chat_id in self._text_chats

    async def reload_text_policy(self) -> None:
        """Read which groups store text (at start, and after a group changes the setting)."""
        async with self._uow_factory() as uow:
            self._text_chats = await uow.groups.chats_storing_text()

    async def migrate_group(self, migration: GroupMigrated) -> None:
        """Move a group's history to its supergroup id, after what is buffered is written."""
        await self.durable()
        async with self._uow_factory() as uow:
            await uow.groups.migrate(migration.old_chat_id, migration.new_chat_id)
            await uow.commit()
        self._known_groups.pop(migration.old_chat_id, None)
        # Opt-outs follow the group, as their rows just did (in place: the set is shared).
        self.opted_out.update(
            [(migration.new_chat_id, u) for c, u in self.opted_out if c == migration.old_chat_id]
        )
        await self.reload_text_policy()
        log.info("group %s migrated to %s", migration.old_chat_id, migration.new_chat_id)

    async def _run(self) -> None:
        while True:
            if not self._buffer:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if len(self._buffer) < self._batch_size and not self._waiters and not self._closing:
                # A partial batch: give it up to one interval to fill, unless someone waits.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._flush_interval)
            batch = self._buffer[: self._batch_size]
            started = time.perf_counter()
            try:
                await self._write_or_isolate(batch)
            except Exception as exc:
                # Logged by type only: a database error may quote names or texts it refused.
                self.metrics.failed_flushes += 1
                log.warning(
                    "writing %d events failed (%s); retrying in %.1fs",
                    len(batch),
                    type(exc).__name__,
                    self._retry_delay,
                )
                await asyncio.sleep(self._retry_delay)
                continue
            self.metrics.slowest_write = max(
                self.metrics.slowest_write, time.perf_counter() - started
            )
            del self._buffer[: len(batch)]
            self._committed += len(batch)
            if len(self._buffer) < self._max_buffer:
                self._room.set()
            self._release_waiters()

    def _release_waiters(self) -> None:
        still: list[tuple[int, asyncio.Future[None]]] = []
        for target, future in self._waiters:
            if self._committed >= target:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((target, future))
        self._waiters = still

    async def _write_or_isolate(self, batch: list[EngagementEvent], inline: bool = True) -> None:
        """Write a batch; if the database refuses it (not a passing fault), write it in halves
        to find the events it cannot store, and quarantine those (counted, logged by key)."""
        try:
            await self._write(batch, inline=inline)
        except (_WriteFailed, WriteSuspended) as failed:
            # A feature's write broke (counted and logged where it raised) or waited for more
            # than its unit of work: its decisions go to the applier instead, one by one.
            if isinstance(failed, WriteSuspended):
                self.metrics.write_failures += 1
                log.error("a feature's write waited for more than its unit of work: %s", WRITE_RULE)
            await self._write_or_isolate(batch, inline=False)
        except Exception as exc:
            if self._transient(exc):
                raise
            if len(batch) == 1:
                (event,) = batch
                self.metrics.quarantined += 1
                self._decisions.pop(event.dedup_key, None)
                log.error(
                    "event %s (%s in chat %s) cannot be stored (%s): left out",
                    event.dedup_key,
                    event.kind.value,
                    event.group.chat_id,
                    type(exc).__name__,
                )
                return
            middle = len(batch) // 2
            await self._write_or_isolate(batch[:middle], inline)
            await self._write_or_isolate(batch[middle:], inline)

    async def _write(self, batch: list[EngagementEvent], *, inline: bool = True) -> None:
        now = self._clock.now()
        known, text_chats = self._known_groups, self._text_chats
        latest: dict[int, GroupRef] = {}
        scrub = False
        for event in batch:
            group = event.group
            latest[group.chat_id] = group  # the latest title wins
            if event.text is not None and group.chat_id not in text_chats:
                scrub = True
        # Mapping hands out one GroupRef per unchanged group, so most checks stop at `is`.
        changed = [
            group
            for chat_id, group in latest.items()
            if (stored := known.get(chat_id)) is not group and stored != group
        ]
        # Mapping leaves text out already; this guard keeps the promise if a caller did not.
        rows = (
            [
                event
                if event.text is None or event.group.chat_id in text_chats
                else replace(event, text=None)
                for event in batch
            ]
            if scrub
            else batch
        )
        if self.opted_out:
            opted_out = self.opted_out
            rows = [anonymised(event, opted_out) for event in rows]
        written: IngestWritten | None = None
        if self._store is not None:
            feature_writes = self._write_decisions if inline and self.writes else None
            try:
                written = await self._store.write(
                    changed, rows, self._decisions, now, feature_writes
                )
            except StoreFailed as failed:
                self.metrics.store_failures += 1
                # Where, and the type only: a message could quote what a member wrote.
                cause = failed.__cause__
                where = traceback.extract_tb(cause.__traceback__)[-1] if cause else None
                log.error(
                    "%s (%s at %s:%s); this batch goes through a unit of work",
                    failed,
                    type(cause).__name__,
                    where.filename if where else "?",
                    where.lineno if where else "?",
                )
        if written is None:
            written = await self._write_in_unit(changed, rows, now, inline=inline)
        new, decided = written.new, written.decided
        if self._decisions:
            for event in batch:
                self._decisions.pop(event.dedup_key, None)
        if decided and self.on_decided is not None:
            self.on_decided(decided)
        if len(new) < len(rows):
            self._remember_redelivered(rows, new)
        for group in changed:
            known[group.chat_id] = group
        self.metrics.batches += 1
        self.metrics.written += len(new)
        self.metrics.duplicates += len(batch) - len(new)

    async def _write_in_unit(
        self,
        changed: Sequence[GroupRef],
        rows: Sequence[EngagementEvent],
        now: datetime,
        *,
        inline: bool,
    ) -> IngestWritten:
        async with self._uow_factory() as uow:
            if changed:
                await uow.groups.upsert_many(changed, now)
            new = await uow.events.add_new(rows)
            await uow.members.observe_many(rows)
            await uow.rollups.add(new)
            pairs = (
                [pair for event in new for pair in self._decisions.get(event.dedup_key, ())]
                if self._decisions
                else []
            )
            if pairs and inline and self.writes:
                pairs = await self._write_decisions(uow, pairs)
            decided = await uow.decisions.add(pairs, now) if pairs else []
            await uow.commit()
        return IngestWritten(new, decided)

    async def _write_decisions(
        self, uow: UnitOfWork, pairs: list[tuple[str, Decision]]
    ) -> list[tuple[str, Decision]]:
        """Write the decisions a feature writes itself, a batch per kind; the rest (and their
        follow-ups) are returned, to be stored for the applier."""
        stored: list[tuple[str, Decision]] = []
        kinds: dict[str, list[tuple[str, Decision]]] = {}
        for watcher, decision in pairs:
            if decision.action in self.writes:
                kinds.setdefault(decision.action, []).append((watcher, decision))
            else:
                stored.append((watcher, decision))
        # In the order the features list their writes (a question is opened before follow-ups
        # to it are joined), not the order the kinds first came in this batch.
        for action, write in self.writes.items():
            written = kinds.get(action)
            if not written:
                continue
            try:
                follow_ups = await write(uow, [d for _, d in written])
            except Exception as exc:
                if self._transient(exc):
                    raise
                self.metrics.write_failures += 1
                log.error(
                    "writing %d %s decisions failed (%s): they are applied one by one instead",
                    len(written),
                    action,
                    type(exc).__name__,
                )
                raise _WriteFailed from exc
            watcher = written[0][0]
            stored.extend((watcher, follow_up) for follow_up in follow_ups)
        return stored

    def _remember_redelivered(
        self, rows: Sequence[EngagementEvent], new: Sequence[EngagementEvent]
    ) -> None:
        fresh = {event.dedup_key for event in new}
        for event in rows:
            if event.dedup_key not in fresh:
                self._redelivered[event.dedup_key] = None
        while len(self._redelivered) > REDELIVERED_KEPT:
            del self._redelivered[next(iter(self._redelivered))]  # the oldest


class _WriteFailed(Exception):
    """A feature's write of its decisions failed; the batch is written again without it."""
