"""The /stats report: messages, active and new members for today, 7 and 30 days, read from
the analytics rollups."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.periods import trailing_windows
from bot.ports import Clock, UnitOfWorkFactory, WindowStats


@dataclass(frozen=True, slots=True)
class StatsReport:
    """Activity per trailing window, in the group's time zone."""

    chat_id: int
    timezone: str
    windows: tuple[tuple[int, WindowStats], ...]  # (days, stats)


WINDOW_DAYS = (1, 7, 30)  # today, 7 and 30 local days


class StatsService:
    """Activity per window in SQL over the rollups: `/health` reads it (and `/stats`, through
    `AnalyticsService.stats`, counts the same from the members per day it keeps)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, default_timezone: str) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._default_timezone = default_timezone

    async def group_report(self, chat_id: int) -> StatsReport:
        """Today, 7 and 30 days of activity in one group, counted in its time zone."""
        async with self._uow_factory() as uow:
            settings = await uow.groups.get(chat_id)
            timezone = (settings.timezone if settings else None) or self._default_timezone
            rows = []
            for window in trailing_windows(self._clock.now(), timezone, WINDOW_DAYS):
                stats = await uow.rollups.window_stats(chat_id, window.since, window.until)
                rows.append((window.days, stats))
        return StatsReport(chat_id=chat_id, timezone=timezone, windows=tuple(rows))
