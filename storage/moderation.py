"""Moderation's storage: warnings, the moderation log, settings, and what it reads from the
recorded members and events (names, a member's message ids, joins for the welcome)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.events import EventKind
from bot.domain.moderation import (
    Joined,
    LockKind,
    LogEntry,
    ModAction,
    ModerationSettings,
    Person,
    WarningRecord,
    WarnPolicy,
    WarnPunishment,
)
from storage.models import (
    events_table,
    groups_table,
    members_table,
    mod_log_table,
    moderation_settings_table,
    users_table,
    warnings_table,
)
from storage.upsert import upsert

_NAME = 255
_MESSAGES = (EventKind.MESSAGE.value, EventKind.COMMAND.value)


def _display(first: str, last: str | None, username: str | None) -> str:
    name = f"{first} {last}" if last else first
    return f"{name} (@{username})" if username else name


_LOCK_KINDS = {kind.value: kind for kind in LockKind}


def _locks(stored: str) -> frozenset[LockKind]:
    return frozenset(_LOCK_KINDS[word] for word in stored.split(",") if word in _LOCK_KINDS)


class SqlModerationRepository:
    """The `ModerationRepository` port on SQLite and PostgreSQL."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- settings -----------------------------------------------------------------------------

    async def settings(self, chat_id: int) -> ModerationSettings:
        s = moderation_settings_table.c
        row = (
            await self._session.execute(
                select(
                    s.warn_limit,
                    s.warn_punishment,
                    s.warn_seconds,
                    s.warn_expiry_days,
                    s.rules,
                    s.welcome,
                    s.locks,
                ).where(s.chat_id == chat_id)
            )
        ).first()
        if row is None:
            return ModerationSettings(chat_id)
        policy = WarnPolicy(
            row.warn_limit,
            WarnPunishment(row.warn_punishment),
            row.warn_seconds,
            row.warn_expiry_days,
        )
        return ModerationSettings(chat_id, policy, row.rules, row.welcome, _locks(row.locks))

    async def save_settings(self, settings: ModerationSettings) -> None:
        row: dict[str, Any] = {
            "chat_id": settings.chat_id,
            "warn_limit": settings.warn.limit,
            "warn_punishment": settings.warn.punishment.value,
            "warn_seconds": settings.warn.seconds,
            "warn_expiry_days": settings.warn.expiry_days,
            "rules": settings.rules,
            "welcome": settings.welcome,
            "locks": ",".join(sorted(settings.locks)),
        }
        await upsert(
            self._session,
            moderation_settings_table,
            [row],
            index_elements=["chat_id"],
            update_columns=[name for name in row if name != "chat_id"],
        )

    async def all_locks(self) -> dict[int, frozenset[LockKind]]:
        s = moderation_settings_table.c
        rows = await self._session.execute(select(s.chat_id, s.locks).where(s.locks != ""))
        return {chat_id: _locks(locks) for chat_id, locks in rows}

    # --- warnings -----------------------------------------------------------------------------

    async def add_warning(
        self, chat_id: int, user_id: int, reason: str, by: Person, at: datetime
    ) -> None:
        await self._session.execute(
            warnings_table.insert().values(
                chat_id=chat_id,
                user_id=user_id,
                reason=reason[:_NAME],
                given_by_id=by.user_id,
                given_by=by.name[:_NAME],
                given_at=at,
            )
        )

    def _counting(self, chat_id: int, user_id: int, since: datetime) -> Any:
        w = warnings_table.c
        return and_(
            w.user_id == user_id,
            w.chat_id == chat_id,
            w.cleared_at.is_(None),
            w.given_at > since,
        )

    async def warnings(self, chat_id: int, user_id: int, since: datetime) -> list[WarningRecord]:
        w = warnings_table.c
        rows = await self._session.execute(
            select(w.id, w.reason, w.given_by, w.given_at)
            .where(self._counting(chat_id, user_id, since))
            .order_by(w.given_at, w.id)
        )
        return [
            WarningRecord(row.id, chat_id, user_id, row.reason, row.given_by, row.given_at)
            for row in rows
        ]

    async def warnings_of(self, user_id: int) -> list[tuple[str, WarningRecord, bool]]:
        w, g = warnings_table.c, groups_table.c
        rows = await self._session.execute(
            select(w.id, w.chat_id, g.title, w.reason, w.given_by, w.given_at, w.cleared_at)
            .select_from(warnings_table.outerjoin(groups_table, g.chat_id == w.chat_id))
            .where(w.user_id == user_id)
            .order_by(w.given_at, w.id)
        )
        return [
            (
                row.title or str(row.chat_id),
                WarningRecord(row.id, row.chat_id, user_id, row.reason, row.given_by, row.given_at),
                row.cleared_at is not None,
            )
            for row in rows
        ]

    async def clear_warnings(
        self, chat_id: int, user_id: int, since: datetime, at: datetime, *, latest_only: bool
    ) -> int:
        w = warnings_table.c
        ids = select(w.id).where(self._counting(chat_id, user_id, since))
        if latest_only:
            ids = ids.order_by(w.given_at.desc(), w.id.desc()).limit(1)
        chosen = list((await self._session.execute(ids)).scalars())
        if not chosen:
            return 0
        await self._session.execute(
            update(warnings_table).where(w.id.in_(chosen)).values(cleared_at=at)
        )
        return len(chosen)

    # --- the log ------------------------------------------------------------------------------

    async def log(self, entry: LogEntry) -> None:
        target = entry.target
        await self._session.execute(
            mod_log_table.insert().values(
                chat_id=entry.chat_id,
                at=entry.at,
                action=entry.action.value,
                actor_id=entry.actor.user_id,
                actor_name=entry.actor.name[:_NAME],
                target_id=target.user_id if target else None,
                target_name=target.name[:_NAME] if target else None,
                reason=entry.reason[:_NAME],
                until=entry.until,
                count=entry.count,
            )
        )

    async def entries(self, chat_id: int, target_id: int | None, limit: int) -> list[LogEntry]:
        g = mod_log_table.c
        query = select(mod_log_table).where(g.chat_id == chat_id)
        if target_id is not None:
            query = query.where(g.target_id == target_id)
        rows = (
            await self._session.execute(query.order_by(g.at.desc(), g.id.desc()).limit(limit))
        ).mappings()
        return [
            LogEntry(
                chat_id=row["chat_id"],
                actor=Person(row["actor_id"], row["actor_name"]),
                action=ModAction(row["action"]),
                at=row["at"],
                target=(
                    Person(row["target_id"], row["target_name"])
                    if row["target_name"] is not None
                    else None
                ),
                reason=row["reason"],
                until=row["until"],
                count=row["count"],
            )
            for row in rows
        ]

    # --- members and events -------------------------------------------------------------------

    async def member_named(self, chat_id: int, username: str) -> Person | None:
        u, m = users_table.c, members_table.c
        row = (
            await self._session.execute(
                select(u.user_id, u.first_name, u.last_name, u.username)
                .join(members_table, and_(m.user_id == u.user_id, m.chat_id == chat_id))
                .where(func.lower(u.username) == username.lower())
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        return Person(row.user_id, _display(row.first_name, row.last_name, row.username))

    async def person(self, user_id: int) -> Person | None:
        u = users_table.c
        row = (
            await self._session.execute(
                select(u.first_name, u.last_name, u.username).where(u.user_id == user_id)
            )
        ).first()
        if row is None:
            return None
        return Person(user_id, _display(row.first_name, row.last_name, row.username))

    async def message_ids(self, chat_id: int, user_id: int, since: datetime) -> list[int]:
        e = events_table.c
        rows = await self._session.execute(
            select(e.message_id)
            .where(
                e.user_id == user_id,
                e.chat_id == chat_id,
                e.kind.in_(_MESSAGES),
                e.occurred_at >= since,
                e.message_id.is_not(None),
            )
            .order_by(e.message_id)
        )
        return [int(message_id) for message_id in rows.scalars()]

    # --- the welcome --------------------------------------------------------------------------

    async def welcome_chats(self) -> dict[int, int]:
        s = moderation_settings_table.c
        rows = await self._session.execute(
            select(s.chat_id, s.welcomed_through).where(s.welcome.is_not(None))
        )
        return {chat_id: through for chat_id, through in rows}

    async def joins_after(self, chat_id: int, event_id: int, limit: int) -> list[Joined]:
        e, u = events_table.c, users_table.c
        rows = await self._session.execute(
            select(e.id, e.user_id, e.occurred_at, u.first_name, u.last_name, u.username, u.is_bot)
            .join(users_table, u.user_id == e.user_id, isouter=True)
            .where(e.chat_id == chat_id, e.kind == EventKind.JOIN.value, e.id > event_id)
            .order_by(e.id)
            .limit(limit)
        )
        return [
            Joined(
                row.id,
                row.user_id,
                row.first_name or "",
                row.occurred_at,
                bool(row.is_bot),
            )
            for row in rows
            if row.user_id is not None
        ]

    async def last_event_id(self) -> int:
        return int(await self._session.scalar(select(func.max(events_table.c.id))) or 0)

    async def welcomed(self, chat_id: int, through: int) -> None:
        s = moderation_settings_table.c
        await self._session.execute(
            update(moderation_settings_table)
            .where(s.chat_id == chat_id, s.welcomed_through < through)
            .values(welcomed_through=through)
        )

    # --- erasure ------------------------------------------------------------------------------

    async def erase_member(self, user_id: int) -> int:
        # Warnings and the log keep the member's id: a moderation record is kept for the
        # group's safety (a warning still counts until it expires), but no name is kept.
        w, g = warnings_table.c, mod_log_table.c
        changed = 0
        for statement in (
            update(warnings_table).where(w.given_by_id == user_id).values(given_by=""),
            update(mod_log_table).where(g.target_id == user_id).values(target_name=""),
            update(mod_log_table).where(g.actor_id == user_id).values(actor_name=""),
        ):
            result = await self._session.execute(statement)
            changed += int(getattr(result, "rowcount", 0) or 0)
        return changed
