"""The trainable promo model: character n-gram TF-IDF and a logistic regression.

Character n-grams read Chinese without word segmentation and survive the misspellings the
normaliser cannot undo. The model is built from the corpus shipped in `data/` (examples we wrote,
never a file from outside the package) plus any extra labelled examples the caller passes, such as
moderators' /promo and /notpromo marks. Training takes about 0.1 s (liblinear; lbfgs took 3 s);
`shipped_model()` keeps the result for the life of the process.

Scoring a message through scikit-learn costs about 400 µs of call overhead, and a batch still
more per message than a plain table, so the trained weights are kept as one (`probability`):
the same number in about 30 µs (benchmarks/promo.py).
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from itertools import repeat
from typing import TYPE_CHECKING

from bot.domain.promo import normalise

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

NGRAMS = (1, 4)  # `_ngrams` slices exactly these sizes
# Links are the rules' to judge (by kind: docs, shortener, invite); left in, the model learns
# that "https" sells, because most links in any corpus are in promos.
_LINKS = re.compile(r"(?:https?://|www\.)\S+|\S+\.(?:com|org|net|io|ru|cn|me)\b\S*")
# Every digit reads as 0: "$5,520" and "$350000" are the same kind of figure.
_DIGITS = re.compile(r"\d")
# Promos say what they are early; a long message's tail only costs time.
MODEL_CHARS = 500


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One example: a message's text and whether it is a promo."""

    text: str
    is_promo: bool


def read_labelled(lines: Iterable[str]) -> list[LabelledText]:
    """`label<TAB>text` lines (label 1 promo, 0 not); blank lines are skipped."""
    examples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        label, sep, text = line.rstrip("\n").partition("\t")
        if not sep or label.strip() not in {"0", "1"}:
            raise ValueError(f"line {number}: expected 'label<TAB>text' with label 0 or 1")
        examples.append(LabelledText(text=text, is_promo=label.strip() == "1"))
    return examples


def shipped_examples() -> list[LabelledText]:
    """The training corpus that ships in the package (the held-out split is not in it)."""
    corpus = resources.files("bot.detectors").joinpath("data", "promo_train.tsv")
    return read_labelled(corpus.read_text(encoding="utf-8").splitlines())


class PromoModel:
    """A trained model: the probability that a normalised text is a promo."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline  # as trained, for inspection; scoring uses the table below
        vectorizer: TfidfVectorizer = pipeline.named_steps["tfidf"]
        classifier: LogisticRegression = pipeline.named_steps["model"]
        coefficients = classifier.coef_[0]
        idf = vectorizer.idf_
        # With binary term frequencies a text's vector is its n-grams' idf, l2-normalised: the
        # logit is Σ idf·coef over its n-grams divided by √Σ idf². Both sums in one pass: each
        # n-gram maps to the complex number idf·coef + idf²·i, and one sum() adds them in C.
        self._table: dict[str, complex] = {
            gram: complex(idf[column] * coefficients[column], idf[column] ** 2)
            for gram, column in vectorizer.vocabulary_.items()
        }
        self._intercept = float(classifier.intercept_[0])

    def probability(self, normalised: str) -> float:
        """One text's probability, from the weight table (the same value as scikit-learn's)."""
        both = sum(map(self._table.get, _ngrams(model_text(normalised)), repeat(0j)))
        dot, norm = both.real, math.sqrt(both.imag)
        logit = self._intercept + (dot / norm if norm else 0.0)
        return 1.0 / (1.0 + math.exp(-logit))


def train(extra: Iterable[LabelledText] = (), *, shipped: bool = True) -> PromoModel:
    """A model from the shipped corpus (unless `shipped=False`) and any extra examples."""
    # Imported here, in the thread that trains (handlers/adcap.py): scikit-learn costs a second
    # at import, which the bot's start does not wait for.
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    examples = [*(shipped_examples() if shipped else ()), *extra]
    if len({example.is_promo for example in examples}) < 2:
        raise ValueError("training needs promos and ordinary messages")
    pipeline = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=NGRAMS, binary=True, lowercase=False
                ),
            ),
            ("model", LogisticRegression(C=10.0, solver="liblinear")),
        ]
    )
    pipeline.fit(
        [model_text(normalise(example.text)) for example in examples],
        [int(example.is_promo) for example in examples],
    )
    return PromoModel(pipeline)


@functools.cache
def shipped_model() -> PromoModel:
    """The model trained on the shipped corpus, built once per process at first use."""
    return train()


def model_text(normalised: str) -> str:
    """What the model reads: the normalised text without links, cut to `MODEL_CHARS`."""
    return " ".join(_DIGITS.sub("0", _LINKS.sub(" ", normalised[:MODEL_CHARS])).split())


def _ngrams(text: str) -> set[str]:
    """The text's distinct 1- to 4-grams, as `char_wb` makes them for the vocabulary.

    Taken over the whole text padded with spaces rather than word by word: the extra grams
    that span a space inside ("a b") are never in a `char_wb` vocabulary, so they add nothing,
    and slicing the whole string in C is several times faster than a loop over words.
    """
    if not text:
        return set()
    s = f" {text} "
    bigrams = list(map(operator.add, s, s[1:]))
    trigrams = list(map(operator.add, bigrams, s[2:]))
    return {*s, *bigrams, *trigrams, *map(operator.add, trigrams, s[3:])}
