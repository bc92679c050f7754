"""The promo verdict: the signals that fired, combined into one score and a yes or no."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.promo.fingerprints import RepeatedTexts
from bot.domain.promo.normalise import normalise
from bot.domain.promo.signals import PromoInput, Reason, rule_signals

THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class PromoVerdict:
    """Whether a message is a promo, how sure (0..1), and why: each signal with its weight."""

    is_promo: bool
    score: float
    reasons: tuple[Reason, ...]


def combine(reasons: Iterable[Reason], threshold: float = THRESHOLD) -> PromoVerdict:
    """One score from independent signals: the chance that at least one of them is right.

    (1 − Π(1 − wᵢ)), a noisy-OR: each signal adds, none alone need be decisive, and the score
    never passes 1.
    """
    kept = tuple(sorted(reasons, key=lambda reason: reason.weight, reverse=True))
    doubt = 1.0
    for reason in kept:
        doubt *= 1.0 - reason.weight
    score = round(1.0 - doubt, 4)
    return PromoVerdict(is_promo=score >= threshold, score=score, reasons=kept)


def judge_by_rules(message: PromoInput, repeats: RepeatedTexts | None = None) -> PromoVerdict:
    """The verdict from the rules alone, for when no model is at hand."""
    return combine(rule_signals(message, normalise(message.text), repeats))
