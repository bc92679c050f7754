"""The analytics rollups: folded at ingest from the events a batch inserted, read by reports.

Reports read `activity_hours`, `member_days` and `responses`, never the events (a year of a
large group is millions of rows). The fold runs in the recorder's unit of work on the events
`EventRepository.add_new` returned, so a redelivered batch, which inserts nothing, changes no
rollup; erasure takes the person out of the per-member rows and leaves group totals whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.analytics import (
    HourTotals,
    MemberDay,
    Membership,
    Response,
    ResponseTotals,
    TopMember,
)
from bot.domain.events import EngagementEvent, EventKind
from bot.ports import WindowStats
from storage.ledger import IngestLedger, chunks
from storage.models import (
    activity_hours_table,
    events_table,
    groups_table,
    member_days_table,
    members_table,
    responses_table,
    users_table,
)
from storage.upsert import (
    built_from_select_statement,
    median_interval,
    seconds_between,
    upsert_from_select,
    utc_date,
    utc_hour,
    utc_hour_of_day,
)

# Posting, editing and reacting make a member active (the same kinds as /stats).
_ACTIVE = frozenset({EventKind.MESSAGE, EventKind.EDIT, EventKind.REACTION_ADDED})
_HOUR_COUNTERS = ("messages", "replies", "reactions", "joins", "leaves")
_DAY_COUNTERS = (
    "messages",
    "replies",
    "reactions",
    "replies_received",
    "reactions_received",
)
_ALL_HOURS = (1 << 24) - 1
_CHUNK = 1000  # keeps IN (…) lists under both databases' bound-parameter limits


def _add_counters(names: Sequence[str]) -> Any:
    def merge(t: Table, ex: Any) -> dict[str, ColumnElement[Any]]:
        return {name: t.c[name] + ex[name] for name in names}

    return merge


_merge_hour = _add_counters(_HOUR_COUNTERS)
_add_day_counters = _add_counters(_DAY_COUNTERS)


def _merge_day(t: Table, ex: Any) -> dict[str, ColumnElement[Any]]:
    return {**_add_day_counters(t, ex), "active_hours": t.c.active_hours.op("|")(ex.active_hours)}


def _merge_response(t: Table, ex: Any) -> dict[str, ColumnElement[Any]]:
    stored, incoming = t.c.first_reply_at, ex.first_reply_at
    return {
        "replies": t.c.replies + ex.replies,
        "reactions": t.c.reactions + ex.reactions,
        "first_reply_at": case(
            (incoming.is_(None), stored),
            (stored.is_(None), incoming),
            (incoming < stored, incoming),
            else_=stored,
        ),
    }


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class SqlRollupRepository:
    """Folds new events into the rollups and reads them back for reports."""

    def __init__(self, session: AsyncSession, ledger: IngestLedger | None = None) -> None:
        self._session = session
        self._ledger = ledger if ledger is not None else IngestLedger()

    async def add(self, new_events: Sequence[EngagementEvent]) -> None:
        """Fold the events `EventRepository.add_new` inserted in this unit of work (the
        `new_events` it returned) into the rollups, in SQL from their stored rows."""
        for ids in chunks(self._ledger.take("rollups")):
            await fold(self._session, ids)

    async def hour_totals(self, chat_id: int, since: datetime, until: datetime) -> list[HourTotals]:
        """The group's hours in [since, until), oldest first (hours with nothing are absent)."""
        h = activity_hours_table.c
        rows = await self._session.execute(
            select(h.hour, *(h[name] for name in _HOUR_COUNTERS))
            .where(h.chat_id == chat_id, h.hour >= _hour_of(since), h.hour < until)
            .order_by(h.hour)
        )
        return [HourTotals(*row) for row in rows.all()]

    async def member_days(self, chat_id: int, since: date, until: date) -> list[MemberDay]:
        """Members' UTC days in [since, until], by day then member."""
        d = member_days_table.c
        rows = await self._session.execute(
            select(d.user_id, d.day, d.active_hours, *(d[name] for name in _DAY_COUNTERS))
            .where(d.chat_id == chat_id, d.day >= since, d.day <= until)
            .order_by(d.day, d.user_id)
        )
        # `all()` fetches in one call; iterating the result fetches row by row through the
        # async adapter, which cost more than building the rows.
        return list(map(MemberDay._make, rows.all()))

    async def responses(self, chat_id: int, since: datetime, until: datetime) -> list[Response]:
        """Messages posted in [since, until) that got a response, oldest first."""
        r = responses_table.c
        rows = await self._session.execute(
            select(r.message_id, r.posted_at, r.first_reply_at, r.replies, r.reactions)
            .where(r.chat_id == chat_id, r.posted_at >= since, r.posted_at < until)
            .order_by(r.posted_at, r.message_id)
        )
        return [Response(*row) for row in rows.all()]

    async def window_stats(self, chat_id: int, since: datetime, until: datetime) -> WindowStats:
        """Messages, active members and members who joined in [since, until), from the
        rollups: the group's hours, its member-days (a day at either end counts a member only
        for their active hours inside the window) and the memberships' latest joins."""
        if since >= until:
            return WindowStats(messages=0, active_members=0, new_members=0)
        h, d = activity_hours_table.c, member_days_table.c
        first, last = since.date(), (until - timedelta(microseconds=1)).date()
        first_hours = _ALL_HOURS & ~((1 << since.hour) - 1)
        last_hours = (2 << (until - timedelta(microseconds=1)).hour) - 1
        if first == last:
            edges = d.active_hours.op("&")(first_hours & last_hours) != 0
        else:
            edges = or_(
                and_(d.day > first, d.day < last),
                and_(d.day == first, d.active_hours.op("&")(first_hours) != 0),
                and_(d.day == last, d.active_hours.op("&")(last_hours) != 0),
            )
        messages = await self._session.scalar(
            select(func.coalesce(func.sum(h.messages), 0)).where(
                h.chat_id == chat_id, h.hour >= _hour_of(since), h.hour < until
            )
        )
        active = await self._session.scalar(
            select(func.count(func.distinct(d.user_id))).where(
                d.chat_id == chat_id, d.day >= first, d.day <= last, edges
            )
        )
        (joined,) = await self.joins_since(chat_id, [since], until)
        return WindowStats(messages=messages or 0, active_members=active or 0, new_members=joined)

    async def response_totals(
        self, chat_id: int, since: datetime, until: datetime, *, median: bool = True
    ) -> ResponseTotals:
        """What messages posted in [since, until) got, summed in the database (a window of a
        large group answers hundreds of thousands of messages); without `median`, no median
        wait (it is a sort)."""
        r = responses_table.c
        window = [r.chat_id == chat_id, r.posted_at >= since, r.posted_at < until]
        answered, replies, reactions, replied = (
            await self._session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(r.replies), 0),
                    func.coalesce(func.sum(r.reactions), 0),
                    func.count(r.first_reply_at),
                ).where(*window)
            )
        ).one()
        return ResponseTotals(
            answered=answered,
            replies=replies,
            reactions=reactions,
            median_first_reply=await median_interval(
                self._session, r.posted_at, r.first_reply_at, window, replied
            )
            if replied and median
            else None,
        )

    async def reply_waits(self, chat_id: int, since: datetime, until: datetime) -> list[float]:
        """The wait for the first reply, in seconds, of each message posted in [since, until)
        that got one (worked out in the database, exact to the microsecond)."""
        r = responses_table.c
        rows = await self._session.scalars(
            select(seconds_between(r.posted_at, r.first_reply_at)).where(
                r.chat_id == chat_id,
                r.posted_at >= since,
                r.posted_at < until,
                r.first_reply_at.is_not(None),
            )
        )
        return list(rows.all())

    async def members_removed(self, chat_id: int) -> int:
        """How many times memberships of the group were deleted (see `members_removed_from`)."""
        removed = await self._session.scalar(
            select(groups_table.c.members_removed).where(groups_table.c.chat_id == chat_id)
        )
        return removed or 0

    async def first_seen_between(self, chat_id: int, since: datetime, until: datetime) -> set[int]:
        """The members first seen in [since, until) (their ids only: a time is costly to
        read back, and a window of a large group holds tens of thousands)."""
        m = members_table.c
        rows = await self._session.scalars(
            select(m.user_id).where(
                m.chat_id == chat_id, m.first_seen_at >= since, m.first_seen_at < until
            )
        )
        return set(rows.all())

    async def invitations(self, chat_id: int, since: datetime) -> dict[int, int]:
        """How many members each inviter brought in whose latest join is at or after `since`,
        counted in the database."""
        m = members_table.c
        rows = await self._session.execute(
            select(m.invited_by_user_id, func.count())
            .where(
                m.chat_id == chat_id,
                m.invited_by_user_id.is_not(None),
                m.joined_at >= since,
            )
            .group_by(m.invited_by_user_id)
        )
        return {inviter: count for inviter, count in rows}

    async def joins_since(
        self, chat_id: int, sinces: Sequence[datetime], until: datetime
    ) -> list[int]:
        """For each of `sinces`, how many members' latest join is in [since, until), counted in
        one pass (a month of a large group's joins is thousands of rows, not worth reading)."""
        if not sinces:
            return []
        m = members_table.c
        row = (
            await self._session.execute(
                select(*(func.count(case((m.joined_at >= since, 1))) for since in sinces)).where(
                    m.chat_id == chat_id, m.joined_at >= min(sinces), m.joined_at < until
                )
            )
        ).one()
        return list(row)

    async def joined_since(self, chat_id: int, since: datetime) -> list[Membership]:
        """The memberships whose latest join (or, with none, first sighting) is at or after
        `since`: the cohorts of a retention table."""
        m = members_table.c
        rows = await self._session.execute(
            select(m.user_id, m.first_seen_at, m.joined_at, m.invited_by_user_id)
            .where(
                m.chat_id == chat_id,
                # coalesce(joined_at, first_seen_at) >= since, in a form both indexes serve
                or_(m.joined_at >= since, and_(m.joined_at.is_(None), m.first_seen_at >= since)),
            )
            .order_by(m.user_id)
        )
        return [Membership(*row) for row in rows.all()]

    async def member_totals(
        self, chat_id: int, since: date, until: date, top: int | None = None
    ) -> list[TopMember]:
        """Each member's messages and responses received over the UTC days [since, until],
        summed in the database (one row a member, not one a member-day); with `top`, only the
        first `top` of `top_members`' ranking, ranked there too."""
        d = member_days_table.c
        messages = func.sum(d.messages)
        replies, reactions = func.sum(d.replies_received), func.sum(d.reactions_received)
        query = (
            select(d.user_id, messages, replies, reactions)
            .where(d.chat_id == chat_id, d.day >= since, d.day <= until)
            .group_by(d.user_id)
        )
        if top is not None:
            query = (
                query.having(messages > 0)
                .order_by(messages.desc(), (replies + reactions).desc(), d.user_id)
                .limit(top)
            )
        rows = await self._session.execute(query)
        return [TopMember(*row) for row in rows.all()]

    async def memberships(self, chat_id: int) -> list[Membership]:
        """Every membership of the group (cohorts, new and returning members, invitations)."""
        m = members_table.c
        rows = await self._session.execute(
            select(m.user_id, m.first_seen_at, m.joined_at, m.invited_by_user_id)
            .where(m.chat_id == chat_id)
            .order_by(m.user_id)
        )
        return [Membership(*row) for row in rows.all()]

    async def names(self, user_ids: Sequence[int]) -> dict[int, str]:
        """How to call these people: their name (and @username when they have one)."""
        u = users_table.c
        found: dict[int, str] = {}
        ids = sorted(set(user_ids))
        for start in range(0, len(ids), _CHUNK):
            rows = await self._session.execute(
                select(u.user_id, u.first_name, u.last_name, u.username).where(
                    u.user_id.in_(ids[start : start + _CHUNK])
                )
            )
            for user_id, first, last, username in rows:
                name = f"{first} {last}" if last else first
                found[user_id] = f"{name} (@{username})" if username else name
        return found


