"""The question hand-off's storage: questions with their deadlines, the FAQ, the rota, settings."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.handoff import Answerer, Deadlines, Handoff, HandoffState
from bot.ports import FaqRecord, HandoffSettings, JoinedFollowUps, QuestionRecord, ShiftRecord
from storage.models import (
    faq_entries_table,
    handoff_settings_table,
    oncall_shifts_table,
    questions_table,
)
from storage.upsert import insert_ignore, upsert

_UNCLOSED = (
    HandoffState.OPEN,
    HandoffState.HANDED_OFF,
    HandoffState.CLAIMED,
    HandoffState.ESCALATED,
)

q = questions_table.c


def _values(record: QuestionRecord) -> dict[str, Any]:
    """The columns a question's state changes."""
    h = record.handoff
    return {
        "state": h.state.value,
        "handoff_at": h.deadlines.handoff_at,
        "sla_at": h.deadlines.sla_at,
        "due_at": h.next_deadline,
        "handed_off_at": h.handed_off_at,
        "claimed_by": h.claimed_by,
        "breached_at": h.breached_at,
        "closed_at": h.closed_at,
        "closed_by": h.closed_by,
        "answerer": h.answerer.value if h.answerer else None,
        "follow_ups": list(record.follow_ups),
        "last_message_at": record.last_message_at or h.asked_at,
        "faq_entry_id": record.faq_entry_id,
        "notices": [list(pair) for pair in record.notices],
    }


# The statements a batch's hand-off writes run (get_many, save_many, join_follow_ups), built once:
# building one costs more than running it on a few rows.
_BY_KEY = (q.chat_id == bindparam("key_chat"), q.message_id == bindparam("key_message"))
# Not `(chat_id, message_id) IN (…)`: SQLite scans the whole table for a row-value IN. Two plain
# INs search the primary key; the pairs not asked for are left out by `get_many`.
_GET_MANY = select(questions_table).where(
    q.chat_id.in_(bindparam("chats", expanding=True)),
    q.message_id.in_(bindparam("messages", expanding=True)),
)
# An UPDATE of one question by its key, for many rows at once: its SET names the columns each
# row's parameters give (save_many: `_values`'s keys; join_follow_ups: two), typed as the columns.
_UPDATE_BY_KEY = update(questions_table).where(*_BY_KEY)


def _record(row: Row[Any]) -> QuestionRecord:
    m = row._mapping
    handoff = Handoff(
        asker_id=m["asker_id"],
        asked_at=m["asked_at"],
        deadlines=Deadlines(m["handoff_at"], m["sla_at"]),
        state=HandoffState(m["state"]),
        handed_off_at=m["handed_off_at"],
        claimed_by=m["claimed_by"],
        breached_at=m["breached_at"],
        closed_at=m["closed_at"],
        closed_by=m["closed_by"],
        answerer=Answerer(m["answerer"]) if m["answerer"] else None,
    )
    return QuestionRecord(
        chat_id=m["chat_id"],
        message_id=m["message_id"],
        handoff=handoff,
        asker_name=m["asker_name"],
        text=m["text"],
        follow_ups=tuple(m["follow_ups"] or ()),
        last_message_at=m["last_message_at"],
        faq_entry_id=m["faq_entry_id"],
        notices=tuple((int(a), int(b)) for a, b in m["notices"] or ()),
    )


