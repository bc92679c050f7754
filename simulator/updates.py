"""Each bot's update queue: offsets, allowed_updates, long polling and webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp

from simulator.errors import BotApiError

log = logging.getLogger(__name__)

# Telegram leaves these out unless a bot asks for them by name.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
RETENTION_SECONDS = 24 * 3600
FIRST_UPDATE_ID = 100_000_001


@dataclass(frozen=True)
class PendingUpdate:
    """An update waiting for its offset to be confirmed."""

    update_id: int
    kind: str
    payload: dict[str, Any]
    created: float

    def as_update(self) -> dict[str, Any]:
        """The Update object."""
        return {"update_id": self.update_id, self.kind: self.payload}


class UpdateQueue:
    """The updates of one bot, kept until confirmed or 24 hours old."""

    def __init__(self, clock: Callable[[], float], allowed: Iterable[str] | None = None) -> None:
        self._clock = clock
        self._updates: deque[PendingUpdate] = deque()
        self._next_id = FIRST_UPDATE_ID
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self.allowed: frozenset[str] | None = frozenset(allowed) if allowed is not None else None
        self.closed = False

    def wants(self, kind: str) -> bool:
        """Whether an update of this kind is kept (allowed_updates applies when it is created)."""
        if self.allowed:
            return kind in self.allowed
        return kind not in OPT_IN_UPDATES

    def set_allowed(self, allowed: list[str] | None) -> None:
        """Remember allowed_updates; an empty list means "back to the default", as in Telegram."""
        if allowed is not None:
            self.allowed = frozenset(allowed) or None

    def push(self, kind: str, payload: dict[str, Any]) -> PendingUpdate | None:
        """Queue an update if the bot wants its kind; wakes long polls and webhook delivery."""
        if not self.wants(kind):
            return None
        update = PendingUpdate(self._next_id, kind, payload, self._clock())
        self._next_id += 1
        self._updates.append(update)
        self._changed.set()
        return update

    def __len__(self) -> int:
        self._expire()
        return len(self._updates)

    def confirm(self, offset: int) -> None:
        """Forget updates below `offset`; a negative offset keeps only the last -offset ones."""
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
            return
        while self._updates and self._updates[0].update_id < offset:
            self._updates.popleft()

    def drop_all(self) -> None:
        """deleteWebhook/setWebhook with drop_pending_updates."""
        self._updates.clear()

    def peek(self, limit: int) -> list[PendingUpdate]:
        """The oldest `limit` updates still pending."""
        self._expire()
        return [self._updates[i] for i in range(min(limit, len(self._updates)))]

    async def poll(self, offset: int | None, limit: int, wait: float) -> list[PendingUpdate]:
        """getUpdates: confirm, then answer at once or as soon as something arrives."""
        self._poll_generation += 1
        generation = self._poll_generation
        # A newer request ends an older one waiting, which then answers 409 like Telegram.
        self._changed.set()
        if offset is not None:
            self.confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, wait)
        while True:
            if generation != self._poll_generation:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = self.peek(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self.closed:
                return batch
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                continue

    async def wait_for_any(self) -> None:
        """Sleep until the queue has something (webhook delivery)."""
        while not self.peek(1) and not self.closed:
            self._changed.clear()
            await self._changed.wait()

    def close(self) -> None:
        """Release every waiter (the simulator is stopping)."""
        self.closed = True
        self._changed.set()

    def _expire(self) -> None:
        horizon = self._clock() - RETENTION_SECONDS
        while self._updates and self._updates[0].created < horizon:
            self._updates.popleft()


@dataclass
class WebhookConfig:
    """What setWebhook registered."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class WebhookDelivery:
    """POSTs a bot's updates to its webhook one at a time, in order, retrying until 2xx."""

    def __init__(
        self,
        config: WebhookConfig,
        queue: UpdateQueue,
        clock: Callable[[], float],
        take_failure: Callable[[], bool],
        on_reply: Callable[[dict[str, Any]], Awaitable[None]],
        retry_delay: float = 0.05,
        timeout: float = 10.0,
    ) -> None:
        self.config = config
        self._queue = queue
        self._clock = clock
        self._take_failure = take_failure
        self._on_reply = on_reply
        self._retry_delay = retry_delay
        self._timeout = timeout
        self._task: asyncio.Task[None] | None = None
        self.delivered = 0

    def start(self) -> None:
        """Begin delivering in the background."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop delivering; undelivered updates stay queued."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            delay = self._retry_delay
            while True:
                await self._queue.wait_for_any()
                if self._queue.closed:
                    return
                update = self._queue.peek(1)[0]
                error = await self._post(session, update)
                if error is None:
                    self._queue.confirm(update.update_id + 1)
                    self.delivered += 1
                    delay = self._retry_delay
                    continue
                self.config.last_error_date = int(self._clock())
                self.config.last_error_message = error
                log.info("webhook delivery of update %s failed: %s", update.update_id, error)
                await asyncio.sleep(delay)
                # Telegram backs off between attempts; a short cap keeps tests fast.
                delay = min(delay * 2, 1.0)

    async def _post(self, session: aiohttp.ClientSession, update: PendingUpdate) -> str | None:
        if self._take_failure():
            return "Connection refused (simulated failure)"
        headers = {"Content-Type": "application/json"}
        if self.config.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.config.secret_token
        try:
            async with session.post(
                self.config.url, data=json.dumps(update.as_update()), headers=headers
            ) as response:
                if not 200 <= response.status < 300:
                    return f"Wrong response from the webhook: {response.status} {response.reason}"
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Connection failed: {exc.__class__.__name__}"
        await self._answer_reply(body)
        return None

    async def _answer_reply(self, body: bytes) -> None:
        # A webhook may answer with a method call (aiogram does); Telegram executes it.
        if not body.strip():
            return
        try:
            reply = json.loads(body)
        except ValueError:
            return
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            await self._on_reply(reply)