# --- the fold: one INSERT … SELECT … ON CONFLICT per rollup, over the batch's stored rows ------
# The database aggregates and merges; the event loop only binds the ids. (Folding in Python
# cost the event loop a fifth of its time at ingest, and SQLite runs SQL without the GIL.)

_MESSAGE, _REACTION = EventKind.MESSAGE.value, EventKind.REACTION_ADDED.value
_ACTIVE_VALUES = tuple(kind.value for kind in _ACTIVE)


def _batch() -> Subquery:
    """The events whose ids are bound as `ids` (`first_id` and `last_id` the first and last),
    with the message each responds to: the one it replies to, or the one reacted to."""
    e = events_table.c
    return (
        select(
            e.chat_id,
            e.user_id,
            e.kind,
            e.occurred_at,
            case(
                (e.kind == _MESSAGE, e.reply_to_message_id),
                (e.kind == _REACTION, e.message_id),
            ).label("target"),
        )
        .where(
            e.id.in_(bindparam("ids", expanding=True)),
            e.id.between(bindparam("first_id"), bindparam("last_id")),  # see members' fold
        )
        .subquery("batch")
    )


def _answered(batch: Subquery) -> Subquery:
    """The batch's replies and reactions to a stored message (this batch's included) by
    someone other than its author, with that message's author and time. A response to a
    message recorded before the bot joined has none, and credits no one."""
    b = batch.c
    original = events_table.alias("original")
    o = original.c
    # `EngagementEvent.message_key` in SQL (the fold test holds the two to each other).
    key = literal("m:") + cast(b.chat_id, String) + ":" + cast(b.target, String)
    return (
        select(
            b.chat_id,
            b.target,
            b.kind,
            b.occurred_at,
            o.user_id.label("author_id"),
            o.occurred_at.label("posted_at"),
        )
        .select_from(batch.join(original, o.dedup_key == key))  # the dedup key's index
        .where(b.user_id.is_not(None), o.user_id.is_distinct_from(b.user_id))
        .subquery("answered")
    )


