"""The promo detector: the rules' signals and the trained model's probability, one verdict.

The model's probability joins the rules as one more reason (`Signal.MODEL`), so a verdict reads
"invite link 0.55, model 0.62" and the noisy-OR in `bot.domain.promo.combine` weighs them alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.detectors.promo_model import PromoModel
from bot.domain.promo import (
    PromoInput,
    PromoVerdict,
    Reason,
    RepeatedTexts,
    Signal,
    combine,
    normalise,
    rule_signals,
)

# A text shorter than this gives the model a dozen n-grams to go on; its probability is shrunk
# towards "not a promo" (most messages are not) in proportion. Han characters count double.
MODEL_FULL_EVIDENCE = 24
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Below this the model has nothing to say, and a reason that weighs nothing only clutters.
MODEL_FLOOR = 0.1
# Higher than the rules' own threshold (0.5): the model's reason adds to every message, so one
# weak rule (a link to docs) and a model in two minds must not make a promo. Chosen on the
# held-out split and checked on a public corpus (README, "Promo detection").
THRESHOLD = 0.6
# With no rule signal at all, the model alone decides only when it is this sure: chat unlike
# its corpus (code names, odd capitals, numbers) can lift a character n-gram model past the
# threshold without being an ad, and a false removal costs a member's trust.
MODEL_ALONE = 0.7


class PromoDetector:
    """Judges messages; owns nothing but what it is given (model, repeated-text memory)."""

    def __init__(
        self,
        model: PromoModel | None,
        repeats: RepeatedTexts | None = None,
        threshold: float = THRESHOLD,
    ) -> None:
        self._model = model
        self._repeats = repeats
        self._threshold = threshold

    def judge(self, message: PromoInput) -> PromoVerdict:
        """One message's verdict."""
        normalised = normalise(message.text)
        probability = self._model.probability(normalised) if self._model else None
        return self._verdict(message, normalised, probability)

    def judge_many(self, messages: Sequence[PromoInput]) -> list[PromoVerdict]:
        """Verdicts for a batch, in order.

        One by one: the model's weight table scores a message in tens of microseconds, and a
        batched scikit-learn call costs more per message than that (benchmarks/promo.py).
        """
        return [self.judge(message) for message in messages]

    def _verdict(
        self, message: PromoInput, normalised: str, probability: float | None
    ) -> PromoVerdict:
        reasons = rule_signals(message, normalised, self._repeats)
        alone = not reasons
        if probability is not None:
            probability *= min(1.0, _evidence(normalised) / MODEL_FULL_EVIDENCE)
            if probability >= MODEL_FLOOR:
                reasons.append(Reason(Signal.MODEL, round(probability, 4)))
        threshold = max(self._threshold, MODEL_ALONE) if alone else self._threshold
        return combine(reasons, threshold)


def _evidence(normalised: str) -> int:
    """How much text the model reads: characters outside spaces, Han counted twice."""
    chars = len(normalised) - normalised.count(" ")
    if chars >= MODEL_FULL_EVIDENCE:
        return chars
    return chars + len(_HAN.findall(normalised))
