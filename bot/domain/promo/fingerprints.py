"""Texts seen lately, remembered by fingerprint, to tell when members or groups repeat them."""

from __future__ import annotations

import re
from collections import OrderedDict

# Letters only: spammers change links, numbers and emoji between copies, rarely the words.
_NOT_LETTERS = re.compile(r"[\W\d_]+")
_POSTERS_KEPT = 4  # enough to tell "someone else" from "the same member again"


class RepeatedTexts:
    """The last `capacity` distinct texts with who posted them where; the caller owns one.

    Bounded by count, not time: the oldest fingerprint goes when a new one would pass the
    capacity, so memory stays fixed whatever the traffic.
    """

    def __init__(self, capacity: int = 10_000, min_letters: int = 16) -> None:
        self._capacity = capacity
        self._min_letters = min_letters
        self._seen: OrderedDict[str, list[tuple[int | None, int]]] = OrderedDict()

    def seen_elsewhere(self, normalised: str, member_id: int | None, chat_id: int) -> bool:
        """Remember this text; whether another member or another group posted it before.

        Short texts ("thanks", "+1", "谢谢") repeat innocently and are neither kept nor matched.
        """
        letters = _NOT_LETTERS.sub("", normalised)
        if len(letters) < self._min_letters:
            return False
        poster = (member_id, chat_id)
        posters = self._seen.get(letters)
        if posters is None:
            self._seen[letters] = [poster]
            if len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return False
        self._seen.move_to_end(letters)
        elsewhere = any(seen != poster for seen in posters)
        if poster not in posters:
            posters.append(poster)
            del posters[:-_POSTERS_KEPT]
        return elsewhere

    def __len__(self) -> int:
        return len(self._seen)
