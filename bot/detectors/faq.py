"""The FAQ matcher: which of a group's FAQ entries a new question asks, and how closely.

Questions and entries are compared as TF-IDF vectors over character n-grams (scikit-learn),
which read Chinese without word segmentation and forgive typos and inflections ("withdraw",
"withdrawal"). Two choices were measured (`benchmarks/faq_threshold.py`, figures in README.md):

- The words that frame a question rather than say what it is about ("how do I", "is there",
  请问, 怎么, 吗, подскажите) are taken out first. Without that, "how do I add the bot" matches
  "how do I delete my account" as well as a real paraphrase matches its entry.
- A question's n-grams that no entry has still count in its length, at the rarest weight, so a
  question about something else scores low instead of being judged on the few n-grams it
  happens to share. IDF is learnt from the entries' questions and answers together.

A group's FAQ is small (tens of entries), so the matcher is rebuilt whenever it changes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.domain.questions import normalise

# Chosen on the development queries, checked on the held-out ones: benchmarks/faq_threshold.py.
MATCH_THRESHOLD = 0.2
NGRAMS = (1, 3)

_FRAMING = re.compile(
    # English words that ask rather than name a topic (matched as whole words)
    r"\b(?:how|what|whats|what's|where|when|when's|why|which|who|do|does|did|can|could|is|are|"
    r"am|there|i|you|we|my|your|the|a|an|to|it|please|pls|anyone|know|help|any|me|this|that|"
    r"for|of|in|on|s|"
    # Russian
    r"как|что|где|когда|почему|можно|ли|я|мне|мой|моя|мои|у|в|на|подскажите|пожалуйста|есть|"
    r"это|а|и)\b"
    # Chinese: no word boundaries, so these go wherever they stand
    r"|请问|怎么|如何|吗|呢|啊|吧|我|你们|有没有|是不是|可以|能|一下|的|了|在哪里|在哪|哪里|什么|"
    r"多少|有|要"
)
_NOT_WORD = re.compile(r"[^\w\s]")


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """A question moderators answered once, and the answer."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """The entry a question is closest to, its position in the FAQ, and the cosine similarity
    (0: nothing in common, 1: the same words)."""

    index: int
    entry: FaqEntry
    score: float


def topic(text: str) -> str:
    """What a question is about: normalised, its framing words and punctuation taken out."""
    return " ".join(_NOT_WORD.sub(" ", _FRAMING.sub(" ", normalise(text))).split())


class FaqMatcher:
    """Matches new questions against one group's FAQ."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        # Imported here: scikit-learn costs a second at import, paid once a group has an FAQ.
        from sklearn.feature_extraction.text import TfidfVectorizer

        self._entries = tuple(entries)
        self._vectorizer = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True)
        questions = [topic(entry.question) for entry in self._entries]
        answers = [topic(entry.answer) for entry in self._entries]
        try:
            self._vectorizer.fit(questions + answers)
        except ValueError:  # no entries, or nothing but framing words in them
            self._vocabulary: dict[str, int] = {}
            return
        self._vocabulary = self._vectorizer.vocabulary_
        self._idf: np.ndarray = self._vectorizer.idf_
        self._rarest = float(self._idf.max())
        self._analyse = self._vectorizer.build_analyzer()
        self._questions = self._vectorizer.transform(questions)  # rows of length 1

    def best(self, question: str) -> FaqMatch | None:
        """The closest entry whatever its score (None: no entries, or nothing in common)."""
        if not self._vocabulary:
            return None
        columns, weights, length = [], [], 0.0
        for gram, count in Counter(self._analyse(topic(question))).items():
            column = self._vocabulary.get(gram)
            weight = (1 + math.log(count)) * (self._rarest if column is None else self._idf[column])
            length += weight * weight
            if column is not None:
                columns.append(column)
                weights.append(weight)
        if not columns:
            return None
        scores = (self._questions[:, columns] @ np.array(weights)) / math.sqrt(length)
        index = int(np.argmax(scores))
        return FaqMatch(index, self._entries[index], round(float(scores[index]), 4))

    def match(self, question: str, threshold: float = MATCH_THRESHOLD) -> FaqMatch | None:
        """The closest entry if it is close enough to answer with, else None."""
        found = self.best(question)
        return found if found is not None and found.score >= threshold else None