def _hours_select() -> Select[Any]:
    b = _batch().c
    message = b.kind == _MESSAGE
    hour = utc_hour(b.occurred_at)
    return (
        select(
            b.chat_id,
            hour,
            func.count(case((message, 1))),
            func.count(case((and_(message, b.target.is_not(None)), 1))),
            func.count(case((b.kind == _REACTION, 1))),
            func.count(case((b.kind == EventKind.JOIN.value, 1))),
            func.count(case((b.kind.in_((EventKind.LEAVE.value, EventKind.KICK.value)), 1))),
        )
        .where(b.chat_id.is_not(None))  # always true; see `upsert_from_select`
        .group_by(b.chat_id, hour)
        .order_by(b.chat_id, hour)  # rows are locked in key order (see repositories)
    )


def _days_select() -> Select[Any]:
    """Members' own activity, and what their messages received, per UTC day: one row each."""
    batch = _batch()
    b = batch.c
    a = _answered(batch).c
    message = b.kind == _MESSAGE
    own = select(
        b.chat_id,
        utc_date(b.occurred_at).label("day"),
        b.user_id,
        # A power of two per UTC hour; summing the distinct ones ORs them.
        literal(1).op("<<")(utc_hour_of_day(b.occurred_at)).label("hour_bit"),
        case((message, 1), else_=0).label("messages"),
        case((and_(message, b.target.is_not(None)), 1), else_=0).label("replies"),
        case((b.kind == _REACTION, 1), else_=0).label("reactions"),
        literal(0).label("replies_received"),
        literal(0).label("reactions_received"),
    ).where(b.user_id.is_not(None), b.kind.in_(_ACTIVE_VALUES))
    received = select(
        a.chat_id,
        utc_date(a.occurred_at),
        a.author_id,
        literal(0),
        literal(0),
        literal(0),
        literal(0),
        case((a.kind == _MESSAGE, 1), else_=0),
        case((a.kind == _REACTION, 1), else_=0),
    ).where(a.author_id.is_not(None))
    rows = union_all(own, received).subquery("day_rows")
    r = rows.c
    return (
        select(
            r.chat_id,
            r.day,
            r.user_id,
            func.sum(r.hour_bit.distinct()),
            *(func.sum(r[name]) for name in _DAY_COUNTERS),
        )
        .where(r.chat_id.is_not(None))
        .group_by(r.chat_id, r.day, r.user_id)
        .order_by(r.chat_id, r.day, r.user_id)
    )


