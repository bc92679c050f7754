"""Measure the FAQ matcher's threshold: precision and recall on paraphrased questions.

    python -m benchmarks.faq_threshold [--data tests/data/faq]

`entries.tsv` is an FAQ (id, question, answer; English and Chinese); `queries.tsv` holds
questions members might type (split, the id of the entry they ask, or `-` for none, text).
The threshold is chosen on the `dev` queries — the highest F1 whose precision is at least
`MIN_PRECISION`, because a wrong automatic answer costs more than a human's later one — and
reported on the `heldout` queries, with the threshold the matcher ships with.

A query counts as found when its best entry is the right one and scores at or above the
threshold; a wrong entry above it is a false positive (and, if there was a right one, a miss).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.detectors.faq import MATCH_THRESHOLD, FaqEntry, FaqMatcher
from bot.questions_eval import language

DATA = Path(__file__).parents[1] / "tests" / "data" / "faq"
MIN_PRECISION = 0.9
NO_ENTRY = "-"


@dataclass(frozen=True, slots=True)
class Scored:
    """One query with what it should match and what the matcher's best entry was."""

    split: str
    expected: str
    text: str
    best: str | None
    score: float


def rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]


def score_queries(data: Path) -> list[Scored]:
    entries = rows(data / "entries.tsv")
    ids = [entry_id for entry_id, _, _ in entries]
    matcher = FaqMatcher([FaqEntry(question, answer) for _, question, answer in entries])
    scored = []
    for split, expected, text in rows(data / "queries.tsv"):
        best = matcher.best(text)
        scored.append(
            Scored(
                split, expected, text, ids[best.index] if best else None, best.score if best else 0
            )
        )
    return scored


def precision_recall(scored: Sequence[Scored], threshold: float) -> tuple[float, float]:
    found = wrong = missed = 0
    for query in scored:
        answered = query.best is not None and query.score >= threshold
        if answered and query.best == query.expected:
            found += 1
            continue
        wrong += answered
        missed += query.expected != NO_ENTRY
    precision = found / (found + wrong) if found + wrong else 0.0
    recall = found / (found + missed) if found + missed else 0.0
    return precision, recall


def choose_threshold(scored: Sequence[Scored]) -> float:
    """The threshold with the best F1 among those at MIN_PRECISION or above, on `scored`."""
    best, best_f1 = 1.0, -1.0
    for step in range(5, 95):
        threshold = step / 100
        precision, recall = precision_recall(scored, threshold)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if precision >= MIN_PRECISION and f1 > best_f1:
            best, best_f1 = threshold, f1
    return best


def line(name: str, scored: Sequence[Scored], threshold: float) -> str:
    precision, recall = precision_recall(scored, threshold)
    return (
        f"{name}: threshold {threshold:.2f} precision {precision:.3f} recall {recall:.3f} "
        f"({len(scored)} queries)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faq_threshold", description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA, help="entries.tsv and queries.tsv")
    args = parser.parse_args(argv)
    scored = score_queries(args.data)
    dev = [query for query in scored if query.split == "dev"]
    heldout = [query for query in scored if query.split == "heldout"]
    chosen = choose_threshold(dev)
    print(f"chosen on dev (best F1 at precision >= {MIN_PRECISION}): {chosen:.2f}")
    print(f"shipped MATCH_THRESHOLD: {MATCH_THRESHOLD:.2f}")
    print(line("dev", dev, MATCH_THRESHOLD))
    print(line("heldout", heldout, MATCH_THRESHOLD))
    for name in ("en", "zh"):
        part = [query for query in heldout if language(query.text) == name]
        print(line(f"heldout {name}", part, MATCH_THRESHOLD))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
