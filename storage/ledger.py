"""The ids of the events a unit of work inserted, for the folds that follow the insert."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

IN_CHUNK = 1000  # ids per IN (…) list: under both databases' bound-parameter limits


@dataclass(slots=True)
class IngestLedger:
    """The ids of the events `add_new` inserted in one unit of work.

    Each fold (memberships, the analytics rollups) takes the ids it has not folded yet and
    aggregates exactly those rows in SQL, so a redelivered event, which `add_new` skips,
    changes nothing.
    """

    inserted_ids: list[int] = field(default_factory=list)
    _taken: dict[str, int] = field(default_factory=dict)  # ids each fold has had so far

    def clear(self) -> None:
        self.inserted_ids.clear()
        self._taken.clear()

    def take(self, fold: str) -> list[int]:
        """The ids `fold` has not had yet, sorted."""
        start = self._taken.get(fold, 0)
        self._taken[fold] = len(self.inserted_ids)
        return sorted(self.inserted_ids[start:])


def chunks(ids: Sequence[int], size: int = IN_CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
