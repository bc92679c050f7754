"""Small in-memory fakes of the ports, for service tests (no mocks with recorded calls)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from bot.domain.analytics import (
    HourTotals,
    MemberDay,
    Membership,
    Response,
    ResponseTotals,
    TopMember,
    top_members,
)
from bot.domain.events import EngagementEvent, GroupRef
from bot.ports import (
    ChatAdmin,
    GroupSettings,
    OutboxItem,
)


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


@dataclass
class Database:
    """What the fake units of work share: the committed state."""

    groups: dict[int, GroupSettings] = field(default_factory=dict)
    events: dict[str, EngagementEvent] = field(default_factory=dict)
    outbox: MemoryOutbox = field(default_factory=lambda: MemoryOutbox())
    rollups: Rollups = field(default_factory=lambda: Rollups())
    commits: int = 0
    fail_next_commits: int = 0


class _Groups:
    def __init__(self, pending: Database) -> None:
        self._db = pending

    async def upsert_many(self, groups: Sequence[GroupRef], seen_at: datetime) -> None:
        for group in groups:
            known = self._db.groups.get(group.chat_id)
            self._db.groups[group.chat_id] = (
                replace(known, title=group.title)
                if known
                else GroupSettings(group.chat_id, group.title)
            )

    async def get(self, chat_id: int) -> GroupSettings | None:
        return self._db.groups.get(chat_id)

    async def chats_storing_text(self) -> set[int]:
        return {chat_id for chat_id, group in self._db.groups.items() if group.store_text}

    async def update_settings(self, settings: GroupSettings) -> None:
        self._db.groups[settings.chat_id] = settings


class _Members:
    """Memberships are not modelled: tests that count them run on a real database."""

    async def observe_many(self, events: Sequence[EngagementEvent]) -> None:
        return None


class _Events:
    def __init__(self, pending: Database) -> None:
        self._db = pending

    async def add_new(self, events: Sequence[EngagementEvent]) -> list[EngagementEvent]:
        new = []
        for event in events:
            if event.dedup_key not in self._db.events:
                self._db.events[event.dedup_key] = event
                new.append(event)
        return new

    async def latest_update_id(self) -> int | None:
        return max((e.update_id for e in self._db.events.values()), default=None)

    async def chats_with_text(self) -> list[int]:
        return sorted({e.group.chat_id for e in self._db.events.values() if e.text is not None})

    async def purge_text_before(self, chat_id: int, before: datetime) -> int:
        changed = 0
        for key, event in list(self._db.events.items()):
            if event.group.chat_id == chat_id and event.occurred_at < before and event.text:
                self._db.events[key] = replace(event, text=None)
                changed += 1
        return changed


class MemoryOutbox:
    """The committed outbox rows, shared by the fake units of work."""

    def __init__(self) -> None:
        self.rows: dict[str, OutboxItem] = {}
        self._ids = itertools.count(1)
        self.commits = 0
        self.slow_reads = 0  # event-loop turns `pending` takes between reading and answering

    def by_id(self, item_id: int) -> OutboxItem:
        return next(row for row in self.rows.values() if row.id == item_id)


class _OutboxRepository:
    """Stages its writes; the unit of work applies them on commit (repositories never commit)."""

    def __init__(self, store: MemoryOutbox) -> None:
        self._store = store
        self.staged: list[Callable[[], None]] = []
        self._added: dict[str, OutboxItem] = {}

    async def add(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: int,
        created_at: datetime,
    ) -> OutboxItem:
        existing = self._store.rows.get(dedup_key) or self._added.get(dedup_key)
        if existing is not None:
            return existing
        item = OutboxItem(
            next(self._store._ids), dedup_key, chat_id, method, dict(params), priority, created_at
        )
        self._added[dedup_key] = item
        self.staged.append(lambda: self._store.rows.setdefault(dedup_key, item))
        return item

    async def pending(self, limit: int = 1000) -> list[OutboxItem]:
        rows = [r for r in self._store.rows.values() if r.sent_at is None and not r.failed_reason]
        for _ in range(self._store.slow_reads):  # a database answers later than it read
            await asyncio.sleep(0)
        return sorted(rows, key=lambda r: r.id)[:limit]

    async def mark_sent(self, item_id: int, sent_at: datetime, message_id: int | None) -> None:
        def apply() -> None:
            row = self._store.by_id(item_id)
            self._store.rows[row.dedup_key] = replace(
                row, sent_at=sent_at, result_message_id=message_id
            )

        self.staged.append(apply)

    async def mark_failed(self, item_id: int, reason: str, failed_at: datetime) -> None:
        def apply() -> None:
            row = self._store.by_id(item_id)
            self._store.rows[row.dedup_key] = replace(row, failed_reason=reason)

        self.staged.append(apply)


@dataclass
class Rollups:
    """Rollup rows per chat, set by a test; `folded` is what the recorder handed over."""

    hours: dict[int, list[HourTotals]] = field(default_factory=dict)
    days: dict[int, list[MemberDay]] = field(default_factory=dict)
    responses: dict[int, list[Response]] = field(default_factory=dict)
    memberships: dict[int, list[Membership]] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    folded: list[EngagementEvent] = field(default_factory=list)


class _Rollups:
    """Not transactional: a test sets rows directly and reads `folded`."""

    def __init__(self, data: Rollups) -> None:
        self._data = data

    async def add(self, new_events: Sequence[EngagementEvent]) -> None:
        self._data.folded.extend(new_events)

    async def hour_totals(self, chat_id: int, since: datetime, until: datetime) -> list[HourTotals]:
        return [h for h in self._data.hours.get(chat_id, []) if since <= h.hour < until]

    async def member_days(self, chat_id: int, since: date, until: date) -> list[MemberDay]:
        return [d for d in self._data.days.get(chat_id, []) if since <= d.day <= until]

    async def responses(self, chat_id: int, since: datetime, until: datetime) -> list[Response]:
        return [r for r in self._data.responses.get(chat_id, []) if since <= r.posted_at < until]

    async def response_totals(
        self, chat_id: int, since: datetime, until: datetime, *, median: bool = True
    ) -> ResponseTotals:
        totals = ResponseTotals.of(await self.responses(chat_id, since, until))
        return totals if median else replace(totals, median_first_reply=None)

    async def reply_waits(self, chat_id: int, since: datetime, until: datetime) -> list[float]:
        return [
            (r.first_reply_at - r.posted_at).total_seconds()
            for r in await self.responses(chat_id, since, until)
            if r.first_reply_at is not None
        ]

    async def members_removed(self, chat_id: int) -> int:
        # Changes with any change of the memberships (the database counts only removals):
        # tests take members out by editing `memberships`.
        return hash(frozenset(m.user_id for m in self._data.memberships.get(chat_id, [])))

    async def first_seen_between(self, chat_id: int, since: datetime, until: datetime) -> set[int]:
        return {
            m.user_id
            for m in self._data.memberships.get(chat_id, [])
            if since <= m.first_seen_at < until
        }

    async def invitations(self, chat_id: int, since: datetime) -> dict[int, int]:
        invited: dict[int, int] = {}
        for m in self._data.memberships.get(chat_id, []):
            if m.invited_by_user_id is not None and m.joined_at and m.joined_at >= since:
                invited[m.invited_by_user_id] = invited.get(m.invited_by_user_id, 0) + 1
        return invited

    async def joins_since(
        self, chat_id: int, sinces: Sequence[datetime], until: datetime
    ) -> list[int]:
        joins = [m.joined_at for m in self._data.memberships.get(chat_id, []) if m.joined_at]
        return [sum(1 for at in joins if since <= at < until) for since in sinces]

    async def joined_since(self, chat_id: int, since: datetime) -> list[Membership]:
        return [
            m
            for m in self._data.memberships.get(chat_id, [])
            if (m.joined_at or m.first_seen_at) >= since
        ]

    async def member_totals(
        self, chat_id: int, since: date, until: date, top: int | None = None
    ) -> list[TopMember]:
        totals: dict[int, list[int]] = {}
        for d in await self.member_days(chat_id, since, until):
            counts = totals.setdefault(d.user_id, [0, 0, 0])
            counts[0] += d.messages
            counts[1] += d.replies_received
            counts[2] += d.reactions_received
        found = [TopMember(user, *counts) for user, counts in totals.items()]
        return found if top is None else top_members(found, top)

    async def memberships(self, chat_id: int) -> list[Membership]:
        return list(self._data.memberships.get(chat_id, []))

    async def names(self, user_ids: Sequence[int]) -> dict[int, str]:
        return {u: self._data.names[u] for u in user_ids if u in self._data.names}


class _Staged(dict[Any, Any]):
    """A unit of work's view of a committed table. Commit applies the rows it wrote, not the
    whole view, so units of work that write different rows all keep theirs, as in a database."""

    def __init__(self, committed: dict[Any, Any]) -> None:
        super().__init__(committed)
        self._written: set[Any] = set()

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._written.add(key)

    def publish(self, committed: dict[Any, Any]) -> None:
        for key in self._written:
            committed[key] = self[key]


class FakeUnitOfWork:
    """Works on a view of the database (the outbox stages its writes); commit publishes them."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending = Database(groups=_Staged(db.groups), events=_Staged(db.events))
        self.groups = _Groups(self._pending)
        self.members = _Members()
        self.events = _Events(self._pending)
        self.outbox = _OutboxRepository(db.outbox)
        self.rollups = _Rollups(db.rollups)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def commit(self) -> None:
        if self._db.fail_next_commits:
            self._db.fail_next_commits -= 1
            raise ConnectionError("database went away")
        for staged, committed in (
            (self._pending.groups, self._db.groups),
            (self._pending.events, self._db.events),
        ):
            assert isinstance(staged, _Staged)
            staged.publish(committed)
        for apply in self.outbox.staged:
            apply()
        self.outbox.staged.clear()
        self._db.outbox.commits += 1
        self._db.commits += 1


class FakeUnitOfWorkFactory:
    def __init__(self, db: Database | None = None, store: MemoryOutbox | None = None) -> None:
        self.db = db or Database(outbox=store or MemoryOutbox())

    @property
    def store(self) -> MemoryOutbox:
        """The committed outbox rows."""
        return self.db.outbox

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db)


class FakeGateway:
    """A chat gateway that answers admin lookups from a table and counts them."""

    def __init__(self, admins: dict[int, list[ChatAdmin]] | None = None) -> None:
        self.admins = admins or {}
        self.admin_lookups = 0

    async def get_chat_administrators(self, chat_id: int) -> list[ChatAdmin]:
        self.admin_lookups += 1
        return list(self.admins.get(chat_id, []))