def _responses_select() -> Select[Any]:
    a = _answered(_batch()).c
    reply = a.kind == _MESSAGE
    return (
        select(
            a.chat_id,
            a.target,
            a.author_id,
            a.posted_at,
            func.min(case((reply, a.occurred_at))),
            func.count(case((reply, 1))),
            func.count(case((a.kind == _REACTION, 1))),
        )
        .where(a.chat_id.is_not(None))
        .group_by(a.chat_id, a.target, a.author_id, a.posted_at)
        .order_by(a.chat_id, a.target)
    )


_FOLDS = (
    (activity_hours_table, ("chat_id", "hour", *_HOUR_COUNTERS), _hours_select, _merge_hour),
    (
        member_days_table,
        ("chat_id", "day", "user_id", "active_hours", *_DAY_COUNTERS),
        _days_select,
        _merge_day,
    ),
    (
        responses_table,
        (
            "chat_id",
            "message_id",
            "author_id",
            "posted_at",
            "first_reply_at",
            "replies",
            "reactions",
        ),
        _responses_select,
        _merge_response,
    ),
)


async def fold(session: AsyncSession, ids: Sequence[int]) -> None:
    """Add the stored events `ids` (sorted; each folded once: the caller sees to that) to the
    rollups.

    Replies and reactions are credited to the author of the message they answer, looked up
    among stored messages (this batch's included); a response to a message recorded before
    the bot joined, or to oneself, counts for the group but credits no one.
    """
    if not ids:
        return
    params = {"ids": list(ids), "first_id": ids[0], "last_id": ids[-1]}
    for statement in fold_statements(session.get_bind().dialect.name):
        await session.execute(statement, params)


