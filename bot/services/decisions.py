"""The one service that applies watchers' decisions through the `ChatGateway`.

Decisions arrive stored (the recorder writes them with their message's event), are applied in
the order they were made, and are removed once applied, so a decision is applied at least once
across a crash (outbound calls are at least once: Telegram has no idempotency key). Built-in
actions delete, reply and restrict; a feature registers its own (e.g. "question.answer").

A decision whose whole effect is in our own tables (count a promo, open a question) need not
wait for this service: its feature registers a `Write`, which the recorder runs on the batch's
decisions of that kind inside the transaction that stores their messages. It is then applied
exactly once, with its message, at the cost of a few rows in a commit that happens anyway,
not a transaction of its own per decision. A `Write` may return follow-up decisions (an FAQ
answer to send) that are stored in that same transaction and applied here. A feature with a
`Write` also registers an `Action` of the same name: if the write fails, the recorder stores
the batch's decisions instead and this service applies them one by one. A `Write` awaits
nothing but its unit of work and leaves its service's memory alone: on SQLite it runs in the
ingest store's thread, without an event loop (DESIGN.md, "How an update enters").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from bot.domain.watching import Decision
from bot.ports import (
    ChatGateway,
    Outcome,
    Priority,
    StoredDecision,
    UnitOfWork,
    UnitOfWorkFactory,
)

log = logging.getLogger(__name__)

# Applies one decision; returns whether it is done (False keeps it for a retry at start-up).
Action = Callable[[Decision], Awaitable[bool]]
# Writes a batch's decisions of one kind inside the recorder's unit of work (which commits);
# returns follow-up decisions to store with them for `DecisionApplier`.
Write = Callable[[UnitOfWork, Sequence[Decision]], Awaitable[Sequence[Decision]]]


class DecisionApplier:
    """Applies stored decisions in order, one batch at a time, and forgets the applied ones."""

    def __init__(
        self,
        gateway: ChatGateway,
        uow_factory: UnitOfWorkFactory,
        actions: Mapping[str, Action] | None = None,
    ) -> None:
        self._gateway = gateway
        self._uow_factory = uow_factory
        self._actions: dict[str, Action] = {
            Decision.DELETE: self._delete,
            Decision.REPLY: self._reply,
            Decision.RESTRICT: self._restrict,
            **(actions or {}),
        }
        self._queue: asyncio.Queue[list[StoredDecision]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.applied: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()

    def register(self, action: str, apply: Action) -> None:
        """Let a feature apply decisions of its own kind."""
        self._actions[action] = apply

    def apply_soon(self, decisions: list[StoredDecision]) -> None:
        """Queue decisions just committed with their messages (the recorder's `on_decided`)."""
        self._queue.put_nowait(decisions)

    @property
    def waiting(self) -> int:
        """Batches of decisions not yet applied."""
        return self._queue.qsize()

    async def start(self) -> None:
        """Queue what a previous run decided but did not apply, then start applying."""
        async with self._uow_factory() as uow:
            left = await uow.decisions.pending()
        if left:
            log.info("applying %d decisions left from before the restart", len(left))
            self._queue.put_nowait(left)
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="decision-applier")

    async def stop(self, within: float = 5.0) -> None:
        """Apply what is queued for up to `within` seconds; the rest stays stored."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), within)
        except TimeoutError:
            log.warning("%d batches of decisions left for the next start", self._queue.qsize())
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            batch = await self._queue.get()
            try:
                await self._apply(batch)
            except Exception:
                log.exception("applying %d decisions failed; kept for the next start", len(batch))
            finally:
                self._queue.task_done()

    async def _apply(self, batch: list[StoredDecision]) -> None:
        done: list[int] = []
        for stored in batch:
            decision = stored.decision
            apply = self._actions.get(decision.action)
            if apply is None:
                log.error("no action %r (from %s): dropped", decision.action, stored.watcher)
                done.append(stored.id)
                continue
            if await apply(decision):
                self.applied[decision.action] += 1
            else:
                self.failed[decision.action] += 1
            # A refusal will not change on a retry: it is counted and the decision forgotten.
            done.append(stored.id)
        async with self._uow_factory() as uow:
            await uow.decisions.remove(done)
            await uow.commit()

    async def _delete(self, decision: Decision) -> bool:
        if decision.message_id is None:
            return False
        outcome = await self._gateway.delete_message(decision.chat_id, decision.message_id)
        return _logged(outcome, decision)

    async def _reply(self, decision: Decision) -> bool:
        outcome = await self._gateway.send_message(
            decision.chat_id,
            str(decision.params.get("text", "")),
            priority=Priority.MODERATION,
            reply_to_message_id=decision.message_id,
        )
        return _logged(outcome, decision)

    async def _restrict(self, decision: Decision) -> bool:
        params: dict[str, Any] = {
            "chat_id": decision.chat_id,
            "user_id": decision.params["user_id"],
            "permissions": {"can_send_messages": False},
            "until_date": decision.params.get("until", 0),
        }
        outcome = await self._gateway.call(
            "restrictChatMember", params, priority=Priority.MODERATION, chat_id=decision.chat_id
        )
        return _logged(outcome, decision)


def _logged(outcome: Outcome, decision: Decision) -> bool:
    if not outcome.ok:
        log.warning("%s in chat %s refused: %s", decision.action, decision.chat_id, outcome.reason)
    return outcome.ok
