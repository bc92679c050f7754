"""The next run of a content rule, by APScheduler's `CronTrigger` (issue 11: no home-made
calendar arithmetic).

Outside `bot/domain` (which is stdlib only) and handed to the domain and the services as
`NextRun`. `CronTrigger` keeps the wall time across DST: a time in the spring gap fires just
past it, and a time in the autumn hour that repeats would fire twice — the second (fold=1)
instance is skipped here, so a daily post goes out once that day.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.domain.content import Rule

_MOMENT = timedelta(microseconds=1)


@lru_cache(maxsize=4096)
def _trigger(rule: Rule, timezone: str) -> CronTrigger:
    return CronTrigger(timezone=ZoneInfo(timezone), **rule.cron())


def next_run(rule: Rule, after: datetime, timezone: str) -> datetime | None:
    """The first run of `rule` strictly after `after` (UTC), or None if it never runs."""
    trigger = _trigger(rule, timezone)
    tz = ZoneInfo(timezone)
    start = after + _MOMENT
    for _ in range(3):
        fire = trigger.get_next_fire_time(None, start.astimezone(tz))
        if fire is None:
            return None
        fire_utc: datetime = fire.astimezone(UTC)
        local = fire_utc.astimezone(tz)
        first = local.replace(fold=0).astimezone(UTC)
        if local.fold == 1 and first != fire_utc:
            start = fire_utc + _MOMENT  # the repeated hour's second instance: already run
            continue
        return fire_utc
    return None
