"""The ad-share arithmetic: share, cap, budget, next fit, standing and the member-promo decision.

Counts come in as time buckets (a rollup: messages and promos per bucket, promos included in
messages); a bucket is in a window while its start is. Everything here is pure: the caller
passes `now` from the Clock and the counts from storage.

Quiet groups. The denominator never counts fewer than `quiet_floor` messages (default 7 per
window: the fewest in which one promo stays within the default 15% cap). A group with less
traffic than that gets one promo per window — not a share of its few messages, which would
let one ad be half the group, and not nothing, which a share of almost zero would mean forever.

Standing. A member has standing once they joined at least `standing_after` ago (default 24 h;
a member who was there before the bot counts as long joined) and sent at least
`standing_messages` messages before this one (default 3). Promos from members without standing
are removed even under budget: that is where spam comes from.

Not here: reserving budget for operator promos atomically (two processes racing for the last
slot) is a database concern for the service that will own it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class AdCapPolicy:
    """A group's ad-cap settings."""

    cap: float = 0.15
    window: timedelta = timedelta(days=7)
    warn_at: float = 0.8  # of the cap
    quiet_floor: int = 7  # messages the denominator counts at least, per window
    standing_after: timedelta = timedelta(hours=24)
    standing_messages: int = 3

    def __post_init__(self) -> None:
        if not 0 < self.cap < 1:
            raise ValueError("cap must be between 0 and 1")
        if self.window <= timedelta(0):
            raise ValueError("window must be positive")


@dataclass(frozen=True, slots=True)
class Bucket:
    """Messages and promos (a subset of the messages) counted from `start`."""

    start: datetime
    messages: int
    promos: int


class ShareLevel(StrEnum):
    """Where a share stands against the cap."""

    OK = "ok"
    WARNING = "warning"  # at or past `warn_at` of the cap
    AT_CAP = "at_cap"  # at or past the cap


@dataclass(frozen=True, slots=True)
class AdShare:
    """Promos ÷ messages over one window."""

    window: timedelta
    messages: int
    promos: int

    @property
    def share(self) -> float:
        return self.promos / self.messages if self.messages else 0.0


@dataclass(frozen=True, slots=True)
class Budget:
    """How many promos fit now without passing the cap, and when the next one fits.

    `next_fit` is `now` while the budget is positive; otherwise the time old promos leave
    the window enough for one more, if no one else writes meanwhile (more chat brings it closer).
    """

    share: AdShare
    level: ShareLevel
    promos_that_fit: int
    next_fit: datetime


def ad_share(buckets: Iterable[Bucket], now: datetime, window: timedelta) -> AdShare:
    """The share over the window that ends now."""
    since = now - window
    messages = promos = 0
    for bucket in buckets:
        if since < bucket.start <= now:
            messages += bucket.messages
            promos += bucket.promos
    return AdShare(window=window, messages=messages, promos=promos)


def promos_that_fit(messages: int, promos: int, policy: AdCapPolicy) -> int:
    """The most k with (promos + k) ≤ cap × max(messages + k, quiet floor).

    Each promo is a message too, so it raises the denominator as it raises the numerator.
    """
    cap = _exact(policy.cap)
    by_traffic = (cap * messages - promos) / (1 - cap)
    by_floor = cap * policy.quiet_floor - promos
    return max(0, math.floor(max(by_traffic, by_floor)))


def level_of(share: AdShare, policy: AdCapPolicy) -> ShareLevel:
    """OK, warning (at `warn_at` of the cap) or at the cap."""
    cap = _exact(policy.cap)
    value = Fraction(share.promos, share.messages) if share.messages else Fraction(0)
    if value >= cap:
        return ShareLevel.AT_CAP
    if value >= cap * _exact(policy.warn_at):
        return ShareLevel.WARNING
    return ShareLevel.OK


def budget(buckets: Sequence[Bucket], now: datetime, policy: AdCapPolicy) -> Budget:
    """The budget now, and when the next promo fits if none does now."""
    share = ad_share(buckets, now, policy.window)
    fit = promos_that_fit(share.messages, share.promos, policy)
    next_fit = now
    if fit == 0:
        next_fit = _next_fit(buckets, now, policy)
    return Budget(
        share=share, level=level_of(share, policy), promos_that_fit=fit, next_fit=next_fit
    )


def _next_fit(buckets: Sequence[Bucket], now: datetime, policy: AdCapPolicy) -> datetime:
    """Walk forward through the times buckets leave the window until one promo fits."""
    leaving = sorted(
        (b for b in buckets if now - policy.window < b.start <= now), key=lambda b: b.start
    )
    messages = sum(b.messages for b in leaving)
    promos = sum(b.promos for b in leaving)
    for bucket in leaving:
        messages -= bucket.messages
        promos -= bucket.promos
        if promos_that_fit(messages, promos, policy) > 0:
            return bucket.start + policy.window
    # Unreachable with a floor that fits one promo; with a smaller floor nothing ever fits.
    return datetime.max.replace(tzinfo=now.tzinfo)


def has_standing(
    joined_at: datetime | None, messages_before: int, now: datetime, policy: AdCapPolicy
) -> bool:
    """Whether a member's promos may use the budget (see the module's note on standing)."""
    joined_long_ago = joined_at is None or now - joined_at >= policy.standing_after
    return joined_long_ago and messages_before >= policy.standing_messages


class PromoAction(StrEnum):
    """What happens to a member's promo."""

    ALLOW = "allow"
    REMOVE = "remove"


class PromoRuling(StrEnum):
    """Why."""

    ADMIN = "admin"  # admins are never removed; their promos still count
    EXEMPT = "exempt"  # exempt partners likewise
    NO_STANDING = "no_standing"
    UNDER_BUDGET = "under_budget"
    OVER_BUDGET = "over_budget"


@dataclass(frozen=True, slots=True)
class PromoDecision:
    """Allow or remove a member's promo, and why."""

    action: PromoAction
    ruling: PromoRuling


def decide_member_promo(
    promos_fit: int, *, standing: bool, is_admin: bool, is_exempt: bool
) -> PromoDecision:
    """Allow or remove a promo a member just posted, given the budget before it."""
    if is_admin:
        return PromoDecision(PromoAction.ALLOW, PromoRuling.ADMIN)
    if is_exempt:
        return PromoDecision(PromoAction.ALLOW, PromoRuling.EXEMPT)
    if not standing:
        return PromoDecision(PromoAction.REMOVE, PromoRuling.NO_STANDING)
    if promos_fit > 0:
        return PromoDecision(PromoAction.ALLOW, PromoRuling.UNDER_BUDGET)
    return PromoDecision(PromoAction.REMOVE, PromoRuling.OVER_BUDGET)


def _exact(value: float) -> Fraction:
    """0.15 as 3/20, so that 15 promos in 100 messages are exactly at the cap."""
    return Fraction(str(value))
