"""Reporting windows (today, 7 days, 30 days) measured in a group's own time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open span [since, until) in UTC, named by how many local days it covers."""

    days: int
    since: datetime
    until: datetime


def trailing_windows(
    now: datetime, timezone: str, days: tuple[int, ...] = (1, 7, 30)
) -> list[Window]:
    """Windows that start at local midnight `d - 1` days before today and end now.

    "Today" is the local calendar day so far; "7 days" is today plus the six before it. Local
    midnight is resolved in the zone (so a DST change shortens or lengthens a day, as the group
    lives it) and converted to UTC for the database.
    """
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    zone = ZoneInfo(timezone)
    local_today = now.astimezone(zone).date()
    windows = []
    for d in days:
        start_day = local_today - timedelta(days=d - 1)
        since = datetime.combine(start_day, time.min, tzinfo=zone).astimezone(UTC)
        windows.append(Window(days=d, since=since, until=now.astimezone(UTC)))
    return windows
