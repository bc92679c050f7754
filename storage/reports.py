"""The weekly digest's table: which groups want it and the last week each was told."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import digests_table
from storage.upsert import upsert


class SqlDigestRepository:
    """`digests` rows (migration 0013)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enabled(self, chat_id: int) -> bool:
        d = digests_table.c
        found = await self._session.scalar(select(d.enabled).where(d.chat_id == chat_id))
        return bool(found)

    async def set_enabled(self, chat_id: int, enabled: bool) -> None:
        """Turn the digest on or off (the group's row must exist)."""
        await upsert(
            self._session,
            digests_table,
            [{"chat_id": chat_id, "enabled": enabled}],
            index_elements=["chat_id"],
            update_columns=["enabled"],
        )

    async def subscribed(self) -> list[tuple[int, date | None]]:
        """Groups with the digest on, and the last week each was told (None: never)."""
        d = digests_table.c
        rows = await self._session.execute(
            select(d.chat_id, d.last_week).where(d.enabled).order_by(d.chat_id)
        )
        return [(chat_id, last_week) for chat_id, last_week in rows]

    async def mark_told(self, chat_id: int, week: date) -> bool:
        """Record that `week` was told; False when it (or a later one) already was."""
        d = digests_table.c
        result = await self._session.execute(
            update(digests_table)
            .where(d.chat_id == chat_id, or_(d.last_week.is_(None), d.last_week < week))
            .values(last_week=week)
        )
        return bool(getattr(result, "rowcount", 0))
