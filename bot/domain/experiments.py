"""Experiments on content, the pure parts: which arm an occurrence takes, and what to say.

`/experiment slots N 08:00 20:00` alternates a recurring item's posts between two times;
`/experiment variants N` between two texts. Arms alternate in pairs whose order is drawn per
pair (seeded by the item), so every two posts try both arms and neither arm is tied to a
weekday (plain alternation on a mon,thu rule would post every Monday at 08:00).

The numbers (a rank test and a bootstrap interval) come from `bot/experiment_stats.py`, which
uses scipy and numpy and so lives outside the domain; `verdict` decides from them, honestly:
a recommendation only when the test and the interval both support one, and otherwise how many
more posts per arm would be needed to see the difference observed so far.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from statistics import NormalDist

ALPHA = 0.05
POWER = 0.8
MIN_PER_ARM = 4  # below this, no test is worth reading
MOST_MORE = 200  # past this many more posts per arm, say the arms look alike


class ExperimentKind(StrEnum):
    SLOTS = "slots"
    VARIANTS = "variants"


def arm_for(item_id: int, index: int, arms: int = 2) -> int:
    """The arm of an item's `index`-th post in the experiment: each block of `arms` posts
    tries every arm once, in an order drawn for the block."""
    order = list(range(arms))
    random.Random(f"{item_id}:{index // arms}").shuffle(order)
    return order[index % arms]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two arms' outcomes compared (b against a)."""

    labels: tuple[str, str]
    counts: tuple[int, int]
    means: tuple[float, float]
    difference: float  # mean(b) − mean(a)
    low: float  # the 95% interval of the difference
    high: float
    p_value: float  # two-sided rank test
    spread: float  # pooled standard deviation


@dataclass(frozen=True, slots=True)
class Verdict:
    """What `/experiment` says: the arm to keep, or how many more posts per arm are needed."""

    comparison: Comparison | None
    recommended: str | None = None
    more_posts: int | None = None  # per arm; None with a recommendation
    alike: bool = False  # so alike that MOST_MORE more posts would likely not tell them apart


def posts_needed(
    difference: float, spread: float, alpha: float = ALPHA, power: float = POWER
) -> float:
    """Posts per arm for a two-sided test to see `difference` with this `power` (normal
    approximation); infinite when there is no difference to see."""
    if difference == 0 or spread <= 0:
        return math.inf if difference == 0 else 2.0
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    return 2 * (z * spread / difference) ** 2


def verdict(comparison: Comparison | None, counts: tuple[int, int] = (0, 0)) -> Verdict:
    """Recommend an arm only when the rank test and the interval agree there is a difference."""
    if comparison is None or min(comparison.counts) < MIN_PER_ARM:
        have = comparison.counts if comparison is not None else counts
        return Verdict(comparison, more_posts=MIN_PER_ARM - min(have))
    c = comparison
    if c.p_value < ALPHA and (c.low > 0 or c.high < 0):
        return Verdict(c, recommended=c.labels[1] if c.difference > 0 else c.labels[0])
    needed = posts_needed(c.difference, c.spread)
    more = needed - min(c.counts)
    if not math.isfinite(more) or more > MOST_MORE:
        return Verdict(c, more_posts=MOST_MORE, alike=True)
    return Verdict(c, more_posts=max(1, math.ceil(more)))
