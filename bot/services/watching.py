"""The watcher pipeline: every new group message judged once, in order per chat, then recorded.

A message's watchers run before its event is handed to the recorder, and their decisions are
written in the same transaction as the event. So a message whose event is committed — and
only such a message is confirmed to Telegram — has been judged, and what was decided survives
a crash until `DecisionApplier` has applied it. A crash before the commit loses the judgment
with the event; Telegram sends the update again and it is judged then.

Each chat has a lane (a queue and, while it holds messages, a task), so a slow watcher in one
chat never holds up another, and a chat's messages are judged in the order they came (the
ad-share budget depends on it). At most `max_pending` messages wait across all lanes; past
that `submit` waits, which slows the transport down instead of growing memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.domain.events import EngagementEvent
from bot.domain.watching import Decision, WatchedMessage, Watcher
from bot.services.engagement import EngagementRecorder

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Job:
    watched: WatchedMessage | None  # None: events that only keep their place in the chat
    events: Sequence[EngagementEvent]
    since: float  # when it was submitted (monotonic seconds)


class _Lane:
    """One chat's messages waiting for their watchers, and who waits for them to be judged."""

    __slots__ = ("done", "jobs", "submitted", "waiters")

    def __init__(self) -> None:
        self.jobs: deque[_Job] = deque()
        self.submitted = 0
        self.done = 0
        self.waiters: list[tuple[int, asyncio.Future[None]]] = []

    def release(self) -> None:
        still = []
        for target, future in self.waiters:
            if self.done >= target:
                if not future.done():
                    future.set_result(None)
            else:
                still.append((target, future))
        self.waiters = still


@dataclass(slots=True)
class WatchMetrics:
    """Counters since start, for /health."""

    judged: int = 0
    decisions: int = 0
    errors: int = 0


class WatchPipeline:
    """Runs the watchers on each new group message, per chat in order, then records it."""

    def __init__(
        self,
        watchers: Sequence[Watcher],
        recorder: EngagementRecorder,
        *,
        max_pending: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._watchers = tuple(watchers)
        self._edit_watchers = tuple(w for w in watchers if w.wants_edits)
        self._recorder = recorder
        self._max_pending = max_pending
        self._monotonic = monotonic
        self._lanes: dict[int, _Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._room = asyncio.Event()
        self._room.set()
        self.metrics = WatchMetrics()
        self.errors_by_watcher: Counter[str] = Counter()

    def watches(self, watched: WatchedMessage) -> bool:
        """Whether any watcher judges this message (edits only where a watcher asks for them)."""
        return bool(self._edit_watchers if watched.is_edit else self._watchers)

    @property
    def pending(self) -> int:
        """Messages waiting for their watchers."""
        return self._pending

    def lag(self) -> float:
        """Seconds the oldest message still waiting for its watchers has waited (0 if none)."""
        heads = [lane.jobs[0].since for lane in self._lanes.values() if lane.jobs]
        return self._monotonic() - min(heads) if heads else 0.0

    def waiting_in(self, chat_id: int) -> tuple[int, float]:
        """One chat's messages waiting for their watchers, and seconds the oldest has waited."""
        lane = self._lanes.get(chat_id)
        if lane is None or not lane.jobs:
            return 0, 0.0
        return len(lane.jobs), self._monotonic() - lane.jobs[0].since

    async def submit(self, watched: WatchedMessage, events: Sequence[EngagementEvent]) -> None:
        """Queue a message for its chat's watchers; its events are recorded once it is judged.

        Waits while `max_pending` messages are already waiting (back-pressure).
        """
        while self._pending >= self._max_pending:
            self._room.clear()
            await self._room.wait()
        chat_id = watched.chat_id
        lane = self._lanes.get(chat_id)
        if lane is None:
            lane = self._lanes[chat_id] = _Lane()
        lane.jobs.append(_Job(watched, events, self._monotonic()))
        lane.submitted += 1
        self._pending += 1
        if len(lane.jobs) == 1:
            task = asyncio.create_task(self._run(chat_id, lane), name=f"watch-{chat_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def keep_order(self, chat_id: int, events: Sequence[EngagementEvent]) -> bool:
        """Queue events nobody judges (a reaction, a join, an edit) behind the chat's messages
        still being judged, so the chat's events are recorded in the order they came: a
        reaction to a message in the lane is not committed before that message, which would
        leave it crediting no one. False when the lane is empty: record them now."""
        lane = self._lanes.get(chat_id)
        if lane is None or not lane.jobs:
            return False
        while self._pending >= self._max_pending:
            self._room.clear()
            await self._room.wait()
        lane.jobs.append(_Job(None, events, self._monotonic()))
        lane.submitted += 1
        self._pending += 1
        return True

    async def settled(self) -> None:
        """Return once every message submitted before this call is judged and recorded."""
        waits = []
        for lane in list(self._lanes.values()):
            if lane.done < lane.submitted:
                future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                lane.waiters.append((lane.submitted, future))
                waits.append(future)
        if waits:
            await asyncio.gather(*waits)

    async def _run(self, chat_id: int, lane: _Lane) -> None:
        try:
            while lane.jobs:
                job = lane.jobs[0]
                decisions = await self._judge(job.watched) if job.watched is not None else []
                await self._recorder.record(job.events, decisions)
                lane.jobs.popleft()
                lane.done += 1
                self._pending -= 1
                self._room.set()
                lane.release()
        finally:
            if not lane.jobs and self._lanes.get(chat_id) is lane:
                del self._lanes[chat_id]

    async def _judge(self, watched: WatchedMessage) -> list[tuple[str, Decision]]:
        decisions: list[tuple[str, Decision]] = []
        for watcher in self._edit_watchers if watched.is_edit else self._watchers:
            try:
                decided = await watcher.watch(watched)
            except Exception as exc:
                # Logged without the message: exceptions may quote the text, which is not kept.
                self.metrics.errors += 1
                self.errors_by_watcher[watcher.name] += 1
                log.error(
                    "watcher %s failed on message %s in chat %s: %s",
                    watcher.name,
                    watched.event.message_id,
                    watched.chat_id,
                    type(exc).__name__,
                )
                log.debug("watcher %s failure", watcher.name, exc_info=True)
                continue
            decisions.extend((watcher.name, decision) for decision in decided)
        self.metrics.judged += 1
        self.metrics.decisions += len(decisions)
        return decisions
