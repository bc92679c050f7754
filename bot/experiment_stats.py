"""The numbers behind `/experiment`: a rank test (scipy) and a bootstrap interval (numpy).

Outside `bot/domain` and `bot/services`, which may not import numeric libraries; the content
service receives `compare` as a plain function, as the ad-share service receives its judge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.domain.experiments import Comparison

RESAMPLES = 4000


def compare(
    a: Sequence[float], b: Sequence[float], labels: tuple[str, str], seed: int = 0
) -> Comparison | None:
    """Compare arm b against arm a: Mann–Whitney U (two-sided, ties allowed) and a percentile
    bootstrap 95% interval of the difference of means; None with an empty arm."""
    if not a or not b:
        return None
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.ptp(np.concatenate([x, y])) == 0:
        p_value = 1.0  # every post alike: the test has nothing to rank
    else:
        # Imported here: scipy.stats costs a second at import, and only /experiment needs it.
        from scipy.stats import mannwhitneyu  # type: ignore[import-untyped]

        p_value = float(mannwhitneyu(y, x, alternative="two-sided").pvalue)
    rng = np.random.default_rng(seed)
    boot_x = rng.choice(x, size=(RESAMPLES, x.size), replace=True).mean(axis=1)
    boot_y = rng.choice(y, size=(RESAMPLES, y.size), replace=True).mean(axis=1)
    low, high = np.percentile(boot_y - boot_x, [2.5, 97.5])
    pooled = np.concatenate([x - x.mean(), y - y.mean()])
    spread = float(np.sqrt((pooled**2).sum() / max(1, pooled.size - 2)))
    return Comparison(
        labels=labels,
        counts=(int(x.size), int(y.size)),
        means=(float(x.mean()), float(y.mean())),
        difference=float(y.mean() - x.mean()),
        low=float(low),
        high=float(high),
        p_value=p_value,
        spread=spread,
    )
