"""Promo detector cost per message: rules alone, the model alone, the whole verdict, batched.

The messages are the shipped corpus (train and held-out, Chinese, English and Russian, promos
and ordinary chat), cycled; each figure is a per-message cost in microseconds (p50, p99, mean
of single calls). The scikit-learn lines are the same model called through its pipeline, one
message and 256 at a time, for comparison with the weight table the detector uses.

Run: `python -m benchmarks.promo [--messages 5000]`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from importlib import resources

from bot.detectors.promo import PromoDetector
from bot.detectors.promo_model import model_text, read_labelled, train
from bot.domain.promo import PromoInput, RepeatedTexts, judge_by_rules, normalise


def corpus_texts() -> list[str]:
    data = resources.files("bot.detectors").joinpath("data")
    texts = []
    for name in ("promo_train.tsv", "promo_heldout.tsv"):
        lines = data.joinpath(name).read_text(encoding="utf-8").splitlines()
        texts += [example.text for example in read_labelled(lines)]
    return texts


def per_call_us(call: Callable[[str], object], texts: Sequence[str]) -> list[float]:
    timings = []
    for text in texts:
        start = time.perf_counter_ns()
        call(text)
        timings.append((time.perf_counter_ns() - start) / 1000)
    return timings


def line(name: str, timings: list[float]) -> str:
    cuts = statistics.quantiles(timings, n=100)
    return (
        f"{name:<38} p50 {cuts[49]:7.1f} µs  p99 {cuts[98]:7.1f} µs  "
        f"mean {statistics.fmean(timings):7.1f} µs"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.promo", description=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    args = parser.parse_args(argv)
    base = corpus_texts()
    texts = [base[i % len(base)] for i in range(args.messages)]
    mean_chars = statistics.fmean(len(text) for text in texts)
    print(f"{len(texts)} messages from the shipped corpus, {mean_chars:.0f} characters on average")

    start = time.perf_counter()
    model = train()
    print(f"model built from the corpus in {time.perf_counter() - start:.2f} s (once per process)")
    detector = PromoDetector(model, RepeatedTexts())

    print(line("normalise", per_call_us(normalise, texts)))
    print(
        line(
            "rules (normalise + signals)",
            per_call_us(lambda t: judge_by_rules(PromoInput(t)), texts),
        )
    )
    normalised = [normalise(text) for text in texts]
    print(line("model, weight table", per_call_us(model.probability, normalised)))
    sklearn_sample = normalised[:500]
    print(
        line(
            "model, scikit-learn single call",
            per_call_us(lambda t: model.pipeline.predict_proba([model_text(t)]), sklearn_sample),
        )
    )
    batches = [normalised[i : i + 256] for i in range(0, len(normalised), 256)]
    start_ns = time.perf_counter_ns()
    for batch in batches:
        model.pipeline.predict_proba([model_text(text) for text in batch])
    mean = (time.perf_counter_ns() - start_ns) / 1000 / len(normalised)
    print(f"{'model, scikit-learn batches of 256':<38} mean {mean:7.1f} µs per message")
    verdicts = per_call_us(lambda t: detector.judge(PromoInput(t, chat_id=1, member_id=2)), texts)
    print(line("whole verdict (rules, model, repeats)", verdicts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
