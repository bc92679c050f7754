"""SQL implementations of the storage ports; they read and write through a session, never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    PrimaryKeyConstraint,
    Select,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.domain.watching import Decision
from bot.ports import Erasure, Footprint, GroupSettings, OutboxItem, StoredDecision
from storage.analytics import (
    ROLLUP_TABLES,
    erase_from_rollups,
    members_removed_from,
    move_rollups,
)
from storage.ledger import IngestLedger, chunks
from storage.models import (
    Base,
    decisions_table,
    events_table,
    groups_table,
    members_table,
    ops_notices_table,
    outbox_table,
    seen_updates_table,
    users_table,
)
from storage.upsert import (
    built_from_select_statement,
    insert_ignore,
    upsert,
    upsert_from_select,
    upsert_statement,
)

# Every batched write sorts its rows by key: concurrent transactions then lock rows in the same
# order, so PostgreSQL makes one wait for the other instead of reporting a deadlock.

# Kinds that make a member "active" in window stats.
ACTIVE_KINDS = (EventKind.MESSAGE, EventKind.EDIT, EventKind.REACTION_ADDED)


def _not_older(t: Table, ex: Any) -> ColumnElement[bool]:
    """Upsert guard: a late, redelivered update never overwrites newer data."""
    return ex.updated_at >= t.c.updated_at  # type: ignore[no-any-return]


# --- groups -----------------------------------------------------------------------------------

_GROUP_COLUMNS = ("chat_id", "title", "type", "username", "is_forum", "created_at", "updated_at")


def group_rows(groups: Iterable[GroupRef], seen_at: datetime) -> list[dict[str, Any]]:
    """Rows to upsert for `groups` (the last of each chat wins), in chat order."""
    latest: dict[int, GroupRef] = {group.chat_id: group for group in groups}
    return [
        {
            "chat_id": group.chat_id,
            "title": group.title,
            "type": group.type,
            "username": group.username,
            "is_forum": group.is_forum,
            "created_at": seen_at,
            "updated_at": seen_at,
        }
        for _, group in sorted(latest.items())
    ]


def groups_upsert(dialect: str) -> tuple[Any, tuple[str, ...]]:
    """Insert new groups and refresh titles of known ones (never with older data): the
    statement and the columns its rows give."""
    statement = upsert_statement(
        dialect,
        groups_table,
        ("chat_id",),
        ("title", "type", "username", "is_forum", "updated_at"),
        None,
        _not_older,
    )
    return statement, _GROUP_COLUMNS


def _settings(row: RowMapping) -> GroupSettings:
    return GroupSettings(
        chat_id=row["chat_id"],
        title=row["title"],
        timezone=row["timezone"],
        language=row["language"],
        store_text=row["store_text"],
        text_retention_days=row["text_retention_days"],
    )


class SqlGroupRepository:
    """Groups and their settings."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def upsert_many(self, groups: Sequence[GroupRef], seen_at: datetime) -> None:
        """Insert new groups and refresh titles of known ones (never with older data)."""
        statement, _ = groups_upsert(self._session.get_bind().dialect.name)
        rows = group_rows(groups, seen_at)
        if rows:
            await self._session.execute(statement, rows)

    async def active_chat_ids(self) -> list[int]:
        rows = await self._session.scalars(
            select(groups_table.c.chat_id)
            .where(groups_table.c.migrated_to_chat_id.is_(None))
            .order_by(groups_table.c.chat_id)
        )
        return list(rows)

    async def chats_storing_text(self) -> set[int]:
        rows = await self._session.scalars(
            select(groups_table.c.chat_id).where(groups_table.c.store_text.is_(True))
        )
        return set(rows)

    async def get(self, chat_id: int) -> GroupSettings | None:
        # A Core query, not session.get: the ORM identity map would hide Core updates made
        # earlier in the same unit of work.
        row = (
            (
                await self._session.execute(
                    select(groups_table).where(groups_table.c.chat_id == chat_id)
                )
            )
            .mappings()
            .one_or_none()
        )
        return _settings(row) if row is not None else None

    async def update_settings(self, settings: GroupSettings) -> None:
        """Store a group's settings; the group must be known."""
        result = await self._session.execute(
            update(groups_table)
            .where(groups_table.c.chat_id == settings.chat_id)
            .values(
                title=settings.title,
                timezone=settings.timezone,
                language=settings.language,
                store_text=settings.store_text,
                text_retention_days=settings.text_retention_days,
            )
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise LookupError(f"unknown group {settings.chat_id}")

    async def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """Move a group's members and events from a basic group id to its supergroup id.

        The supergroup row is created from the old one (or, if updates under the new id already
        created it, given the old group's settings), members present under both ids are merged,
        and the old row stays behind pointing at the new one. Safe to run twice.
        """
        old = (
            (
                await self._session.execute(
                    select(groups_table).where(groups_table.c.chat_id == old_chat_id)
                )
            )
            .mappings()
            .one_or_none()
        )
        if old is None or old_chat_id == new_chat_id:
            return
        carried = {
            "timezone": old["timezone"],
            "language": old["language"],
            "store_text": old["store_text"],
            "text_retention_days": old["text_retention_days"],
        }
        # The new group row must exist before children point at it (foreign keys).
        await insert_ignore(
            self._session,
            groups_table,
            [{**old, "chat_id": new_chat_id, "type": "supergroup", "migrated_to_chat_id": None}],
        )
        await self._session.execute(
            update(groups_table).where(groups_table.c.chat_id == new_chat_id).values(carried)
        )
        member_columns = [c.name for c in members_table.c]
        moved = select(
            *(
                literal(new_chat_id, members_table.c.chat_id.type).label("chat_id")
                if name == "chat_id"
                else members_table.c[name]
                for name in member_columns
            )
        ).where(members_table.c.chat_id == old_chat_id)
        await upsert_from_select(
            self._session,
            members_table,
            member_columns,
            moved,
            index_elements=["chat_id", "user_id"],
            update=merge_membership,
        )
        await self._session.execute(
            delete(members_table).where(members_table.c.chat_id == old_chat_id)
        )
        await self._session.execute(
            update(events_table)
            .where(events_table.c.chat_id == old_chat_id)
            .values(chat_id=new_chat_id)
        )
        await move_rollups(self._session, old_chat_id, new_chat_id)
        await _move_group_rows(self._session, old_chat_id, new_chat_id)
        await self._session.execute(
            update(groups_table)
            .where(groups_table.c.chat_id == old_chat_id)
            .values(migrated_to_chat_id=new_chat_id)
        )
        # Members and days moved in: what reports keep of the supergroup is out of date.
        await members_removed_from(self._session, groups_table.c.chat_id == new_chat_id)


# Tables whose rows `migrate` moves itself (merging), or leaves: the outbox is a log of sends.
_MOVED_APART = frozenset({"groups", "members", "events", "outbox"}) | ROLLUP_TABLES
_NOT_A_GROUP = frozenset({"chat_id", "migrated_to_chat_id", "sender_chat_id"})


async def _move_group_rows(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> None:
    """Every feature's rows of a group (settings, questions, FAQ, warnings, content…) follow it
    to its supergroup id, whichever table they are in, so a feature's new table needs no line
    here. Where the new id has a row under the same unique key already (updates arrived under
    both ids around the move), that row is kept and the old one dropped. Columns that name a
    group elsewhere (`ops_chat_id`) follow too."""
    for table in Base.metadata.sorted_tables:
        for column in table.c:
            if column.name.endswith("_chat_id") and column.name not in _NOT_A_GROUP:
                await session.execute(
                    update(table).where(column == old_chat_id).values({column.name: new_chat_id})
                )
        if table.name in _MOVED_APART or "chat_id" not in table.c:
            continue
        keys = [key for key in _unique_keys(table) if "chat_id" in key]
        move = update(table).where(table.c.chat_id == old_chat_id)
        for key in keys:
            twin = table.alias("twin")
            move = move.where(
                ~exists().where(
                    twin.c.chat_id == new_chat_id,
                    *(twin.c[name] == table.c[name] for name in key if name != "chat_id"),
                )
            )
        await session.execute(move.values(chat_id=new_chat_id))
        if keys:
            await session.execute(delete(table).where(table.c.chat_id == old_chat_id))


def _unique_keys(table: Table) -> list[list[str]]:
    keys = [
        [column.name for column in constraint.columns]
        for constraint in table.constraints
        if isinstance(constraint, PrimaryKeyConstraint | UniqueConstraint)
    ]
    keys += [[column.name for column in index.columns] for index in table.indexes if index.unique]
    return keys


# --- members ----------------------------------------------------------------------------------


def _later(old: ColumnElement[Any], new: ColumnElement[Any]) -> ColumnElement[Any]:
    """The later of two nullable times."""
    return case((new.is_(None), old), (old.is_(None), new), (new > old, new), else_=old)


def _last_change(status: ColumnElement[Any], joined_at: Any, left_at: Any) -> ColumnElement[Any]:
    """When a membership row's status was last set: its leave while out, else its join."""
    return case((status != "member", left_at), else_=joined_at)


def merge_membership(t: Table, ex: Any) -> dict[str, ColumnElement[Any]]:
    """SET clause merging an incoming membership row (`ex`) into a stored one (`t`).

    Seen times widen, message counts add, and the latest join or leave decides the status; on a
    tie (Telegram dates have one-second resolution) the incoming row wins, as it arrived later.
    `left_at` is set only while the member is out. Incoming rows carry only events new to the
    database (see `SqlMemberRepository.observe_many`), so a redelivery changes nothing.
    """
    incoming = _last_change(ex.status, ex.joined_at, ex.left_at)
    stored = _last_change(t.c.status, t.c.joined_at, t.c.left_at)
    takes_over = and_(incoming.is_not(None), or_(stored.is_(None), incoming >= stored))
    newer_join = and_(
        ex.joined_at.is_not(None), or_(t.c.joined_at.is_(None), ex.joined_at >= t.c.joined_at)
    )
    return {
        "first_seen_at": case(
            (ex.first_seen_at < t.c.first_seen_at, ex.first_seen_at), else_=t.c.first_seen_at
        ),
        "last_seen_at": case(
            (ex.last_seen_at > t.c.last_seen_at, ex.last_seen_at), else_=t.c.last_seen_at
        ),
        "message_count": t.c.message_count + ex.message_count,
        "joined_at": _later(t.c.joined_at, ex.joined_at),
        "status": case((takes_over, ex.status), else_=t.c.status),
        "left_at": case((takes_over, ex.left_at), else_=t.c.left_at),
        "invited_by_user_id": case(
            (newer_join, ex.invited_by_user_id), else_=t.c.invited_by_user_id
        ),
        "invite_link": case((newer_join, ex.invite_link), else_=t.c.invite_link),
    }


_MEMBERSHIP_KINDS = (EventKind.JOIN.value, EventKind.LEAVE.value, EventKind.KICK.value)


def _is_membership(kind: ColumnElement[Any]) -> ColumnElement[bool]:
    # ORs of plain binds: an IN list would be re-rendered on every execution (expanding).
    return or_(*(kind == value for value in _MEMBERSHIP_KINDS))


# Member columns in the order `_batch_members_select` produces them.
MEMBER_COLUMNS = (
    "chat_id",
    "user_id",
    "first_seen_at",
    "last_seen_at",
    "message_count",
    "joined_at",
    "left_at",
    "status",
    "invited_by_user_id",
    "invite_link",
)


def _batch_members_select() -> Select[Any]:
    """One membership row per (chat, user) folded from the events whose ids are bound as `ids`
    (sorted; `first_id` and `last_id` bound to the first and last).

    Equivalent, in SQL, to folding the events one by one: seen times span the batch, messages
    are counted, and the member's latest join, leave or kick decides status and `left_at`, their
    latest join `joined_at` and the inviter and link. "Latest" orders by time, then update id,
    then row id: Telegram dates have one-second resolution, and update ids rise in the order
    Telegram sends updates, so equal times follow arrival (row ids follow the sorted dedup keys
    `add_new` inserts, and only separate events of one update). `merge_membership` then merges
    each row into the stored one. Built once per process (see `upsert_from_select`).
    """
    e = events_table.c
    latest_first = (e.occurred_at.desc(), e.update_id.desc(), e.id.desc())
    member = (e.chat_id, e.user_id)
    # Rank 1 is the member's latest join/leave/kick (resp. join) in the batch, if they have one;
    # otherwise some other event, which the CASEs below ignore by checking the kind.
    ranked = (
        select(
            e.chat_id,
            e.user_id,
            e.kind,
            e.occurred_at,
            e.inviter_id,
            e.invite_link,
            func.row_number()
            .over(
                partition_by=member,
                order_by=(case((_is_membership(e.kind), 0), else_=1), *latest_first),
            )
            .label("change_rank"),
            func.row_number()
            .over(
                partition_by=member,
                order_by=(case((e.kind == EventKind.JOIN.value, 0), else_=1), *latest_first),
            )
            .label("join_rank"),
        )
        .where(
            e.id.in_(bindparam("ids", expanding=True)),
            # Redundant with the IN list, but lets PostgreSQL plan a primary-key range scan;
            # for a long IN list it may otherwise scan the whole table.
            e.id.between(bindparam("first_id"), bindparam("last_id")),
        )
        .subquery("batch")
    )
    b = ranked.c
    last_join = and_(b.join_rank == 1, b.kind == EventKind.JOIN.value)
    last_change = and_(b.change_rank == 1, _is_membership(b.kind))
    left = and_(last_change, b.kind == EventKind.LEAVE.value)
    kicked = and_(last_change, b.kind == EventKind.KICK.value)
    # Each max() below sees one non-NULL value at most: that of the rank-1 row.
    return (
        select(
            b.chat_id,
            b.user_id,
            func.min(b.occurred_at),
            func.max(b.occurred_at),
            func.count(case((b.kind == EventKind.MESSAGE.value, 1))),
            func.max(case((last_join, b.occurred_at))),
            func.max(case((or_(left, kicked), b.occurred_at))),
            func.coalesce(func.max(case((left, "left"), (kicked, "kicked"))), "member"),
            func.max(case((last_join, b.inviter_id))),
            func.max(case((last_join, b.invite_link))),
        )
        # Anonymous events (no user) make no membership. (The WHERE is needed anyway, see
        # `upsert_from_select`.)
        .where(b.user_id.is_not(None))
        .group_by(b.chat_id, b.user_id)
        # Rows are upserted, and so locked, in key order (see the note at the top).
        .order_by(b.chat_id, b.user_id)
    )


Profile = tuple[str, str | None, str | None, str | None, bool]


class ProfileCache:
    """Users' profiles as last committed, shared by the units of work of one factory.

    Most events come from members whose names have not changed; skipping their user upsert
    removes a third of the rows an ingest batch writes. Entries are published only after a
    commit, so a rolled-back write is never taken as stored.
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self._profiles: dict[int, Profile] = {}
        self._max = max_entries

    def unchanged(self, user_id: int, profile: Profile) -> bool:
        return self._profiles.get(user_id) == profile

    def publish(self, profiles: dict[int, Profile]) -> None:
        if len(self._profiles) + len(profiles) > self._max:
            self._profiles.clear()  # crude but bounded; the next batches re-fill it
        self._profiles.update(profiles)

    def forget(self, user_id: int) -> None:
        self._profiles.pop(user_id, None)


_USER_COLUMNS = (
    "user_id",
    "first_name",
    "last_name",
    "username",
    "language_code",
    "is_bot",
    "updated_at",
)


def profile_rows(
    events: Iterable[EngagementEvent], profiles: ProfileCache | None
) -> tuple[list[dict[str, Any]], dict[int, Profile]]:
    """The users rows to upsert for `events` (each actor's latest profile, in user order),
    leaving out profiles `profiles` holds as committed; and the profiles to publish once
    they are."""
    latest: dict[int, tuple[Actor, datetime]] = {}
    for event in events:
        actor = event.actor
        if actor is None:
            continue
        known = latest.get(actor.user_id)
        # The latest profile wins; a redelivered old batch cannot roll names back (`_not_older`).
        if known is None or event.occurred_at >= known[1]:
            latest[actor.user_id] = (actor, event.occurred_at)
    rows: list[dict[str, Any]] = []
    written: dict[int, Profile] = {}
    for user_id, (actor, seen_at) in sorted(latest.items()):
        profile: Profile = (
            actor.first_name,
            actor.last_name,
            actor.username,
            actor.language_code,
            actor.is_bot,
        )
        if profiles is None or not profiles.unchanged(user_id, profile):
            rows.append(dict(zip(_USER_COLUMNS, (user_id, *profile, seen_at), strict=True)))
            written[user_id] = profile
    return rows, written


def users_upsert(dialect: str) -> tuple[Any, tuple[str, ...]]:
    """Insert users or refresh their names (never with older data): the statement and the
    columns its rows give."""
    statement = upsert_statement(
        dialect,
        users_table,
        ("user_id",),
        ("first_name", "last_name", "username", "language_code", "is_bot", "updated_at"),
        None,
        _not_older,
    )
    return statement, _USER_COLUMNS


def members_fold_statement(dialect: str) -> Any:
    """The memberships fold (`_batch_members_select` merged into `members`), built once."""
    return built_from_select_statement(
        dialect,
        members_table,
        MEMBER_COLUMNS,
        _batch_members_select,
        ("chat_id", "user_id"),
        merge_membership,
    )


class SqlMemberRepository:
    """Users and their memberships, folded from engagement events in a few statements a batch."""

    def __init__(
        self,
        session: AsyncSession,
        ledger: IngestLedger | None = None,
        profiles: ProfileCache | None = None,
    ) -> None:
        self._session = session
        self._ledger = ledger if ledger is not None else IngestLedger()
        self._profiles = profiles
        self.written_profiles: dict[int, Profile] = {}
        self.erased_users: set[int] = set()  # the unit of work drops them from the cache

    async def observe_many(self, events: Sequence[EngagementEvent]) -> None:
        """Upsert users and memberships seen in `events`; call it after `EventRepository.add_new`.

        The event's actor is the member concerned (the one who joined, left or was kicked).
        Users get the latest names from every event. Memberships are folded, in one statement
        in the database, from the events `add_new` inserted earlier in this unit of work (see
        `IngestLedger`), and from no others: a redelivered batch changes nothing, and events
        observed before they are added make no membership.
        """
        rows, written = profile_rows(events, self._profiles)
        self.written_profiles.update(written)
        if rows:  # users first: memberships reference them
            statement, _ = users_upsert(self._session.get_bind().dialect.name)
            await self._session.execute(statement, rows)
        # One statement a batch; only a unit of work adding over IN_CHUNK events needs more
        # (a member's rows in two chunks then merge like two batches).
        fold = members_fold_statement(self._session.get_bind().dialect.name)
        for ids in chunks(self._ledger.take("members")):
            await self._session.execute(
                fold, {"ids": list(ids), "first_id": ids[0], "last_id": ids[-1]}
            )

    async def footprint(self, user_id: int) -> list[Footprint]:
        """What is stored about a person, group by group, oldest membership first."""
        e, m, g = events_table.c, members_table.c, groups_table.c
        counts = (
            select(
                e.chat_id,
                func.count().label("events"),
                func.count(case((e.kind == EventKind.MESSAGE.value, 1))).label("messages"),
                func.count(e.text).label("stored_texts"),
            )
            .where(e.user_id == user_id)
            .group_by(e.chat_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(
                m.chat_id,
                g.title,
                m.status,
                m.first_seen_at,
                m.last_seen_at,
                func.coalesce(counts.c.events, 0),
                func.coalesce(counts.c.messages, 0),
                func.coalesce(counts.c.stored_texts, 0),
            )
            .join(groups_table, g.chat_id == m.chat_id)
            .outerjoin(counts, counts.c.chat_id == m.chat_id)
            .where(m.user_id == user_id)
            .order_by(m.first_seen_at, m.chat_id)
        )
        return [Footprint(*row) for row in rows]

    async def erase(self, user_id: int) -> Erasure:
        """Delete a person's profile, memberships, events and rollup days; unlink them from
        others' events (each column read through its index, migration 0005)."""
        e, m = events_table.c, members_table.c
        for column in (e.reply_to_user_id, e.inviter_id):
            await self._session.execute(
                update(events_table).where(column == user_id).values({column.name: None})
            )
        await self._session.execute(
            update(members_table)
            .where(m.invited_by_user_id == user_id)
            .values(invited_by_user_id=None)
        )
        events = await self._session.execute(delete(events_table).where(e.user_id == user_id))
        await members_removed_from(
            self._session,
            groups_table.c.chat_id.in_(select(m.chat_id).where(m.user_id == user_id)),
        )
        groups = await self._session.execute(delete(members_table).where(m.user_id == user_id))
        await self._session.execute(delete(users_table).where(users_table.c.user_id == user_id))
        await erase_from_rollups(self._session, user_id)
        self.erased_users.add(user_id)
        return Erasure(
            groups=int(groups.rowcount),  # type: ignore[attr-defined]
            events=int(events.rowcount),  # type: ignore[attr-defined]
        )


# --- events -----------------------------------------------------------------------------------


# Enum `.value` is a property lookup; a batch reads it twice per row.
_KIND_VALUES = {kind: kind.value for kind in EventKind}
_MESSAGE_KIND_VALUES: dict[MessageKind | None, str | None] = {
    kind: kind.value for kind in MessageKind
}
_MESSAGE_KIND_VALUES[None] = None


# The columns `event_values` gives, in its order.
EVENT_COLUMNS = (
    "dedup_key",
    "update_id",
    "chat_id",
    "user_id",
    "kind",
    "occurred_at",
    "message_id",
    "message_kind",
    "text_length",
    "text",
    "reply_to_user_id",
    "reply_to_message_id",
    "thread_id",
    "has_link",
    "reaction",
    "reaction_count",
    "inviter_id",
    "invite_link",
    "sender_chat_id",
)


def event_values(event: EngagementEvent) -> tuple[Any, ...]:
    """An event's row, in `EVENT_COLUMNS` order."""
    actor = event.actor
    return (
        event.dedup_key,
        event.update_id,
        event.group.chat_id,
        actor.user_id if actor is not None else None,
        _KIND_VALUES[event.kind],
        event.occurred_at,
        event.message_id,
        _MESSAGE_KIND_VALUES[event.message_kind],
        event.text_length,
        event.text,
        event.reply_to_user_id,
        event.reply_to_message_id,
        event.thread_id,
        event.has_link,
        event.reaction,
        event.reaction_count,
        event.inviter_id,
        event.invite_link,
        event.sender_chat_id,
    )


def _event_row(event: EngagementEvent) -> dict[str, Any]:
    return dict(zip(EVENT_COLUMNS, event_values(event), strict=True))


class SqlEventRepository:
    """Engagement events: idempotent batched inserts and the queries reports need."""

    def __init__(self, session: AsyncSession, ledger: IngestLedger | None = None) -> None:
        self._session = session
        self._ledger = ledger if ledger is not None else IngestLedger()

    async def add_new(self, events: Sequence[EngagementEvent]) -> list[EngagementEvent]:
        """Insert events in one statement and return those that were new, in batch order."""
        unique: dict[str, EngagementEvent] = {}
        for event in events:
            unique.setdefault(event.dedup_key, event)
        inserted = await insert_ignore(
            self._session,
            events_table,
            [_event_row(unique[key]) for key in sorted(unique)],
            returning=["dedup_key", "id"],
        )
        new_keys = {key for key, _ in inserted}
        # The member repository folds exactly these rows into memberships.
        self._ledger.inserted_ids.extend(event_id for _, event_id in inserted)
        return [event for key, event in unique.items() if key in new_keys]

    async def recorded(self, dedup_keys: Sequence[str]) -> set[str]:
        """Which of these keys are already stored (a redelivery check)."""
        if not dedup_keys:
            return set()
        rows = await self._session.execute(
            select(events_table.c.dedup_key).where(events_table.c.dedup_key.in_(dedup_keys))
        )
        return set(rows.scalars())

    async def first_seen(self, update_id: int, seen_at: datetime) -> bool:
        """Note an update handled without an event; False if it was noted before."""
        inserted = await insert_ignore(
            self._session,
            seen_updates_table,
            [{"update_id": update_id, "seen_at": seen_at}],
            returning=["update_id"],
        )
        return bool(inserted)

    async def forget_seen_before(self, before: datetime) -> int:
        """Drop notes of updates Telegram can no longer send again."""
        result = await self._session.execute(
            delete(seen_updates_table).where(seen_updates_table.c.seen_at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def latest_update_id(self) -> int | None:
        """The highest update id stored: updates up to it may come again after a crash."""
        latest: int | None = await self._session.scalar(select(func.max(events_table.c.update_id)))
        return latest

    async def chats_with_text(self) -> list[int]:
        """Groups with any message text stored (read from the partial index of such rows)."""
        e = events_table.c
        rows = await self._session.scalars(
            select(e.chat_id).where(e.text.is_not(None)).distinct().order_by(e.chat_id)
        )
        return list(rows)

    async def purge_text_before(self, chat_id: int, before: datetime) -> int:
        """Forget stored message text older than `before`; return rows changed."""
        e = events_table.c
        result = await self._session.execute(
            update(events_table)
            .where(e.chat_id == chat_id, e.occurred_at < before, e.text.is_not(None))
            .values(text=None)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


# --- outbox -----------------------------------------------------------------------------------


def _outbox_item(row: RowMapping) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        dedup_key=row["dedup_key"],
        chat_id=row["chat_id"],
        method=row["method"],
        params=row["params"],
        priority=row["priority"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        failed_reason=row["failed_reason"],
        result_message_id=row["result_message_id"],
    )


class SqlOutboxRepository:
    """Durable outbound intents for delivery."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: int,
        created_at: datetime,
    ) -> OutboxItem:
        """Record an intent (or return the one already recorded under this key)."""
        await insert_ignore(
            self._session,
            outbox_table,
            [
                {
                    "dedup_key": dedup_key,
                    "chat_id": chat_id,
                    "method": method,
                    "params": params,
                    "priority": priority,
                    "created_at": created_at,
                }
            ],
        )
        row = (
            (
                await self._session.execute(
                    select(outbox_table).where(outbox_table.c.dedup_key == dedup_key)
                )
            )
            .mappings()
            .one()
        )
        return _outbox_item(row)

    async def pending(self, limit: int = 1000) -> list[OutboxItem]:
        """Intents neither sent nor failed, by priority, then in the order they were recorded."""
        o = outbox_table.c
        rows = (
            await self._session.execute(
                select(outbox_table)
                .where(o.sent_at.is_(None), o.failed_at.is_(None))
                .order_by(o.priority, o.id)
                .limit(limit)
            )
        ).mappings()
        return [_outbox_item(row) for row in rows]

    async def mark_sent(self, item_id: int, sent_at: datetime, message_id: int | None) -> None:
        await self._session.execute(
            update(outbox_table)
            .where(outbox_table.c.id == item_id)
            .values(
                sent_at=sent_at,
                result_message_id=message_id,
                attempts=outbox_table.c.attempts + 1,
            )
        )

    async def mark_failed(self, item_id: int, reason: str, failed_at: datetime) -> None:
        await self._session.execute(
            update(outbox_table)
            .where(outbox_table.c.id == item_id)
            .values(failed_at=failed_at, failed_reason=reason, attempts=outbox_table.c.attempts + 1)
        )


class SqlDecisionRepository:
    """Watcher decisions, written with their message's event and removed once applied."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, decisions: Sequence[tuple[str, Decision]], created_at: datetime
    ) -> list[StoredDecision]:
        """Store decisions (watcher name, decision) in one statement; return them with their
        ids, in the order they were made."""
        if not decisions:
            return []
        d = decisions_table.c
        rows = await self._session.execute(
            decisions_table.insert()
            .values(
                [
                    {
                        "chat_id": decision.chat_id,
                        "message_id": decision.message_id,
                        "watcher": watcher,
                        "action": decision.action,
                        "params": dict(decision.params),
                        "created_at": created_at,
                    }
                    for watcher, decision in decisions
                ]
            )
            .returning(d.id, d.watcher, d.action, d.chat_id, d.message_id, d.params)
        )
        stored = [
            StoredDecision(
                row.id, row.watcher, Decision(row.action, row.chat_id, row.message_id, row.params)
            )
            for row in rows
        ]
        return sorted(stored, key=lambda s: s.id)  # ids rise in insertion order

    async def pending(self, limit: int = 1000) -> list[StoredDecision]:
        """Decisions not yet applied, oldest first."""
        d = decisions_table.c
        rows = (
            await self._session.execute(select(decisions_table).order_by(d.id).limit(limit))
        ).mappings()
        return [
            StoredDecision(
                row["id"],
                row["watcher"],
                Decision(row["action"], row["chat_id"], row["message_id"], row["params"]),
            )
            for row in rows
        ]

    async def remove(self, ids: Sequence[int]) -> None:
        """Forget applied decisions."""
        if ids:
            await self._session.execute(
                delete(decisions_table).where(decisions_table.c.id.in_(list(ids)))
            )


# --- ops notices ------------------------------------------------------------------------------


class SqlOpsNoticeRepository:
    """What the ops chat has been told about each group."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def note(self, chat_id: int, topic: str, detail: str = "") -> bool:
        n = ops_notices_table.c
        told = await self._session.scalar(
            select(n.detail).where(n.chat_id == chat_id, n.topic == topic)
        )
        if told == detail:
            return False
        await upsert(
            self._session,
            ops_notices_table,
            [{"chat_id": chat_id, "topic": topic, "detail": detail}],
            index_elements=["chat_id", "topic"],
            update_columns=["detail"],
        )
        return True

    async def chats_with(self, topic: str) -> set[int]:
        n = ops_notices_table.c
        return set(await self._session.scalars(select(n.chat_id).where(n.topic == topic)))

    async def forget(self, chat_id: int, topic: str | None = None) -> None:
        n = ops_notices_table.c
        query = delete(ops_notices_table).where(n.chat_id == chat_id)
        if topic is not None:
            query = query.where(n.topic == topic)
        await self._session.execute(query)
