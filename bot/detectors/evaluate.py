"""`groupops eval-promo FILE`: precision, recall, F1 and false-positive rate on a labelled file.

FILE has one `label<TAB>text` per line (1 promo, 0 not). The first line printed is the overall
score; one line per language follows, by script as `eval-questions` reads it (Han → zh,
Cyrillic → ru, anything else → en), with the same scores and line format.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.detectors.promo import PromoDetector
from bot.detectors.promo_model import LabelledText, read_labelled, shipped_model
from bot.domain.promo import PromoInput
from bot.questions_eval import Scores, language

LANGUAGES = ("zh", "ru", "en")


def evaluate(examples: Sequence[LabelledText], detector: PromoDetector) -> dict[str, Scores]:
    """Scores overall (key "overall") and per language present, from one batch of verdicts."""
    verdicts = detector.judge_many([PromoInput(example.text) for example in examples])
    counts: dict[str, list[int]] = {}
    for example, verdict in zip(examples, verdicts, strict=True):
        cell = _cell(said=verdict.is_promo, truth=example.is_promo)
        for key in ("overall", language(example.text)):
            counts.setdefault(key, [0, 0, 0, 0])[cell] += 1
    return {key: Scores(*tally) for key, tally in counts.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="groupops eval-promo", description=__doc__)
    parser.add_argument("file", help="label<TAB>text per line, label 1 promo, 0 not")
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as lines:
            examples = read_labelled(lines)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(f"groupops eval-promo: {args.file}: {exc}", file=sys.stderr)
        return 2
    # Each line is judged on its own: no repeated-text memory, so a file's duplicates don't count.
    scores = evaluate(examples, PromoDetector(shipped_model()))
    print(scores["overall"].line("overall"))
    for name in LANGUAGES:
        if name in scores:
            print(scores[name].line(name))
    return 0


def _cell(*, said: bool, truth: bool) -> int:
    """The position in Scores' fields: true and false positives, false and true negatives."""
    if said:
        return 0 if truth else 1
    return 2 if truth else 3
