"""Content's storage: items, transitions, occurrences (posts) and their measures, settings,
operators and each operator's focus (migration 0010)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.content import WAITING, ContentKind, ContentState
from bot.domain.events import EventKind
from bot.ports import (
    ContentBody,
    ContentItem,
    ContentPost,
    ContentSettings,
    ContentTransition,
    Focus,
    ResponseCounts,
)
from storage.models import (
    activity_hours_table,
    content_focus_table,
    content_items_table,
    content_operators_table,
    content_posts_table,
    content_settings_table,
    content_transitions_table,
    events_table,
    outbox_table,
    users_table,
)
from storage.upsert import insert_ignore, upsert

i = content_items_table.c
p = content_posts_table.c
_WAITING = [state.value for state in WAITING]


def _body_json(body: ContentBody | None) -> dict[str, Any] | None:
    if body is None:
        return None
    return {
        "text": body.text,
        "entities": list(body.entities),
        "media_kind": body.media_kind,
        "media_file_id": body.media_file_id,
        "buttons": [list(b) for b in body.buttons],
    }


def _body(raw: dict[str, Any] | None) -> ContentBody | None:
    if raw is None:
        return None
    return ContentBody(
        text=str(raw.get("text") or ""),
        entities=tuple(raw.get("entities") or ()),
        media_kind=raw.get("media_kind"),
        media_file_id=raw.get("media_file_id"),
        buttons=tuple((str(t), str(u)) for t, u in raw.get("buttons") or ()),
    )


def _values(item: ContentItem) -> dict[str, Any]:
    return {
        "chat_id": item.chat_id,
        "state": item.state.value,
        "kind": item.kind.value,
        "title": item.title[:255],
        "body": _body_json(item.body),
        "variant": _body_json(item.variant),
        "thread_id": item.thread_id,
        "author_id": item.author_id,
        "owner_id": item.owner_id,
        "locale": item.locale,
        "rule": item.rule,
        "planned_at": item.planned_at,
        "due_at": item.due_at,
        "posts": item.posts,
        "experiment": item.experiment,
        "slots": list(item.slots),
    }


def _item(row: RowMapping) -> ContentItem:
    return ContentItem(
        id=row["id"],
        chat_id=row["chat_id"],
        state=ContentState(row["state"]),
        kind=ContentKind(row["kind"]),
        title=row["title"],
        body=_body(row["body"]),
        variant=_body(row["variant"]),
        thread_id=row["thread_id"],
        author_id=row["author_id"],
        owner_id=row["owner_id"],
        locale=row["locale"],
        rule=row["rule"],
        planned_at=row["planned_at"],
        due_at=row["due_at"],
        posts=row["posts"],
        experiment=row["experiment"],
        slots=tuple(row["slots"] or ()),
        created_at=row["created_at"],
    )


def _post_values(post: ContentPost) -> dict[str, Any]:
    return {
        "item_id": post.item_id,
        "chat_id": post.chat_id,
        "key": post.key,
        "planned_at": post.planned_at,
        "state": post.state,
        "arm": post.arm,
        "arm_label": post.arm_label,
        "published_at": post.published_at,
        "message_id": post.message_id,
        "measures": post.measures,
        "next_measure_at": post.next_measure_at,
    }


def _post(row: RowMapping) -> ContentPost:
    return ContentPost(
        id=row["id"],
        item_id=row["item_id"],
        chat_id=row["chat_id"],
        key=row["key"],
        planned_at=row["planned_at"],
        state=row["state"],
        arm=row["arm"],
        arm_label=row["arm_label"],
        published_at=row["published_at"],
        message_id=row["message_id"],
        measures=dict(row["measures"] or {}),
        next_measure_at=row["next_measure_at"],
    )


class SqlContentRepository:
    """The `ContentRepository` port on SQLite and PostgreSQL."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- items ---------------------------------------------------------------------------------

    async def add(self, item: ContentItem) -> int:
        values = _values(item) | {"created_at": item.created_at}
        result = await self._session.execute(
            content_items_table.insert().values(**values).returning(i.id)
        )
        return int(result.scalar_one())

    async def get(self, item_id: int) -> ContentItem | None:
        row = (
            (await self._session.execute(select(content_items_table).where(i.id == item_id)))
            .mappings()
            .one_or_none()
        )
        return _item(row) if row is not None else None

    async def save(self, item: ContentItem) -> None:
        await self._session.execute(
            update(content_items_table).where(i.id == item.id).values(**_values(item))
        )

    async def claim(self, item: ContentItem, seen: ContentItem) -> bool:
        # The WHERE is the claim: of two processes, the second finds the occurrence moved on
        # (PostgreSQL re-reads the row after the first commits; SQLite serialises writers).
        due = i.due_at.is_(None) if seen.due_at is None else i.due_at == seen.due_at
        result = await self._session.execute(
            update(content_items_table)
            .where(
                i.id == item.id,
                i.planned_at == seen.planned_at,
                due,
                i.state == seen.state.value,
            )
            .values(**_values(item))
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    async def record(self, transition: ContentTransition) -> None:
        await self._session.execute(
            content_transitions_table.insert().values(
                item_id=transition.item_id,
                from_state=transition.from_state.value if transition.from_state else None,
                to_state=transition.to_state.value,
                action=transition.action,
                by_user=transition.by,
                at=transition.at,
                note=transition.note,
            )
        )

    async def history(self, item_id: int) -> list[ContentTransition]:
        t = content_transitions_table.c
        rows = await self._session.execute(
            select(content_transitions_table).where(t.item_id == item_id).order_by(t.id)
        )
        return [
            ContentTransition(
                item_id=row["item_id"],
                from_state=ContentState(row["from_state"]) if row["from_state"] else None,
                to_state=ContentState(row["to_state"]),
                action=row["action"],
                by=row["by_user"],
                at=row["at"],
                note=row["note"],
            )
            for row in rows.mappings()
        ]

    async def items(
        self, chat_id: int | None, states: Sequence[ContentState] | None = None
    ) -> list[ContentItem]:
        query = select(content_items_table).order_by(i.id)
        if chat_id is not None:
            query = query.where(i.chat_id == chat_id)
        if states is not None:
            query = query.where(i.state.in_([s.value for s in states]))
        return [_item(row) for row in (await self._session.execute(query)).mappings()]

    async def due(self, now: datetime, limit: int) -> list[ContentItem]:
        rows = await self._session.execute(
            select(content_items_table)
            .where(i.due_at <= now, i.state.in_(_WAITING))
            .order_by(i.due_at, i.id)
            .limit(limit)
        )
        return [_item(row) for row in rows.mappings()]

    async def upcoming(self, chat_ids: Sequence[int], limit: int) -> list[ContentItem]:
        rows = await self._session.execute(
            select(content_items_table)
            .where(i.chat_id.in_(list(chat_ids)), i.due_at.is_not(None))
            .order_by(i.due_at, i.id)
            .limit(limit)
        )
        return [_item(row) for row in rows.mappings()]

    # --- posts ---------------------------------------------------------------------------------

    async def add_post(self, post: ContentPost) -> bool:
        inserted = await insert_ignore(
            self._session, content_posts_table, [_post_values(post)], returning=["id"]
        )
        return bool(inserted)

    async def save_post(self, post: ContentPost) -> None:
        await self._session.execute(
            update(content_posts_table).where(p.key == post.key).values(**_post_values(post))
        )

    async def posts(self, item_id: int) -> list[ContentPost]:
        rows = await self._session.execute(
            select(content_posts_table).where(p.item_id == item_id).order_by(p.planned_at, p.id)
        )
        return [_post(row) for row in rows.mappings()]

    async def posts_in(self, chat_id: int, since: datetime, until: datetime) -> list[ContentPost]:
        rows = await self._session.execute(
            select(content_posts_table)
            .where(p.chat_id == chat_id, p.planned_at >= since, p.planned_at < until)
            .order_by(p.planned_at, p.id)
        )
        return [_post(row) for row in rows.mappings()]

    async def to_measure(self, now: datetime, limit: int) -> list[ContentPost]:
        rows = await self._session.execute(
            select(content_posts_table)
            .where(or_(p.next_measure_at <= now, p.state == "sending"))
            .order_by(p.next_measure_at, p.id)
            .limit(limit)
        )
        return [_post(row) for row in rows.mappings()]

    async def outbox_result(self, key: str) -> tuple[datetime | None, int | None, str | None]:
        o = outbox_table.c
        row = (
            await self._session.execute(
                select(o.sent_at, o.result_message_id, o.failed_reason).where(o.dedup_key == key)
            )
        ).one_or_none()
        if row is None:
            return None, None, None
        return row[0], row[1], row[2]

    # --- measures ------------------------------------------------------------------------------

    async def responses_to(
        self, chat_id: int, message_id: int, since: datetime, until: datetime
    ) -> ResponseCounts:
        e = events_table.c
        in_window = and_(e.chat_id == chat_id, e.occurred_at >= since, e.occurred_at < until)
        replies = (e.kind == EventKind.MESSAGE.value) & (e.reply_to_message_id == message_id)
        reactions = (e.kind == EventKind.REACTION_ADDED.value) & (e.message_id == message_id)
        row = (
            await self._session.execute(
                select(
                    func.count().filter(replies),
                    func.count().filter(reactions),
                    func.count(func.distinct(e.user_id)),
                ).where(in_window, or_(replies, reactions), e.user_id.is_not(None))
            )
        ).one()
        return ResponseCounts(int(row[0]), int(row[1]), int(row[2]))

    async def group_hours(self, chat_id: int, since: datetime, until: datetime) -> tuple[int, int]:
        a = activity_hours_table.c
        start = since.replace(minute=0, second=0, microsecond=0)
        row = (
            await self._session.execute(
                select(
                    func.coalesce(func.sum(a.messages), 0), func.coalesce(func.sum(a.leaves), 0)
                ).where(a.chat_id == chat_id, a.hour >= start, a.hour < until)
            )
        ).one()
        return int(row[0]), int(row[1])

    # --- settings, operators, focus ------------------------------------------------------------

    async def settings(self, chat_id: int) -> ContentSettings:
        s = content_settings_table.c
        row = (
            (
                await self._session.execute(
                    select(content_settings_table).where(s.chat_id == chat_id)
                )
            )
            .mappings()
            .one_or_none()
        )
        if row is None:
            return ContentSettings(chat_id)
        return ContentSettings(chat_id, row["quiet_start"], row["quiet_end"], row["grace_seconds"])

    async def save_settings(self, settings: ContentSettings) -> None:
        await upsert(
            self._session,
            content_settings_table,
            [
                {
                    "chat_id": settings.chat_id,
                    "quiet_start": settings.quiet_start,
                    "quiet_end": settings.quiet_end,
                    "grace_seconds": settings.grace_seconds,
                }
            ],
            index_elements=["chat_id"],
            update_columns=["quiet_start", "quiet_end", "grace_seconds"],
        )

    async def operators(self, chat_id: int) -> list[tuple[int, str]]:
        o = content_operators_table.c
        rows = await self._session.execute(
            select(o.user_id, o.name).where(o.chat_id == chat_id).order_by(o.added_at, o.user_id)
        )
        return [(int(user_id), str(name)) for user_id, name in rows]

    async def add_operator(self, chat_id: int, user_id: int, name: str, at: datetime) -> bool:
        inserted = await insert_ignore(
            self._session,
            content_operators_table,
            [{"chat_id": chat_id, "user_id": user_id, "name": name[:255], "added_at": at}],
            returning=["user_id"],
        )
        return bool(inserted)

    async def remove_operator(self, chat_id: int, user_id: int) -> bool:
        o = content_operators_table.c
        result = await self._session.execute(
            delete(content_operators_table).where(o.chat_id == chat_id, o.user_id == user_id)
        )
        return int(result.rowcount) > 0  # type: ignore[attr-defined]

    async def operated_by(self, user_id: int) -> list[int]:
        o = content_operators_table.c
        rows = await self._session.execute(select(o.chat_id).where(o.user_id == user_id))
        return [int(chat_id) for (chat_id,) in rows]

    async def focus(self, user_id: int) -> Focus:
        f = content_focus_table.c
        row = (
            await self._session.execute(select(f.chat_id, f.awaiting).where(f.user_id == user_id))
        ).one_or_none()
        if row is None:
            return Focus(user_id, None)
        return Focus(user_id, row[0], row[1])

    async def save_focus(self, focus: Focus) -> None:
        await upsert(
            self._session,
            content_focus_table,
            [{"user_id": focus.user_id, "chat_id": focus.chat_id, "awaiting": focus.awaiting}],
            index_elements=["user_id"],
            update_columns=["chat_id", "awaiting"],
        )

    async def user_named(self, username: str) -> tuple[int, str] | None:
        u = users_table.c
        row = (
            await self._session.execute(
                select(u.user_id, u.first_name, u.last_name)
                .where(func.lower(u.username) == username.lower().lstrip("@"))
                .limit(1)
            )
        ).one_or_none()
        if row is None:
            return None
        name = " ".join(part for part in (row[1], row[2]) if part)
        return int(row[0]), name
