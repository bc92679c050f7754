"""Delivery: the one outbound queue every Telegram call goes through (invariant 2)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from bot.delivery.limits import DeliveryLimits, is_posting, message_cost
from bot.delivery.refusals import refusal_reason
from bot.delivery.scheduler import Backlog, Category, ChatKey, Job, Scheduler
from bot.delivery.uploads import live, stored
from bot.ports import (
    BotApiTransport,
    ChatAdmin,
    Clock,
    FailureReason,
    OutboxItem,
    Outcome,
    Priority,
    Refused,
    RetryAfter,
    TransientError,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

OnRefusal = Callable[[int | None, FailureReason, str], Awaitable[None]]
DEFAULT_LIMITS = DeliveryLimits()

# Outbox rows that end with these stay pending, so the next `resume_pending` tries them again:
# Telegram did not say no, delivery just could not get them through this time.
_RETRY_LATER = frozenset({FailureReason.SHED, FailureReason.GAVE_UP})


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class DeliveryMetrics:
    """Counters since start, and what is queued and waiting now."""

    queued: int
    in_flight: int
    sent: int
    retried: int
    shed: int
    failed: int
    failed_by_reason: dict[FailureReason, int] = field(default_factory=dict)
    waits: dict[ChatKey | None, float] = field(default_factory=dict)  # None: a global 429 wait
    closed_chats: frozenset[ChatKey] = frozenset()


class Delivery:
    """The outbound queue: rate limits, priorities, retries, refusals, back-pressure, outbox.

    One worker task picks the next call (see `Scheduler`) and starts it as its own task, so slow
    HTTP never holds up the choice; completions wake the worker. Implements `ChatGateway`.
    """

    def __init__(
        self,
        transport: BotApiTransport,
        clock_monotonic: Callable[[], float] = time.monotonic,
        limits: DeliveryLimits = DEFAULT_LIMITS,
        max_queue: int = 10_000,
        on_refusal: OnRefusal | None = None,
        uow_factory: UnitOfWorkFactory | None = None,
        wall_clock: Clock | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._transport = transport
        self._clock = clock_monotonic
        self._limits = limits
        self._max_queue = max_queue
        self._on_refusal = on_refusal
        self._uow_factory = uow_factory
        self._wall_clock: Clock = wall_clock or _UtcClock()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._scheduler = Scheduler(limits)
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._durable: dict[int, asyncio.Task[Outcome]] = {}
        self._recording = asyncio.Lock()
        self._resuming = 0
        self._settled_while_resuming: set[int] = set()
        self._closing = False
        self._in_flight = 0
        self._closed: dict[ChatKey, str] = {}
        self._moved: dict[ChatKey, int] = {}  # basic group -> the supergroup it became
        self._told: set[tuple[ChatKey | None, FailureReason]] = set()
        self._sent = 0
        self._retried = 0
        self._shed = 0
        self._failed: dict[FailureReason, int] = {}

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker; calls queued before this wait for it."""
        if self._worker is None:
            self._closing = False
            self._worker = asyncio.create_task(self._work(), name="delivery-worker")
            self._worker.add_done_callback(_report_crash)

    async def stop(self, drain: bool = True, drain_timeout: float | None = None) -> None:
        """Stop taking calls; with `drain`, first finish what is queued (up to `drain_timeout` s).

        Whatever is still queued or in flight after that ends with SHED ("delivery stopped");
        outbox rows among them stay pending for the next `resume_pending`.
        """
        self._closing = True
        self._wake.set()
        worker = self._worker
        if worker is not None and drain:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(worker), drain_timeout)
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._worker = None
        if drain and worker is not None and worker.done():
            # Drained: what is left are refusal reports (on_refusal) finishing; let them.
            await asyncio.gather(*self._calls, return_exceptions=True)
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        dropped = self._scheduler.remove_all()
        if dropped:
            # Said, not silently lost: replies queued behind Telegram's limits go with the stop.
            log.warning(
                "stopping: %d queued calls dropped (outbox messages are sent at the next start)",
                len(dropped),
            )
        for job in dropped:
            self._resolve(job, Outcome(ok=False, reason=FailureReason.SHED, detail="stopped"))
        # Outbox bookkeeping of calls that did finish is allowed to complete.
        await asyncio.gather(*self._durable.values(), return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop(drain=exc is None)

    # --- the gateway --------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: dict[str, Any],
        *,
        priority: Priority = Priority.REPLY,
        chat_id: int | None = None,
    ) -> Outcome:
        """Queue one Bot API call and wait for its outcome.

        `chat_id` defaults to `params["chat_id"]`; it decides the chat's limits and order.
        Cancelling the wait before the call is sent takes it out of the queue.
        """
        return await self._submit(method, params, priority, chat_id)

    def _submit(
        self, method: str, params: dict[str, Any], priority: Priority, chat_id: int | None
    ) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        chat: ChatKey | None = chat_id
        if chat is None and isinstance(params.get("chat_id"), int | str):
            chat = params["chat_id"]
        if chat is not None and chat in self._moved:
            chat, params = self._moved[chat], _retargeted(params, chat, self._moved[chat])
        posting = is_posting(method)
        job = Job(
            seq=next(self._seq),
            method=method,
            params=params,
            priority=Priority(priority),
            chat=chat,
            category=Category.POSTING if posting else Category.OTHER,
            cost=message_cost(method, params) if posting else 1,
            future=future,
        )
        if self._closing:
            self._resolve(job, Outcome(ok=False, reason=FailureReason.SHED, detail="stopped"))
        elif chat is not None and chat in self._closed:
            self._fail(job, FailureReason.BOT_REMOVED, self._closed[chat])
        else:
            self._admit(job)
        return future

    def _admit(self, job: Job) -> None:
        scheduler = self._scheduler
        if scheduler.queued >= self._max_queue:
            victim = scheduler.shed_for(job.priority) or job
            self._shed += 1
            self._resolve(victim, Outcome(ok=False, reason=FailureReason.SHED, detail="queue full"))
            if victim is job:
                return
        scheduler.add(job)
        self._wake.set()

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        priority: Priority = Priority.REPLY,
        reply_to_message_id: int | None = None,
        thread_id: int | None = None,
    ) -> Outcome:
        """Send a text message (a reply still goes out if the replied-to message is gone)."""
        return await self.queue_message(
            chat_id,
            text,
            priority=priority,
            reply_to_message_id=reply_to_message_id,
            thread_id=thread_id,
        )

    def queue_message(
        self,
        chat_id: int,
        text: str,
        *,
        priority: Priority = Priority.REPLY,
        reply_to_message_id: int | None = None,
        thread_id: int | None = None,
    ) -> asyncio.Future[Outcome]:
        """`send_message` without waiting for it: queued now, in order with the chat's other
        calls; its outcome is the returned future. A command's handler answers so, and the
        chat's next command is handled while the answer waits on Telegram's limits."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if reply_to_message_id is not None:
            params["reply_parameters"] = {
                "message_id": reply_to_message_id,
                "allow_sending_without_reply": True,
            }
        if thread_id is not None:
            params["message_thread_id"] = thread_id
        return self._submit("sendMessage", params, priority, chat_id)

    async def delete_message(
        self, chat_id: int, message_id: int, *, priority: Priority = Priority.MODERATION
    ) -> Outcome:
        """Delete one message."""
        params = {"chat_id": chat_id, "message_id": message_id}
        return await self.call("deleteMessage", params, priority=priority, chat_id=chat_id)

    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin] | None:
        """The group's admins; None when Telegram could not be asked (an outage, a refusal)."""
        # Reads go ahead of the chat's queued replies (which share its reply lane): a command
        # checked against the admins must not wait a minute behind answers to earlier ones.
        outcome = await self.call(
            "getChatAdministrators",
            {"chat_id": chat_id},
            priority=Priority.MODERATION,
            chat_id=chat_id,
        )
        if not outcome.ok or not isinstance(outcome.result, list):
            return None
        return [admin for raw in outcome.result if (admin := _chat_admin(raw)) is not None]

    async def get_chat_member_status(self, chat_id: int, user_id: int) -> ChatAdmin | None:
        """A member's admin status and rights, or None when not an admin (or not visible)."""
        params = {"chat_id": chat_id, "user_id": user_id}
        outcome = await self.call(
            "getChatMember", params, priority=Priority.MODERATION, chat_id=chat_id
        )
        return _chat_admin(outcome.result) if outcome.ok else None

    def reopen_chat(self, chat_id: ChatKey) -> None:
        """The bot is back in `chat_id`: send to it again, and report its next refusals again."""
        self._closed.pop(chat_id, None)
        self._told = {(chat, reason) for chat, reason in self._told if chat != chat_id}

    # --- the durable path ---------------------------------------------------------------------

    async def send_durable(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: Priority = Priority.CONTENT,
    ) -> Outcome:
        """Record the call in the outbox, send it, and mark the row sent (or failed).

        Concurrent calls are queued in the order they were made, like `call`. The same
        `dedup_key` twice returns the first outcome when that one is settled and is never sent
        twice. One window stays open, as with any API that has no idempotency key:
        a crash after Telegram accepted the call and before `mark_sent` committed resends it.
        """
        uow_factory = self._need_outbox()
        # One recording at a time, in the order of the calls (the lock is fair): otherwise
        # concurrent callers would reach the queue in the order their commits happened to end,
        # and a chat's posts would leave out of order.
        async with self._recording:
            async with uow_factory() as uow:
                item = await uow.outbox.add(
                    dedup_key,
                    chat_id,
                    method,
                    stored(params),
                    int(priority),
                    self._wall_clock.now(),
                )
                await uow.commit()
            if item.sent_at is not None:
                result = {"message_id": item.result_message_id} if item.result_message_id else None
                return Outcome(ok=True, result=result, detail="already sent")
            if item.failed_reason is not None:
                reason = _stored_reason(item.failed_reason)
                return Outcome(ok=False, reason=reason, detail="already failed")
            task = self._deliver_item(item)
        return await asyncio.shield(task)

    async def resume_pending(self, limit: int = 1000) -> int:
        """Queue outbox rows neither sent nor failed (at start-up); return how many were queued.

        Safe to call again at any time: rows already on their way are not queued twice.
        """
        uow_factory = self._need_outbox()
        self._resuming += 1
        try:
            async with uow_factory() as uow:
                items = await uow.outbox.pending(limit)
            # A row settled while the query ran may be in it as still pending.
            skip = self._durable.keys() | self._settled_while_resuming
            fresh = [item for item in items if item.id not in skip]
            for item in fresh:
                self._deliver_item(item)
            return len(fresh)
        finally:
            self._resuming -= 1
            if not self._resuming:
                self._settled_while_resuming.clear()

    def _deliver_item(self, item: OutboxItem) -> asyncio.Task[Outcome]:
        task = self._durable.get(item.id)
        if task is None:
            # Queued here, synchronously, so rows keep their order within a chat.
            params = live(item.params)  # uploads were stored as base64
            future = self._submit(item.method, params, Priority(item.priority), item.chat_id)
            task = asyncio.create_task(self._settle(item, future))
            self._durable[item.id] = task
            task.add_done_callback(lambda _: self._durable.pop(item.id, None))
        return task

    async def _settle(self, item: OutboxItem, future: asyncio.Future[Outcome]) -> Outcome:
        outcome = await future
        if outcome.reason in _RETRY_LATER:
            return outcome
        uow_factory = self._need_outbox()
        try:
            async with uow_factory() as uow:
                if outcome.ok:
                    await uow.outbox.mark_sent(item.id, self._wall_clock.now(), outcome.message_id)
                else:
                    reason = outcome.reason or FailureReason.BAD_REQUEST
                    await uow.outbox.mark_failed(item.id, reason.value, self._wall_clock.now())
                await uow.commit()
            if self._resuming:
                self._settled_while_resuming.add(item.id)
        except Exception:
            # The call itself is settled; an unmarked row is sent again at the next resume.
            log.exception("outbox row %s (%s) could not be marked", item.id, item.dedup_key)
        return outcome

    def _need_outbox(self) -> UnitOfWorkFactory:
        if self._uow_factory is None:
            raise RuntimeError("Delivery was built without uow_factory: no durable outbox")
        return self._uow_factory

    # --- what it is doing ---------------------------------------------------------------------

    def metrics(self) -> DeliveryMetrics:
        """Counters and current waits."""
        return DeliveryMetrics(
            queued=self._scheduler.queued,
            in_flight=self._in_flight,
            sent=self._sent,
            retried=self._retried,
            shed=self._shed,
            failed=sum(self._failed.values()),
            failed_by_reason=dict(self._failed),
            waits=self._scheduler.waits(self._clock()),
            closed_chats=frozenset(self._closed),
        )

    def backlog(self, chat_id: int, priority: Priority = Priority.REPLY) -> Backlog:
        """What `chat_id` has waiting, and how long a new message at `priority` would wait."""
        chat: ChatKey = self._moved.get(chat_id, chat_id)
        return self._scheduler.backlog(chat, priority, self._clock())

    def reply_wait(self, chat_id: int) -> float:
        """Seconds a reply sent to `chat_id` now would wait for Telegram's limits."""
        return self.backlog(chat_id).wait

    def health_line(self) -> str:
        """One line for /health."""
        m = self.metrics()
        longest = max(m.waits.values(), default=0.0)
        state = "running" if self._worker is not None and not self._closing else "stopped"
        return (
            f"delivery {state}: queued {m.queued}, in flight {m.in_flight}, sent {m.sent}, "
            f"retried {m.retried}, shed {m.shed}, failed {m.failed}, "
            f"429 waits {len(m.waits)} (longest {longest:.1f}s), closed chats {len(m.closed_chats)}"
        )

    # --- the worker ---------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            self._wake.clear()
            next_at = self._start_ready()
            if self._closing and self._scheduler.queued == 0 and self._in_flight == 0:
                return
            await self._idle(next_at - self._clock())

    def _start_ready(self) -> float:
        """Start every call the limits allow now; return when to look again."""
        now = self._clock()
        while True:
            picked = self._scheduler.next_job(now, self._in_flight)
            if not isinstance(picked, Job):
                return picked
            self._start(picked)

    async def _idle(self, delay: float) -> None:
        """Wait `delay` seconds, or less when a call is queued or finishes."""
        if delay <= 0:
            await asyncio.sleep(0)
            return
        waker = asyncio.ensure_future(self._wake.wait())
        waiters: set[asyncio.Future[Any]] = {waker}
        if delay != math.inf:
            waiters.add(asyncio.ensure_future(self._sleep(delay)))
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _start(self, job: Job) -> None:
        self._in_flight += 1
        task = asyncio.create_task(self._run(job))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _run(self, job: Job) -> None:
        try:
            outcome = await self._attempt(job)
        except asyncio.CancelledError:
            self._scheduler.finished(job)
            self._resolve(job, Outcome(ok=False, reason=FailureReason.SHED, detail="stopped"))
            raise
        finally:
            self._in_flight -= 1
            self._wake.set()
        if outcome is None:
            self._scheduler.requeue(job)
            return
        self._scheduler.finished(job)
        if outcome is _MOVED:  # handed to the supergroup's lane under a new job
            return
        self._resolve(job, outcome)
        if not outcome.ok and outcome.reason is not None:
            await self._tell(job.chat, outcome.reason, outcome.detail)

    async def _attempt(self, job: Job) -> Outcome | None:
        """Send the call once; the outcome, or None when it must go again (already planned)."""
        try:
            result = await self._transport.execute(job.method, job.params)
        except RetryAfter as exc:
            return self._after_flood(job, exc)
        except TransientError as exc:
            return self._after_transient(job, exc)
        except Refused as exc:
            return self._after_refusal(job, exc)
        except Exception as exc:
            # A bug in the transport, not Telegram's answer: retrying would repeat it.
            log.exception("%s failed unexpectedly", job.method)
            return self._failure(FailureReason.BAD_REQUEST, f"{type(exc).__name__}: {exc}")
        self._sent += 1
        return Outcome(ok=True, result=result)

    def _after_flood(self, job: Job, exc: RetryAfter) -> Outcome | None:
        job.flood_waits += 1
        if job.flood_waits > self._limits.max_flood_waits:
            return self._failure(FailureReason.GAVE_UP, f"{job.flood_waits} flood waits: {exc}")
        is_global = self._scheduler.flood(job, exc.retry_after, self._clock())
        log.warning(
            "%s to %s: 429, waiting %ss%s",
            job.method,
            job.chat,
            exc.retry_after,
            " (global)" if is_global else "",
        )
        self._retried += 1
        return None

    def _after_transient(self, job: Job, exc: TransientError) -> Outcome | None:
        job.failures += 1
        limits = self._limits
        if job.failures >= limits.max_tries:
            return self._failure(FailureReason.GAVE_UP, f"{job.failures} tries: {exc}")
        # "Equal jitter": half the exponential step fixed, half random, so retries spread out
        # but never come back sooner than half the step.
        step = min(limits.backoff_cap, limits.backoff_base * 2 ** (job.failures - 1))
        job.not_before = self._clock() + step * (0.5 + self._rng.random() / 2)
        self._retried += 1
        return None

    def _after_refusal(self, job: Job, exc: Refused) -> Outcome:
        if exc.migrate_to_chat_id is not None and job.chat is not None:
            return self._follow_migration(job, job.chat, exc.migrate_to_chat_id)
        reason = refusal_reason(exc.description)
        detail = f"{exc.error_code}: {exc.description}"
        if reason is FailureReason.BOT_REMOVED and job.chat is not None:
            self._closed[job.chat] = detail
            for queued in self._scheduler.remove_chat(job.chat):
                self._fail(queued, reason, detail)
        return self._failure(reason, detail)

    def _follow_migration(self, job: Job, old: ChatKey, new: int) -> Outcome:
        """The group became a supergroup: send this call, and the chat's queued and later
        ones, to the new id (in their order)."""
        self._moved[old] = new
        log.info("chat %s became supergroup %s: its calls go there now", old, new)
        self._retried += 1
        for moved in [job, *self._scheduler.remove_chat(old)]:
            self._admit(
                replace(
                    moved,
                    seq=next(self._seq),
                    params=_retargeted(moved.params, old, new),
                    chat=new,
                    lane=None,
                    not_before=0.0,
                )
            )
        return _MOVED

    def _failure(self, reason: FailureReason, detail: str) -> Outcome:
        self._failed[reason] = self._failed.get(reason, 0) + 1
        return Outcome(ok=False, reason=reason, detail=detail)

    def _fail(self, job: Job, reason: FailureReason, detail: str) -> None:
        self._resolve(job, self._failure(reason, detail))

    async def _tell(self, chat: ChatKey | None, reason: FailureReason, detail: str) -> None:
        """Report a refusal to `on_refusal` once per (chat, reason) until the chat is reopened."""
        if self._on_refusal is None or reason in _RETRY_LATER or (chat, reason) in self._told:
            return
        self._told.add((chat, reason))
        try:
            await self._on_refusal(chat if isinstance(chat, int) else None, reason, detail)
        except Exception:
            log.exception("on_refusal failed for %s %s", chat, reason)

    @staticmethod
    def _resolve(job: Job, outcome: Outcome) -> None:
        if not job.future.done():
            job.future.set_result(outcome)


