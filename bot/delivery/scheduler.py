"""Which queued call may go to Telegram now: lanes in ready-heaps by priority, waiting by time.

A lane is the FIFO of one chat at one priority (a call without a chat gets a lane of its own).
Only a lane's head can go, and only one call per lane is in flight, so a chat's messages leave in
order even when one of them is retried. A lane whose chat may not send yet (its token bucket, the
group window, a 429 wait, a back-off) sits in the waiting-heap until that time, so it never blocks
other chats.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from bot.delivery.limits import DeliveryLimits, PacedWindow, SlidingWindow, TokenBucket
from bot.ports import Outcome, Priority

ChatKey = int | str

# How often idle per-chat limiter state is forgotten, in seconds of the monotonic clock.
_SWEEP_EVERY = 60.0


class Category(IntEnum):
    """Which overall limit a call counts against."""

    POSTING = 0
    OTHER = 1


class _LaneState(Enum):
    IDLE = "idle"  # empty, in no heap, forgotten
    READY = "ready"  # in a ready-heap
    WAITING = "waiting"  # in the waiting-heap until its chat may send
    BUSY = "busy"  # its head is in flight


@dataclass(eq=False, slots=True)
class Job:
    """One queued Bot API call and the future its caller awaits."""

    seq: int
    method: str
    params: dict[str, Any]
    priority: Priority
    chat: ChatKey | None
    category: Category
    cost: int
    future: asyncio.Future[Outcome]
    lane: Lane | None = None
    not_before: float = 0.0  # a retry's back-off or 429 wait
    failures: int = 0  # transient failures so far
    flood_waits: int = 0  # 429s so far
    dispatched: bool = False  # sent at least once: never shed, it may already be in the chat


@dataclass(eq=False, slots=True)
class Lane:
    """The FIFO of one chat at one priority."""

    key: tuple[object, Priority]
    ident: int
    chat: ChatKey | None
    priority: Priority
    jobs: deque[Job] = field(default_factory=deque)
    state: _LaneState = _LaneState.IDLE


@dataclass(frozen=True, slots=True)
class Backlog:
    """What one chat has waiting in delivery: the messages still to be posted there, and the
    seconds a new message at a given priority would wait for the chat's limits behind them."""

    queued: int = 0
    wait: float = 0.0


@dataclass(slots=True)
class _ChatState:
    bucket: TokenBucket
    group: SlidingWindow | None
    flood_until: dict[Category, float] = field(default_factory=dict)
    lanes: int = 0


def _is_group(chat: ChatKey) -> bool:
    # Groups, supergroups and channels have negative ids; "@name" addresses a public one.
    return isinstance(chat, str) or chat < 0


