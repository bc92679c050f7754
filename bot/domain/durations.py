"""Durations typed in commands (`/handoff after 10m`, `/handoff sla 1h30m`), read into seconds.

A duration is one or more parts, largest unit first, each unit once: `90s`, `10m`, `2h`,
`1d12h`, `1h 30m`. A bare number is seconds, because that is how the settings are stored.
Units may be spelled out (`10 min`, `2 hours`), in Chinese (`10分钟`, `2小时`, `1天`) or in
Russian (`10 мин`, `2ч`), and full-width digits count (NFKC), since people type on phones with
Chinese keyboards.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MIN_SECONDS = 1
# A year: far beyond any sensible hand-off, and short enough that a typo like 9999999d is refused.
MAX_SECONDS = 366 * 86_400


def _spellings(seconds: int, words: str) -> dict[str, int]:
    return dict.fromkeys(words.split(), seconds)


# Each unit by the words people use for it, and its length in seconds.
_UNITS = {
    **_spellings(86_400, "d day days 天 д дн день дня дней"),
    **_spellings(3_600, "h hr hrs hour hours 小时 时 ч час часа часов"),
    **_spellings(60, "m min mins minute minutes 分钟 分 м мин минута минуты минут"),
    **_spellings(1, "s sec secs second seconds 秒 с сек секунда секунды секунд"),
}
_PART = re.compile(r"\s*(\d{1,12})\s*([^\d\s]*)", re.ASCII)  # no 5,000-digit ints
_SHORT = ((86_400, "d"), (3_600, "h"), (60, "m"), (1, "s"))


@dataclass(frozen=True)
class DurationInputError(ValueError):
    """The words are not a duration. `problem` is an English template for `values`."""

    problem: str
    values: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.problem.format(**self.values)


def parse_duration(text: str) -> int:
    """The seconds in `text` ("10m", "1d12h"); raise DurationInputError saying what is wrong."""
    typed = unicodedata.normalize("NFKC", text).strip().lower()
    if not typed:
        raise DurationInputError("Give a duration, like 90s, 10m, 2h or 1d12h.")
    if typed.isascii() and typed.isdecimal():
        return _bounded(int(typed[:12]) if len(typed) <= 12 else 10**12)
    total, position, last_unit = 0, 0, None
    while position < len(typed):
        part = _PART.match(typed, position)
        unit = _UNITS.get(part.group(2)) if part else None
        if part is None or unit is None:
            raise DurationInputError(
                "“{text}” is not a duration: use numbers with units, like 90s, 10m, 2h or 1d12h.",
                {"text": text.strip()},
            )
        if last_unit is not None and unit >= last_unit:
            raise DurationInputError(
                "Write each unit once, largest first, like 1d12h or 1h30m, not “{text}”.",
                {"text": text.strip()},
            )
        total += int(part.group(1)) * unit
        position, last_unit = part.end(), unit
    return _bounded(total)


def format_duration(seconds: int) -> str:
    """The short form of a duration (`1d12h`, `10m`, 90 s as `1m30s`) that parse_duration reads."""
    if seconds <= 0:
        return "0s"
    parts = []
    for size, unit in _SHORT:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _bounded(seconds: int) -> int:
    if seconds < MIN_SECONDS:
        raise DurationInputError("A duration must be at least 1 second.")
    if seconds > MAX_SECONDS:
        raise DurationInputError(
            "A duration must be at most {most}.", {"most": format_duration(MAX_SECONDS)}
        )
    return seconds