class SqlHandoffRepository:
    """The `HandoffRepository` port on SQLite and PostgreSQL."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- questions --------------------------------------------------------------------------

    async def open(self, record: QuestionRecord) -> bool:
        return bool(await self.open_many([record]))

    async def open_many(self, records: Sequence[QuestionRecord]) -> set[tuple[int, int]]:
        rows = [
            {
                "chat_id": record.chat_id,
                "message_id": record.message_id,
                "asker_id": record.handoff.asker_id,
                "asker_name": record.asker_name[:255],
                "text": record.text,
                "asked_at": record.handoff.asked_at,
                **_values(record),
            }
            for record in records
        ]
        inserted = await insert_ignore(
            self._session, questions_table, rows, returning=("chat_id", "message_id")
        )
        return {(chat_id, message_id) for chat_id, message_id in inserted}

    async def get_many(
        self, keys: Collection[tuple[int, int]]
    ) -> dict[tuple[int, int], QuestionRecord]:
        if not keys:
            return {}
        wanted = set(keys)
        rows = await self._session.execute(
            _GET_MANY,
            {
                "chats": list({chat_id for chat_id, _ in wanted}),
                "messages": list({message_id for _, message_id in wanted}),
            },
        )
        return {
            (row.chat_id, row.message_id): _record(row)
            for row in rows
            if (row.chat_id, row.message_id) in wanted
        }

    async def save_many(self, records: Sequence[QuestionRecord]) -> None:
        if not records:
            return
        await self._session.execute(
            _UPDATE_BY_KEY,
            [{"key_chat": r.chat_id, "key_message": r.message_id, **_values(r)} for r in records],
        )

    async def join_follow_ups(self, joined: Sequence[JoinedFollowUps]) -> None:
        if not joined:
            return
        await self._session.execute(
            _UPDATE_BY_KEY,
            [
                {
                    "key_chat": j.chat_id,
                    "key_message": j.message_id,
                    "follow_ups": list(j.follow_ups),
                    "last_message_at": j.at,
                }
                for j in joined
            ],
        )

    async def get(self, chat_id: int, message_id: int) -> QuestionRecord | None:
        row = (
            await self._session.execute(
                select(questions_table).where(q.chat_id == chat_id, q.message_id == message_id)
            )
        ).first()
        return _record(row) if row else None

    async def save(self, record: QuestionRecord) -> None:
        await self._session.execute(
            update(questions_table)
            .where(q.chat_id == record.chat_id, q.message_id == record.message_id)
            .values(**_values(record))
        )

    async def due(self, now: datetime, limit: int) -> list[QuestionRecord]:
        rows = await self._session.execute(
            select(questions_table).where(q.due_at <= now).order_by(q.due_at).limit(limit)
        )
        return [_record(row) for row in rows]

    async def unclosed(self, chat_id: int) -> list[QuestionRecord]:
        rows = await self._session.execute(
            select(questions_table)
            .where(q.chat_id == chat_id, q.state.in_([state.value for state in _UNCLOSED]))
            .order_by(q.asked_at)
        )
        return [_record(row) for row in rows]

    async def asked_since(self, chat_id: int | None, since: datetime) -> list[QuestionRecord]:
        query = select(questions_table).where(q.asked_at >= since)
        if chat_id is not None:
            query = query.where(q.chat_id == chat_id)
        return [_record(row) for row in await self._session.execute(query)]

    async def asked_by(self, user_id: int) -> list[QuestionRecord]:
        rows = await self._session.execute(
            select(questions_table)
            .where(q.asker_id == user_id, q.text.is_not(None))
            .order_by(q.asked_at)
        )
        return [_record(row) for row in rows]

    async def erase_member(self, user_id: int) -> int:
        result = await self._session.execute(
            update(questions_table)
            .where(q.asker_id == user_id, q.text.is_not(None))
            .values(text=None, asker_name="")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def erase_text_closed_before(self, before: datetime) -> int:
        result = await self._session.execute(
            update(questions_table)
            .where(q.closed_at < before, q.text.is_not(None))
            .values(text=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # --- settings ---------------------------------------------------------------------------

    async def settings(self, chat_id: int) -> HandoffSettings:
        s = handoff_settings_table.c
        row = (
            await self._session.execute(
                select(
                    s.handoff_after_seconds, s.sla_seconds, s.ops_chat_id, s.sla_follows_hours
                ).where(s.chat_id == chat_id)
            )
        ).first()
        if row is None:
            return HandoffSettings(chat_id)
        return HandoffSettings(chat_id, row[0], row[1], row[2], bool(row[3]))

    async def save_settings(self, settings: HandoffSettings) -> None:
        await upsert(
            self._session,
            handoff_settings_table,
            [
                {
                    "chat_id": settings.chat_id,
                    "handoff_after_seconds": settings.handoff_after,
                    "sla_seconds": settings.sla,
                    "ops_chat_id": settings.ops_chat_id,
                    "sla_follows_hours": settings.sla_follows_hours,
                }
            ],
            index_elements=("chat_id",),
            update_columns=(
                "handoff_after_seconds",
                "sla_seconds",
                "ops_chat_id",
                "sla_follows_hours",
            ),
        )

    # --- the FAQ ----------------------------------------------------------------------------

    async def faq(self, chat_id: int) -> list[FaqRecord]:
        f = faq_entries_table.c
        rows = await self._session.execute(
            select(f.id, f.question, f.answer).where(f.chat_id == chat_id).order_by(f.id)
        )
        return [FaqRecord(row[0], row[1], row[2]) for row in rows]

    async def add_faq(
        self, chat_id: int, question: str, answer: str, by: int | None, at: datetime
    ) -> int:
        inserted = await self._session.execute(
            faq_entries_table.insert()
            .values(chat_id=chat_id, question=question, answer=answer, added_by=by, added_at=at)
            .returning(faq_entries_table.c.id)
        )
        return int(inserted.scalar_one())

    async def remove_faq(self, chat_id: int, entry_id: int) -> bool:
        f = faq_entries_table.c
        result = await self._session.execute(
            delete(faq_entries_table).where(f.chat_id == chat_id, f.id == entry_id)
        )
        return bool(getattr(result, "rowcount", 0))

    # --- the rota ---------------------------------------------------------------------------

    async def rota(self, chat_id: int) -> list[ShiftRecord]:
        r = oncall_shifts_table.c
        rows = await self._session.execute(
            select(r.moderator_id, r.moderator_name, r.shift)
            .where(r.chat_id == chat_id)
            .order_by(r.position)
        )
        return [ShiftRecord(row[0], row[1], row[2]) for row in rows]

    async def add_shift(self, chat_id: int, shift: ShiftRecord) -> None:
        r = oncall_shifts_table.c
        position = (
            await self._session.execute(
                select(func.coalesce(func.max(r.position), 0)).where(r.chat_id == chat_id)
            )
        ).scalar_one()
        await insert_ignore(
            self._session,
            oncall_shifts_table,
            [
                {
                    "chat_id": chat_id,
                    "moderator_id": shift.moderator_id,
                    "moderator_name": shift.moderator_name[:255],
                    "shift": shift.shift,
                    "position": int(position) + 1,
                }
            ],
        )

    async def remove_shifts(self, chat_id: int, moderator_id: int) -> int:
        r = oncall_shifts_table.c
        result = await self._session.execute(
            delete(oncall_shifts_table).where(r.chat_id == chat_id, r.moderator_id == moderator_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)
