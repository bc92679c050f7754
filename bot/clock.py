"""The system clock behind the `Clock` port."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    """Real time, aware, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)
