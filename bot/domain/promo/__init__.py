"""Promo detection rules: normalise a message, read its signals, give a verdict with reasons."""

from bot.domain.promo.fingerprints import RepeatedTexts
from bot.domain.promo.normalise import normalise
from bot.domain.promo.signals import PromoInput, Reason, Signal, content_signals, rule_signals
from bot.domain.promo.verdict import PromoVerdict, combine, judge_by_rules

__all__ = [
    "PromoInput",
    "PromoVerdict",
    "Reason",
    "RepeatedTexts",
    "Signal",
    "combine",
    "content_signals",
    "judge_by_rules",
    "normalise",
    "rule_signals",
]
