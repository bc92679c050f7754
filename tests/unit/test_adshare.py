"""The ad-share arithmetic: windows, cap and warning, budget, quiet groups, next fit, standing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.adshare import (
    AdCapPolicy,
    Bucket,
    PromoAction,
    PromoDecision,
    PromoRuling,
    ShareLevel,
    ad_share,
    budget,
    decide_member_promo,
    has_standing,
    promos_that_fit,
)
from tests.fakes import FakeClock

HOUR = 3600
DAY = 24 * HOUR
POLICY = AdCapPolicy()


def test_share_over_seven_days_and_over_24_hours() -> None:
    clock = FakeClock()
    buckets = [
        Bucket(clock.now() - timedelta(days=3), messages=80, promos=4),
        Bucket(clock.now() - timedelta(hours=2), messages=20, promos=6),
    ]
    week = ad_share(buckets, clock.now(), timedelta(days=7))
    day = ad_share(buckets, clock.now(), timedelta(hours=24))
    assert (week.messages, week.promos, week.share) == (100, 10, 0.10)
    assert (day.messages, day.promos, day.share) == (20, 6, 0.30)


def test_the_window_slides_with_the_clock() -> None:
    clock = FakeClock()
    buckets = [
        Bucket(clock.now() - timedelta(days=6), messages=10, promos=5),
        Bucket(clock.now(), messages=10, promos=0),
    ]
    assert ad_share(buckets, clock.now(), POLICY.window).promos == 5
    clock.advance(DAY - 1)
    assert ad_share(buckets, clock.now(), POLICY.window).promos == 5
    clock.advance(1)  # the old bucket's start is now exactly a window ago: out
    assert ad_share(buckets, clock.now(), POLICY.window).promos == 0
    assert ad_share(buckets, clock.now(), POLICY.window).messages == 10


def test_no_messages_is_a_share_of_nothing() -> None:
    assert ad_share([], FakeClock().now(), POLICY.window).share == 0.0


def test_a_group_at_14_percent_fits_one_more_promo_and_not_two() -> None:
    assert promos_that_fit(messages=100, promos=14, policy=POLICY) == 1  # 15/101 = 14.9%
    assert promos_that_fit(messages=101, promos=15, policy=POLICY) == 0  # 16/102 = 15.7%


@pytest.mark.parametrize(
    ("messages", "promos", "fit"),
    [(100, 15, 0), (100, 0, 17), (1000, 100, 58), (200, 29, 1), (200, 28, 2)],
)
def test_the_budget_is_the_most_promos_that_keep_the_share_within_the_cap(
    messages: int, promos: int, fit: int
) -> None:
    assert promos_that_fit(messages, promos, POLICY) == fit
    within = (promos + fit) / (messages + fit)
    past = (promos + fit + 1) / (messages + fit + 1)
    assert within <= POLICY.cap < past


def test_the_cap_is_exact_at_its_edge() -> None:
    # 6 promos in 40 messages is exactly 15%: within the cap. In floats, (0.15 × 39 − 5) / 0.85
    # comes out a hair under 1 and the last promo that fits would be refused.
    assert promos_that_fit(messages=39, promos=5, policy=POLICY) == 1
    assert promos_that_fit(messages=40, promos=6, policy=POLICY) == 0


@pytest.mark.parametrize(
    ("messages", "promos", "fit"),
    [
        (0, 0, 1),  # a silent group still gets one promo a window, not none forever
        (2, 0, 1),
        (2, 1, 0),  # and one only: not a share of its two messages
        (6, 1, 0),
        (7, 0, 1),
    ],
)
def test_quiet_groups_get_one_promo_a_window(messages: int, promos: int, fit: int) -> None:
    assert promos_that_fit(messages, promos, POLICY) == fit


def test_a_lower_quiet_floor_blocks_a_silent_group() -> None:
    assert promos_that_fit(0, 0, AdCapPolicy(quiet_floor=5)) == 0


@pytest.mark.parametrize(
    ("promos", "level"),
    [
        (11, ShareLevel.OK),
        (12, ShareLevel.WARNING),
        (14, ShareLevel.WARNING),
        (15, ShareLevel.AT_CAP),
    ],
)
def test_warning_at_80_percent_of_the_cap(promos: int, level: ShareLevel) -> None:
    clock = FakeClock()
    buckets = [Bucket(clock.now(), messages=100, promos=promos)]
    assert budget(buckets, clock.now(), POLICY).level is level


def test_under_budget_the_next_promo_fits_now() -> None:
    clock = FakeClock()
    result = budget([Bucket(clock.now(), messages=100, promos=10)], clock.now(), POLICY)
    assert result.promos_that_fit == 5  # 15/105 fits, 16/106 passes 15%
    assert result.next_fit == clock.now()


def test_over_budget_the_next_promo_fits_when_old_promos_leave_the_window() -> None:
    clock = FakeClock()
    start = clock.now()
    buckets = [
        Bucket(start - timedelta(days=5), messages=10, promos=10),
        Bucket(start - timedelta(days=2), messages=10, promos=0),
        Bucket(start, messages=80, promos=5),
    ]
    result = budget(buckets, clock.now(), POLICY)
    assert result.promos_that_fit == 0
    assert result.next_fit == start + timedelta(days=2)
    clock.advance(2 * DAY - 1)
    assert budget(buckets, clock.now(), POLICY).promos_that_fit == 0
    clock.advance(1)
    assert budget(buckets, clock.now(), POLICY).promos_that_fit >= 1


def test_next_fit_waits_for_the_last_bucket_when_only_the_floor_admits_one() -> None:
    clock = FakeClock()
    buckets = [Bucket(clock.now() - timedelta(hours=1), messages=1, promos=1)]
    result = budget(buckets, clock.now(), POLICY)
    assert result.next_fit == clock.now() + timedelta(days=7) - timedelta(hours=1)


def test_standing_needs_time_in_the_group_and_a_few_messages() -> None:
    clock = FakeClock()
    now = clock.now()
    long_ago = now - timedelta(days=30)
    assert not has_standing(now - timedelta(hours=1), 10, now, POLICY)  # just joined
    assert not has_standing(long_ago, 2, now, POLICY)  # among the first messages
    assert has_standing(long_ago, 3, now, POLICY)
    assert has_standing(None, 3, now, POLICY)  # there before the bot
    assert has_standing(now - timedelta(hours=24), 3, now, POLICY)


@pytest.mark.parametrize(
    ("fit", "standing", "admin", "exempt", "decision"),
    [
        (0, False, True, False, (PromoAction.ALLOW, PromoRuling.ADMIN)),
        (0, False, False, True, (PromoAction.ALLOW, PromoRuling.EXEMPT)),
        (5, False, False, False, (PromoAction.REMOVE, PromoRuling.NO_STANDING)),
        (1, True, False, False, (PromoAction.ALLOW, PromoRuling.UNDER_BUDGET)),
        (0, True, False, False, (PromoAction.REMOVE, PromoRuling.OVER_BUDGET)),
    ],
)
def test_member_promo_decision(
    fit: int, standing: bool, admin: bool, exempt: bool, decision: tuple[PromoAction, PromoRuling]
) -> None:
    assert decide_member_promo(
        fit, standing=standing, is_admin=admin, is_exempt=exempt
    ) == PromoDecision(*decision)


@pytest.mark.parametrize("kwargs", [{"cap": 0}, {"cap": 1}, {"cap": 1.5}, {"window": timedelta(0)}])
def test_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AdCapPolicy(**kwargs)  # type: ignore[arg-type]