@cache
def fold_statements(dialect: str) -> tuple[Any, ...]:
    """The rollup folds, as statements built once per dialect: each binds `ids` (an expanding
    list), `first_id` and `last_id` (the first and last of them). `fold` and the SQLite ingest
    store run them."""
    return tuple(
        built_from_select_statement(
            dialect,
            table,
            tuple(columns),
            build,
            tuple(column.name for column in table.primary_key.columns),
            merge,
        )
        for table, columns, build, merge in _FOLDS
    )


async def members_removed_from(session: AsyncSession, groups: ColumnElement[bool]) -> None:
    """Count a removal of memberships from these groups (`groups.members_removed`): reports
    read again what they keep of them. Call it before deleting, in the same transaction."""
    g = groups_table.c
    await session.execute(
        update(groups_table).where(groups).values(members_removed=g.members_removed + 1)
    )


async def erase_from_rollups(session: AsyncSession, user_id: int) -> None:
    """Take a person out of the rollups: their days go, their messages' responses stay
    anonymous (group totals and others' received counts are unchanged)."""
    await session.execute(delete(member_days_table).where(member_days_table.c.user_id == user_id))
    await session.execute(
        update(responses_table).where(responses_table.c.author_id == user_id).values(author_id=None)
    )


_ROLLUPS = (
    (activity_hours_table, ("chat_id", "hour"), _merge_hour),
    (member_days_table, ("chat_id", "day", "user_id"), _merge_day),
    (responses_table, ("chat_id", "message_id"), _merge_response),
)
ROLLUP_TABLES = frozenset(table.name for table, _, _ in _ROLLUPS)


async def move_rollups(session: AsyncSession, old_chat_id: int, new_chat_id: int) -> None:
    """Carry a group's rollups to its supergroup id, merging rows the new id already has
    (updates may arrive under both ids around the move). The new group row must exist."""
    for table, key, merge in _ROLLUPS:
        columns = [c.name for c in table.c]
        moved = select(
            *(
                literal(new_chat_id, table.c.chat_id.type).label("chat_id")
                if name == "chat_id"
                else table.c[name]
                for name in columns
            )
        ).where(table.c.chat_id == old_chat_id)
        await upsert_from_select(
            session, table, columns, moved, index_elements=list(key), update=merge
        )
        await session.execute(delete(table).where(table.c.chat_id == old_chat_id))


async def rebuild_rollups(session: AsyncSession, chunk: int = 20_000) -> int:
    """Fold every stored event into empty rollups again, by the fold the recorder uses; return
    how many events were read. For history recorded before the rollups existed (migration
    0005), or a benchmark's bulk-loaded events. Run it with the bot stopped: a batch the bot
    folds meanwhile would be counted twice."""
    for table, _, _ in _ROLLUPS:
        await session.execute(delete(table))
    e = events_table.c
    after, read = 0, 0
    while True:
        ids = list(
            await session.scalars(select(e.id).where(e.id > after).order_by(e.id).limit(chunk))
        )
        if not ids:
            return read
        for part in chunks(ids):
            await fold(session, part)
        after, read = ids[-1], read + len(ids)
