"""The weekly digest: each opted-in group's week, told once to its ops chat.

A group opts in with `/settings digest on`. Every Monday from `DIGEST_HOUR` in the group's own
time zone, the tick writes the week just ended (Monday to Sunday) against the week before, the
members at risk, and then every section other features added (`Runtime.digest_sections`), and
sends it to the group's ops chat (the hand-off link's, else `OPS_CHAT_ID`) through delivery's
outbox under the key `digest:<chat>:<monday>`. The week is then marked told in `digests`.
A crash before the outbox row is written sends it at the next tick; after it, the row is
resumed at start-up and the same key is never sent twice; so each week is told once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.analytics import utc_span, week_start
from bot.ports import Clock, DurableSender, Priority, UnitOfWorkFactory
from bot.services.analytics import AnalyticsService, WeekReport

log = logging.getLogger(__name__)

DIGEST_HOUR = 9  # local time on Monday
MESSAGE_LIMIT = 4096


# (report, group title, the group's language code) -> the digest's own text.
Writer = Callable[[WeekReport, str, str], str]
# (chat_id, since, until, the group's language code) -> a feature's section, or None: the
# shape of `bot.features.DigestSection`.
Section = Callable[[int, datetime, datetime, str], Awaitable[str | None]]


class DigestService:
    """Opt-in, due weeks, and sending them once."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        analytics: AnalyticsService,
        sender: DurableSender,
        write: Writer,
        sections: Sequence[Section],
        default_timezone: str,
        default_ops_chat: int | None,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._analytics = analytics
        self._sender = sender
        self._write = write
        self._sections = sections  # read at each run: features append theirs after this is built
        self._default_timezone = default_timezone
        self._default_ops_chat = default_ops_chat
        self._running = asyncio.Lock()

    async def set_enabled(self, chat_id: int, enabled: bool) -> int | None:
        """Turn the group's digest on or off; the ops chat it goes to (None: none is set)."""
        async with self._uow_factory() as uow:
            await uow.digests.set_enabled(chat_id, enabled)
            ops = await self._ops_chat(uow, chat_id)
            await uow.commit()
        return ops

    async def enabled(self, chat_id: int) -> bool:
        async with self._uow_factory() as uow:
            return await uow.digests.enabled(chat_id)

    async def _ops_chat(self, uow: Any, chat_id: int) -> int | None:
        own = (await uow.handoff.settings(chat_id)).ops_chat_id
        return int(own) if own is not None else self._default_ops_chat

    def due_week(self, now: datetime, zone: ZoneInfo) -> tuple[date, bool]:
        """The Monday of the week just ended in `zone`, and whether its digest may go now."""
        local = now.astimezone(zone)
        this_monday = week_start(local.date())
        opens = datetime.combine(this_monday, time(DIGEST_HOUR), tzinfo=zone)
        return this_monday - timedelta(weeks=1), local >= opens

    async def run_due(self) -> int:
        """Send every digest that is due; how many were sent (the tick)."""
        async with self._running:
            async with self._uow_factory() as uow:
                subscribed = await uow.digests.subscribed()
                groups = {chat_id: await uow.groups.get(chat_id) for chat_id, _ in subscribed}
            sent = 0
            now = self._clock.now()
            for chat_id, last_week in subscribed:
                group = groups[chat_id]
                zone = ZoneInfo((group.timezone if group else None) or self._default_timezone)
                week, opened = self.due_week(now, zone)
                if not opened or (last_week is not None and last_week >= week):
                    continue
                try:
                    sent += await self._tell(chat_id, week, zone)
                except Exception:
                    log.exception("the weekly digest of %s failed; it is tried again", chat_id)
            return sent

    async def _tell(self, chat_id: int, week: date, zone: ZoneInfo) -> bool:
        async with self._uow_factory() as uow:
            group = await uow.groups.get(chat_id)
            ops = await self._ops_chat(uow, chat_id)
        if ops is None or group is None:
            return False  # nowhere to send it; the week stays untold until an ops chat is set
        parts = await self.text(chat_id, week, zone, group.title, group.language)
        for n, part in enumerate(parts):
            key = f"digest:{chat_id}:{week.isoformat()}" + (f":{n}" if n else "")
            await self._sender.send_durable(
                key, ops, "sendMessage", {"chat_id": ops, "text": part}, Priority.CONTENT
            )
        async with self._uow_factory() as uow:
            told = await uow.digests.mark_told(chat_id, week)
            await uow.commit()
        return told

    async def text(
        self, chat_id: int, week: date, zone: ZoneInfo, title: str, language: str
    ) -> list[str]:
        """The digest of the week starting `week`, in parts that each fit one message."""
        report = await self._analytics.week(chat_id, week)
        since, until = utc_span(week, week + timedelta(days=6), zone)
        pieces = [self._write(report, title, language)]
        for section in list(self._sections):
            try:
                found = await section(chat_id, since, until, language)
            except Exception:
                log.exception("a digest section failed for %s; the digest goes without it", chat_id)
                continue
            if found:
                pieces.append(found)
        return _parts(pieces)


def _parts(pieces: list[str]) -> list[str]:
    """Pieces joined by blank lines into messages of at most MESSAGE_LIMIT characters."""
    parts: list[str] = []
    for piece in pieces:
        piece = piece[:MESSAGE_LIMIT]
        if parts and len(parts[-1]) + 2 + len(piece) <= MESSAGE_LIMIT:
            parts[-1] = f"{parts[-1]}\n\n{piece}"
        else:
            parts.append(piece)
    return parts
