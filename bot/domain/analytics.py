"""Analytics measures as pure functions over the rollups: activity, interaction, retention,
heatmap, segments and churn warnings, each counted in the group's own time zone.

Inputs are what the rollups hold (UTC hours and UTC days with an active-hours mask), so a
measure never needs the raw events and can be tested on hand-built histories.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class HourTotals:
    """A group's counts in one UTC hour."""

    hour: datetime  # aware, UTC, on the hour
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    joins: int = 0
    leaves: int = 0


@dataclass(frozen=True, slots=True)
class MemberDay:
    """One member's activity on one UTC day; bit h of `active_hours` is UTC hour h."""

    user_id: int
    day: date  # UTC
    active_hours: int = 0
    messages: int = 0
    replies: int = 0
    reactions: int = 0
    replies_received: int = 0
    reactions_received: int = 0


@dataclass(frozen=True, slots=True)
class Response:
    """A message that got a reply or reaction from someone else."""

    message_id: int
    posted_at: datetime  # aware, UTC
    first_reply_at: datetime | None
    replies: int
    reactions: int
