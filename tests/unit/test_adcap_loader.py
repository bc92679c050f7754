"""The promo model behind the watcher: rules alone until trained, then the shipped corpus with
the moderators' marks."""

from __future__ import annotations

from bot.domain.promo import PromoInput, Signal
from handlers.adcap import PromoModelLoader

MARKED = "the quarterly bake sale is in the lobby, everyone welcome"


def _model_weight(loader: PromoModelLoader) -> float:
    verdict = loader.judge(PromoInput(MARKED, chat_id=1, member_id=2))
    return next((r.weight for r in verdict.reasons if r.signal is Signal.MODEL), 0.0)


def test_rules_alone_until_the_model_is_ready_then_marks_count() -> None:
    shipped, marked = PromoModelLoader(), PromoModelLoader()
    assert _model_weight(shipped) == 0.0  # not started: no model's reason
    shipped.start()
    marked.start([(MARKED, True)] * 5 + [("see you at the meetup", False)])
    assert shipped.ready.wait(60) and marked.ready.wait(60)
    assert _model_weight(marked) > _model_weight(shipped) + 0.2