# `_attempt`'s answer when the call was handed to the chat's new id: no outcome yet.
_MOVED = Outcome(ok=False, detail="moved to the supergroup")


def _retargeted(params: dict[str, Any], old: ChatKey, new: int) -> dict[str, Any]:
    return {**params, "chat_id": new} if params.get("chat_id") == old else params


def _report_crash(worker: asyncio.Task[None]) -> None:
    if not worker.cancelled() and worker.exception() is not None:
        log.error("delivery worker crashed", exc_info=worker.exception())


def _stored_reason(value: str) -> FailureReason:
    try:
        return FailureReason(value)
    except ValueError:
        return FailureReason.BAD_REQUEST


def _chat_admin(raw: Any) -> ChatAdmin | None:
    """A ChatAdmin from a ChatMember dict, or None when the member is not an admin."""
    if not isinstance(raw, dict) or raw.get("status") not in {"creator", "administrator"}:
        return None
    user = raw.get("user") or {}
    return ChatAdmin(
        user_id=int(user.get("id", 0)),
        is_bot=bool(user.get("is_bot", False)),
        status=str(raw["status"]),
        is_anonymous=bool(raw.get("is_anonymous", False)),
        rights=frozenset(k for k, v in raw.items() if k.startswith("can_") and v is True),
    )
