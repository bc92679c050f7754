"""Experiment statistics: equal arms → no recommendation; a real difference → the right one."""

from __future__ import annotations

import numpy as np
import pytest

from bot.domain.experiments import MIN_PER_ARM, arm_for, posts_needed, verdict
from bot.experiment_stats import compare


def test_arms_alternate_in_pairs_with_both_in_each_pair() -> None:
    for item in range(20):
        arms = [arm_for(item, i) for i in range(40)]
        for pair in range(20):
            assert sorted(arms[2 * pair : 2 * pair + 2]) == [0, 1]
    # not plain alternation: some item starts a pair with arm 1
    assert {arm_for(item, 0) for item in range(20)} == {0, 1}


@pytest.mark.parametrize("seed", range(10))
def test_equal_arms_get_no_recommendation(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.poisson(6, 12).tolist()
    b = rng.poisson(6, 12).tolist()
    v = verdict(compare(a, b, ("08:00", "20:00")))
    assert v.recommended is None
    assert v.more_posts is not None and v.more_posts > 0


@pytest.mark.parametrize("seed", range(10))
def test_a_real_difference_recommends_the_better_arm(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    morning = rng.poisson(3, 12).tolist()
    evening = rng.poisson(9, 12).tolist()
    assert verdict(compare(morning, evening, ("08:00", "20:00"))).recommended == "20:00"
    assert verdict(compare(evening, morning, ("20:00", "08:00"))).recommended == "20:00"


def test_too_few_posts_says_how_many_more() -> None:
    v = verdict(compare([10, 12], [1, 2], ("a", "b")))
    assert v.recommended is None and v.more_posts == MIN_PER_ARM - 2
    assert verdict(None).more_posts == MIN_PER_ARM


def test_a_small_difference_asks_for_more_posts_and_identical_arms_look_alike() -> None:
    v = verdict(compare([5, 6, 7, 5, 6], [6, 7, 8, 6, 7], ("a", "b")))
    assert v.recommended is None and v.more_posts is not None and 0 < v.more_posts < 200
    same = verdict(compare([5] * 6, [5] * 6, ("a", "b")))
    assert same.recommended is None and same.alike
    assert same.comparison is not None and same.comparison.p_value == 1.0


def test_posts_needed_grows_as_the_difference_shrinks() -> None:
    assert posts_needed(1.0, 2.0) < posts_needed(0.5, 2.0)
    assert posts_needed(0.0, 2.0) == float("inf")
    assert round(posts_needed(1.0, 1.0)) == 16  # the textbook 2·(1.96+0.84)²