class Scheduler:
    """The queue's data: lanes, limiters, 429 waits, and the order calls are started in."""

    def __init__(self, limits: DeliveryLimits) -> None:
        self._limits = limits
        self._lanes: dict[tuple[object, Priority], Lane] = {}
        self._chats: dict[ChatKey, _ChatState] = {}
        self._ready: dict[Category, list[tuple[int, int, int, Lane]]] = {c: [] for c in Category}
        self._waiting: list[tuple[float, int, Lane]] = []
        self._overall = {
            Category.POSTING: PacedWindow(
                limits.overall_count,
                limits.overall_window + limits.window_guard,
                limits.overall_burst,
            ),
            Category.OTHER: PacedWindow(
                limits.other_count, limits.other_window + limits.window_guard, limits.other_burst
            ),
        }
        self._global_flood: dict[Category, float] = {c: 0.0 for c in Category}
        self._recent_floods: deque[tuple[float, ChatKey]] = deque()
        # Not-yet-sent jobs per priority in arrival order: the newest of the lowest priority is
        # the one shed when the queue is full.
        self._sheddable: dict[Priority, dict[int, Job]] = {p: {} for p in Priority}
        self._idents = itertools.count()
        self._next_sweep = -math.inf
        self.queued = 0

    # --- queueing -----------------------------------------------------------------------------

    def add(self, job: Job) -> None:
        """Append a new call to the tail of its lane."""
        key: tuple[object, Priority] = (
            (job.chat, job.priority) if job.chat is not None else (("solo", job.seq), job.priority)
        )
        lane = self._lanes.get(key)
        if lane is None:
            lane = Lane(key=key, ident=next(self._idents), chat=job.chat, priority=job.priority)
            self._lanes[key] = lane
            if job.chat is not None:
                self._chat(job.chat).lanes += 1
        job.lane = lane
        lane.jobs.append(job)
        self.queued += 1
        self._sheddable[job.priority][job.seq] = job
        if lane.state is _LaneState.IDLE:
            self._make_ready(lane)

    def shed_for(self, priority: Priority) -> Job | None:
        """Remove and return the newest queued call of a lower priority than `priority`, if any."""
        for candidate in sorted(Priority, reverse=True):
            if candidate <= priority:
                return None
            pending = self._sheddable[candidate]
            if pending:
                _, job = pending.popitem()
                self._unlink(job)
                return job
        return None

    def requeue(self, job: Job) -> None:
        """Put a call that failed back at the head of its lane, so its chat keeps its order."""
        lane = self._lane_of(job)
        lane.jobs.appendleft(job)
        self.queued += 1
        self._release(lane)

    def finished(self, job: Job) -> None:
        """A call is done for good: its lane may start the next one."""
        self._release(self._lane_of(job))

    def remove_chat(self, chat: ChatKey) -> list[Job]:
        """Take every queued call to `chat` out of the queue (the bot was removed from it)."""
        removed: list[Job] = []
        for priority in Priority:
            lane = self._lanes.get((chat, priority))
            if lane is not None:
                removed.extend(lane.jobs)
        for job in removed:
            self._unlink(job)
        return removed

    def remove_all(self) -> list[Job]:
        """Take every queued call out of the queue (delivery is stopping)."""
        removed = [job for lane in self._lanes.values() for job in lane.jobs]
        for job in removed:
            self._unlink(job)
        return removed

    # --- choosing -----------------------------------------------------------------------------

    def next_job(self, now: float, in_flight: int) -> Job | float:
        """Start the most urgent call that every limit allows now, or say when to look again.

        Returns the started job (its tokens taken), or the monotonic time at which something may
        become startable (`math.inf` when only a completion or a new call can change that).
        """
        if now >= self._next_sweep:
            self._sweep(now)
        self._promote(now)
        next_at = math.inf
        best: Lane | None = None
        best_key = (Priority.CONTENT, math.inf)
        best_category = Category.POSTING
        for category in Category:
            lane = self._valid_top(category, now)
            if lane is None:
                continue
            head = lane.jobs[0]
            room = self._limits.max_in_flight
            if head.priority is not Priority.MODERATION:
                room -= self._limits.moderation_reserve
            if in_flight >= room:
                continue
            gate = max(
                self._global_flood[category],
                now + self._overall[category].delay(now, head.cost),
            )
            if gate > now:
                next_at = min(next_at, gate)
                continue
            key = (head.priority, float(head.seq))
            if best is None or key < best_key:
                best, best_key, best_category = lane, key, category
        if best is None:
            if self._waiting:
                next_at = min(next_at, self._waiting[0][0])
            return next_at
        heapq.heappop(self._ready[best_category])
        job = best.jobs.popleft()
        best.state = _LaneState.BUSY
        self.queued -= 1
        self._sheddable[job.priority].pop(job.seq, None)
        job.dispatched = True
        self._take_tokens(job, now)
        return job

    def _valid_top(self, category: Category, now: float) -> Lane | None:
        """The ready-heap's best lane that may really go now; lanes that may not move to waiting."""
        heap = self._ready[category]
        while heap:
            _, seq, _, lane = heap[0]
            while lane.jobs and lane.jobs[0].future.done():
                self._unlink(lane.jobs[0])  # its caller gave up waiting
            if not lane.jobs:
                heapq.heappop(heap)
                self._retire(lane)
                continue
            head = lane.jobs[0]
            if head.seq != seq or head.category is not category:
                heapq.heappop(heap)  # the head changed since it was pushed: re-sort it
                self._make_ready(lane)
                continue
            ready_at = self._lane_ready_at(lane, now)
            if ready_at > now:
                heapq.heappop(heap)
                lane.state = _LaneState.WAITING
                heapq.heappush(self._waiting, (ready_at, lane.ident, lane))
                continue
            return lane
        return None

    def _lane_ready_at(self, lane: Lane, now: float) -> float:
        head = lane.jobs[0]
        ready_at = head.not_before
        if lane.chat is None:
            return ready_at
        state = self._chat(lane.chat)
        ready_at = max(ready_at, state.flood_until.get(head.category, 0.0))
        if head.category is Category.POSTING:
            ready_at = max(ready_at, now + state.bucket.delay(now, head.cost))
            if state.group is not None:
                # A broadcast leaves a few of the group's places per minute to replies and
                # alerts, so they never wait out the window behind scheduled content.
                reserve = self._limits.group_reserve if head.priority is Priority.CONTENT else 0
                ready_at = max(ready_at, now + state.group.delay(now, head.cost, reserve))
        return ready_at

    def _take_tokens(self, job: Job, now: float) -> None:
        self._overall[job.category].take(now, job.cost)
        if job.chat is not None and job.category is Category.POSTING:
            state = self._chat(job.chat)
            state.bucket.take(now, job.cost)
            if state.group is not None:
                state.group.take(now, job.cost)

    # --- 429s ---------------------------------------------------------------------------------

    def flood(self, job: Job, retry_after: float, now: float) -> bool:
        """Record a 429: the call and its chat wait exactly `retry_after`; return True if global.

        The wait is per chat and per category (a message flood does not hold back a ban). It is
        global when the call has no chat, or when 429s arrive from many chats at once, which is
        how Telegram's overall limit shows itself.
        """
        until = now + retry_after
        job.not_before = max(job.not_before, until)
        is_global = job.chat is None
        if job.chat is not None:
            flood_until = self._chat(job.chat).flood_until
            flood_until[job.category] = max(flood_until.get(job.category, 0.0), until)
            is_global = self._many_chats_flooded(job.chat, now)
        if is_global:
            self._global_flood[job.category] = max(self._global_flood[job.category], until)
        return is_global

    def _many_chats_flooded(self, chat: ChatKey, now: float) -> bool:
        recent = self._recent_floods
        recent.append((now, chat))
        while recent and recent[0][0] + self._limits.global_flood_window < now:
            recent.popleft()
        return len({c for _, c in recent}) >= self._limits.global_flood_chats

    def waits(self, now: float) -> dict[ChatKey | None, float]:
        """Seconds each chat (None: every chat) must still wait because of a 429."""
        waits: dict[ChatKey | None, float] = {}
        global_until = max(self._global_flood.values())
        if global_until > now:
            waits[None] = global_until - now
        for chat, state in self._chats.items():
            until = max(state.flood_until.values(), default=0.0)
            if until > now:
                waits[chat] = until - now
        return waits

    def backlog(self, chat: ChatKey, priority: Priority, now: float) -> Backlog:
        """The chat's queued messages, and how long a new one at `priority` would wait.

        The wait is the chat's own limits (its pace, a group's 20 a minute, a 429) played
        forward over the messages that go before it (its priority and more urgent ones) on copies
        of the limiters; the overall limit, which every chat shares, is left out.
        """
        jobs = [
            job
            for level in Priority
            if (lane := self._lanes.get((chat, level))) is not None
            for job in lane.jobs
            if job.category is Category.POSTING and not job.future.done()
        ]
        state = self._chats.get(chat)
        if state is None:
            return Backlog(queued=len(jobs))
        bucket = state.bucket.copy()
        group = state.group.copy() if state.group is not None else None
        start = max(
            now,
            state.flood_until.get(Category.POSTING, 0.0),
            self._global_flood[Category.POSTING],
        )
        at = start
        for cost in [job.cost for job in jobs if job.priority <= priority] + [1]:
            for _ in range(4):  # both limiters allow it after at most a couple of steps
                delay = bucket.delay(at, cost)
                if group is not None:
                    delay = max(delay, group.delay(at, cost))
                if delay <= 1e-9:
                    break
                at += delay
            bucket.take(at, cost)
            if group is not None:
                group.take(at, cost)
        return Backlog(queued=len(jobs), wait=at - now)

    # --- bookkeeping --------------------------------------------------------------------------

    def _chat(self, chat: ChatKey) -> _ChatState:
        state = self._chats.get(chat)
        if state is None:
            limits = self._limits
            # A new bucket starts full; `now` only matters for refills, which start at first use.
            state = _ChatState(
                bucket=TokenBucket(limits.per_chat_rate, limits.per_chat_burst, -math.inf),
                group=(
                    SlidingWindow(
                        limits.per_group_count, limits.per_group_window + limits.window_guard
                    )
                    if _is_group(chat)
                    else None
                ),
            )
            self._chats[chat] = state
        return state

    def _lane_of(self, job: Job) -> Lane:
        if job.lane is None:
            raise ValueError(f"job {job.seq} was never queued")
        return job.lane

    def _unlink(self, job: Job) -> None:
        """Take a not-yet-started job out of its lane; the lane leaves its heap lazily."""
        lane = self._lane_of(job)
        if lane.jobs and lane.jobs[-1] is job:
            lane.jobs.pop()
        else:
            lane.jobs.remove(job)
        self.queued -= 1
        self._sheddable[job.priority].pop(job.seq, None)

    def _make_ready(self, lane: Lane) -> None:
        if not lane.jobs:
            self._retire(lane)
            return
        head = lane.jobs[0]
        lane.state = _LaneState.READY
        heapq.heappush(self._ready[head.category], (head.priority, head.seq, lane.ident, lane))

    def _release(self, lane: Lane) -> None:
        if lane.jobs:
            self._make_ready(lane)
        else:
            self._retire(lane)

    def _retire(self, lane: Lane) -> None:
        lane.state = _LaneState.IDLE
        if self._lanes.get(lane.key) is lane:
            del self._lanes[lane.key]
            if lane.chat is not None:
                self._chat(lane.chat).lanes -= 1

    def _promote(self, now: float) -> None:
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            _, _, lane = heapq.heappop(waiting)
            self._make_ready(lane)

    def _sweep(self, now: float) -> None:
        """Forget limiter state of chats with nothing queued and nothing left to wait for."""
        self._next_sweep = now + _SWEEP_EVERY
        for chat in [
            chat
            for chat, state in self._chats.items()
            if state.lanes == 0
            and state.bucket.idle(now)
            and (state.group is None or state.group.idle(now))
            and all(until <= now for until in state.flood_until.values())
        ]:
            del self._chats[chat]
