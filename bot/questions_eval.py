"""`groupops eval-questions FILE`: score the question detector on a labelled file.

Each line is `label<TAB>text` (1: a question a human should answer, 0: not); blank lines and
lines starting with `#` are skipped. The first line printed is the detector overall, the second
the "contains a question mark" baseline, then one line per language (by script: Han is zh,
Cyrillic is ru, anything else en). With `--errors`, the misjudged lines follow with their reasons.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.domain.questions import detect_question, normalise


@dataclass(frozen=True, slots=True)
class Labelled:
    """One line of the file."""

    line: int
    label: bool
    text: str


@dataclass(frozen=True, slots=True)
class Scores:
    """How a judge did against the labels."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0

    @property
    def precision(self) -> float:
        return _fraction(self.true_positives, self.true_positives + self.false_positives)

    @property
    def recall(self) -> float:
        return _fraction(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def f1(self) -> float:
        both = self.precision + self.recall
        return 2 * self.precision * self.recall / both if both else 0.0

    @property
    def false_positive_rate(self) -> float:
        return _fraction(self.false_positives, self.false_positives + self.true_negatives)

    def line(self, name: str) -> str:
        return (
            f"{name}: precision {self.precision:.3f} recall {self.recall:.3f} "
            f"F1 {self.f1:.3f} false-positive rate {self.false_positive_rate:.3f}"
        )


class LabelledFileError(ValueError):
    """A line of the labelled file is not `label<TAB>text`."""


def read_labelled(lines: Iterable[str]) -> list[Labelled]:
    """The labelled lines; raise LabelledFileError naming the first malformed one."""
    labelled = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        label, tab, text = line.partition("\t")
        if not tab or label.strip() not in ("0", "1"):
            raise LabelledFileError(f"line {number}: expected `1<TAB>text` or `0<TAB>text`")
        labelled.append(Labelled(number, label.strip() == "1", text))
    return labelled


def score(labelled: Iterable[Labelled], judge: Callable[[str], bool]) -> Scores:
    """Count how `judge` agrees with the labels."""
    counts = [0, 0, 0, 0]
    for item in labelled:
        guess = judge(item.text)
        counts[(not guess) * 2 + (guess != item.label)] += 1
    true_positives, false_positives, true_negatives, false_negatives = counts
    return Scores(true_positives, false_positives, false_negatives, true_negatives)


def language(text: str) -> str:
    """The language a line is reported under, by its script."""
    if any("\u4e00" <= char <= "\u9fff" for char in text):
        return "zh"
    if any("\u0400" <= char <= "\u04ff" for char in text):
        return "ru"
    return "en"


def has_question_mark(text: str) -> bool:
    """The baseline: a message is a question when it contains ? or ？."""
    return "?" in normalise(text)


def is_question(text: str) -> bool:
    return detect_question(text).is_question


def report(labelled: Sequence[Labelled]) -> list[str]:
    """The lines `eval-questions` prints: overall, baseline, then each language."""
    lines = [score(labelled, is_question).line("overall")]
    lines.append(score(labelled, has_question_mark).line("baseline"))
    languages = sorted({language(item.text) for item in labelled})
    for name in languages:
        part = [item for item in labelled if language(item.text) == name]
        baseline = score(part, has_question_mark)
        lines.append(
            f"{score(part, is_question).line(name)} ({len(part)} lines; "
            f"baseline F1 {baseline.f1:.3f})"
        )
    return lines


def errors(labelled: Sequence[Labelled]) -> list[str]:
    """The misjudged lines, each with the detector's score and reasons."""
    lines = []
    for item in labelled:
        verdict = detect_question(item.text)
        if verdict.is_question != item.label:
            why = ", ".join(f"{r.cue}({r.words})" for r in verdict.reasons) or "no cue"
            lines.append(
                f"line {item.line}: label {int(item.label)} score {verdict.score}: "
                f"{item.text}  [{why}]"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="groupops eval-questions", description=__doc__)
    parser.add_argument("file", type=Path, help="labelled lines: label<TAB>text")
    parser.add_argument("--errors", action="store_true", help="list the misjudged lines")
    args = parser.parse_args(argv)
    try:
        with args.file.open(encoding="utf-8") as handle:
            labelled = read_labelled(handle)
    except (OSError, UnicodeDecodeError, LabelledFileError) as exc:
        print(f"groupops eval-questions: {args.file}: {exc}", file=sys.stderr)
        return 2
    if not labelled:
        print(f"groupops eval-questions: {args.file}: no labelled lines", file=sys.stderr)
        return 2
    try:
        print("\n".join(report(labelled) + (errors(labelled) if args.errors else [])), flush=True)
    except BrokenPipeError:  # `| head -1` read what it wanted; Python would complain at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
