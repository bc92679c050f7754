"""What the question detector costs a message: typical chat, and text built to be slow.

    python -m benchmarks.questions [--rounds 5]

Typical: every line of the labelled sets (`tests/data/questions/`), each judged `--rounds`
times; the per-message p50, p99 and mean. Adversarial: messages of 4,096 characters (Telegram's
limit) made of the cue words themselves, repeated and shuffled, which is where a regex with
ambiguous repetition would backtrack without end; the slowest of them (each timed three times,
the least kept, so a pause of the shared machine is not counted). The detector runs on the
event loop for every text message, so the slowest message is the stall one member can cause.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.domain import questions
from bot.domain.questions import detect_question

DATA = Path(__file__).parents[1] / "tests" / "data" / "questions"
TELEGRAM_LIMIT = 4096


def timed(judge: Callable[[str], object], text: str, repeats: int = 1) -> float:
    """Seconds one call takes (the least of `repeats`: the machine's own pauses are not its)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        judge(text)
        best = min(best, time.perf_counter() - started)
    return best


def typical_texts() -> list[str]:
    return [
        line.split("\t", 1)[1]
        for path in sorted(DATA.glob("*.tsv"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if "\t" in line and not line.startswith("#")
    ]


def adversarial_texts(seed: int = 1) -> list[str]:
    """Long messages of the detector's own words, repeated with and without separators."""
    patterns = (*questions._NOT_A_QUESTION, *questions._CUES, *questions._MOOD)
    words = sorted(
        {
            word
            for pattern in (*patterns, questions._REACTION, questions._HEDGE)
            for word in re.findall(r"[a-zа-яё\u4e00-\u9fff']{1,8}", pattern.regex.pattern)
        }
    )
    shuffled = random.Random(seed)
    texts = []
    for word in words:
        for separator in ("", " ", ", ", "? "):
            texts.append((separator.join([word] * TELEGRAM_LIMIT))[: TELEGRAM_LIMIT - 2] + " x")
    for _ in range(200):
        soup = " ".join(shuffled.choice(words) for _ in range(TELEGRAM_LIMIT // 4))
        texts.append(soup[: TELEGRAM_LIMIT - 3] + " zz")
    return texts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.questions", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="times each typical line is judged")
    args = parser.parse_args(argv)
    typical = typical_texts()
    costs = sorted(timed(detect_question, text) for _ in range(args.rounds) for text in typical)
    p99 = costs[int(len(costs) * 0.99)]
    p50, mean = statistics.median(costs), statistics.fmean(costs)
    print(
        f"typical: {len(typical)} messages x {args.rounds}: p50 {p50 * 1e6:.0f} µs, "
        f"p99 {p99 * 1e6:.0f} µs, mean {mean * 1e6:.0f} µs"
    )
    adversarial = adversarial_texts()
    slowest, text = max((timed(detect_question, text, repeats=3), text) for text in adversarial)
    print(
        f"adversarial: {len(adversarial)} messages of {TELEGRAM_LIMIT} characters: slowest "
        f"{slowest * 1e3:.2f} ms ({text[:40]!r}…)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
