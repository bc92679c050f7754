"""What /health reports: the whole bot's counters (for the ops chat), and one group's figures
(for that group's moderators). Plain data: `bot/app.py` fills them, `handlers/render.py` words
them, `handlers/health.py` decides who reads which."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.rights import Readiness


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The whole bot's counters since start, and the delivery queue as it is now."""

    updates_accepted: int
    updates_skipped: int
    events_written: int
    events_duplicate: int
    events_buffered: int
    failed_flushes: int
    queued: int
    sent: int
    retried: int
    shed: int
    failed: int
    longest_wait: float  # seconds of the longest 429 wait in force
    closed_chats: int
    judged: int = 0  # messages the watchers judged
    judging: int = 0  # messages waiting for their watchers
    judge_lag: float = 0.0  # seconds the oldest of them has waited
    watcher_errors: int = 0
    decisions: int = 0
    lines: tuple[tuple[str, int | float | str], ...] = ()  # features' own: label, value


@dataclass(frozen=True, slots=True)
class GroupHealthReport:
    """How groupops is doing in one group, as that group's moderators read it."""

    messages_today: int  # recorded since local midnight, in the group's time zone
    messages_week: int  # recorded over the last 7 days
    replies_waiting: int  # messages delivery still has to post in the group
    reply_wait: float  # seconds a reply sent now would wait for Telegram's limits
    judging: int  # the group's messages waiting for the watchers' checks
    judge_lag: float  # seconds the oldest of them has waited
    standing: Readiness | None  # what the bot lacks there (None: Telegram would not say)
    lines: tuple[str, ...] = ()  # features' own lines about the group, already in its words
