"""Moderation's storage on SQLite and PostgreSQL: settings, warnings that count and expire,
clearing, the log, names and message ids from the recorded events, joins for the welcome, and
what /forgetme leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.domain.moderation import (
    LockKind,
    LogEntry,
    ModAction,
    ModerationSettings,
    Person,
    WarnPolicy,
    WarnPunishment,
)
from storage.models import mod_log_table, warnings_table
from storage.uow import SqlUnitOfWorkFactory

CHAT, OTHER = -1001, -1002
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ANN = Actor(5, "Ann", "Lee", "ann")
MAX = Actor(6, "Max")
OLGA = Person(1, "Olga (@olga)")


def _event(
    n: int, kind: EventKind, actor: Actor, at: datetime, chat: int = CHAT
) -> EngagementEvent:
    message = kind in (EventKind.MESSAGE, EventKind.COMMAND)
    return EngagementEvent(
        dedup_key=EngagementEvent.message_key(chat, n)
        if message
        else EngagementEvent.update_key(n),
        update_id=n,
        kind=kind,
        group=GroupRef(chat, "Makers", "supergroup"),
        occurred_at=at,
        actor=actor,
        message_id=n if message else None,
        message_kind=MessageKind.TEXT if message else None,
    )


async def _record(uow_factory: SqlUnitOfWorkFactory, events: list[EngagementEvent]) -> None:
    async with uow_factory() as uow:
        await uow.groups.upsert_many([e.group for e in events], NOW)
        new = await uow.events.add_new(events)
        await uow.members.observe_many(new)
        await uow.commit()


async def test_settings_round_trip_and_defaults(uow_factory: SqlUnitOfWorkFactory) -> None:
    wanted = ModerationSettings(
        CHAT,
        WarnPolicy(2, WarnPunishment.BAN, 3600, 7),
        rules="Be kind",
        welcome="Hi {names}",
        locks=frozenset({LockKind.LINKS, LockKind.STICKERS}),
    )
    async with uow_factory() as uow:
        assert await uow.moderation.settings(CHAT) == ModerationSettings(CHAT)
        await uow.moderation.save_settings(wanted)
        await uow.moderation.save_settings(ModerationSettings(OTHER))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.moderation.settings(CHAT) == wanted
        assert await uow.moderation.all_locks() == {CHAT: wanted.locks}
        assert await uow.moderation.welcome_chats() == {CHAT: 0}


async def test_warnings_count_until_they_expire_or_are_cleared(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        for days_ago, reason in ((31, "old"), (10, "spam"), (2, "rude"), (1, "again")):
            await uow.moderation.add_warning(CHAT, 5, reason, OLGA, NOW - timedelta(days=days_ago))
        await uow.moderation.add_warning(OTHER, 5, "elsewhere", OLGA, NOW)
        await uow.moderation.add_warning(CHAT, 6, "someone else", OLGA, NOW)
        await uow.commit()
    since = NOW - timedelta(days=30)
    async with uow_factory() as uow:
        found = await uow.moderation.warnings(CHAT, 5, since)
        assert [w.reason for w in found] == ["spam", "rude", "again"]
        assert found[0].given_by == "Olga (@olga)"
        assert await uow.moderation.clear_warnings(CHAT, 5, since, NOW, latest_only=True) == 1
        await uow.commit()
    async with uow_factory() as uow:
        assert [w.reason for w in await uow.moderation.warnings(CHAT, 5, since)] == ["spam", "rude"]
        assert await uow.moderation.clear_warnings(CHAT, 5, since, NOW, latest_only=False) == 2
        assert await uow.moderation.warnings(CHAT, 5, since) == []
        assert len(await uow.moderation.warnings(OTHER, 5, since)) == 1
        assert len(await uow.moderation.warnings(CHAT, 6, since)) == 1


async def test_the_log_newest_first_and_per_member(uow_factory: SqlUnitOfWorkFactory) -> None:
    ann = Person(5, "Ann Lee (@ann)")
    entries = [
        LogEntry(CHAT, OLGA, ModAction.WARN, NOW - timedelta(hours=2), ann, "spam", count=1),
        LogEntry(
            CHAT, OLGA, ModAction.MUTE, NOW - timedelta(hours=1), ann, "", NOW + timedelta(days=1)
        ),
        LogEntry(CHAT, Person(None, "Makers"), ModAction.LOCK, NOW, None, "links"),
        LogEntry(OTHER, OLGA, ModAction.BAN, NOW, ann),
    ]
    async with uow_factory() as uow:
        for entry in entries:
            await uow.moderation.log(entry)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.moderation.entries(CHAT, None, 10) == entries[2::-1]
        assert await uow.moderation.entries(CHAT, 5, 10) == entries[1::-1]
        assert await uow.moderation.entries(CHAT, None, 1) == [entries[2]]


async def test_names_message_ids_and_joins_come_from_what_was_recorded(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _record(
        uow_factory,
        [
            _event(1, EventKind.JOIN, ANN, NOW - timedelta(days=3)),
            _event(2, EventKind.MESSAGE, ANN, NOW - timedelta(days=3)),  # older than 48 hours
            _event(3, EventKind.MESSAGE, ANN, NOW - timedelta(hours=1)),
            _event(4, EventKind.COMMAND, ANN, NOW - timedelta(minutes=5)),
            _event(5, EventKind.MESSAGE, MAX, NOW),
            _event(6, EventKind.JOIN, MAX, NOW),
            _event(7, EventKind.MESSAGE, ANN, NOW, chat=OTHER),
        ],
    )
    async with uow_factory() as uow:
        assert await uow.moderation.member_named(CHAT, "ANN") == Person(5, "Ann Lee (@ann)")
        assert await uow.moderation.member_named(CHAT, "nobody") is None
        assert await uow.moderation.person(6) == Person(6, "Max")
        assert await uow.moderation.person(99) is None
        since = NOW - timedelta(hours=48)
        assert await uow.moderation.message_ids(CHAT, 5, since) == [3, 4]
        joins = await uow.moderation.joins_after(CHAT, 0, 10)
        assert [(j.user_id, j.name) for j in joins] == [(5, "Ann"), (6, "Max")]
        later = await uow.moderation.joins_after(CHAT, joins[0].event_id, 10)
        assert [j.user_id for j in later] == [6]
        last = await uow.moderation.last_event_id()
        assert last >= joins[-1].event_id
        await uow.moderation.save_settings(ModerationSettings(CHAT, welcome="Hi"))
        await uow.moderation.welcomed(CHAT, joins[0].event_id)
        await uow.moderation.welcomed(CHAT, 0)  # never backwards
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.moderation.welcome_chats() == {CHAT: joins[0].event_id}


async def test_erasure_forgets_names_and_keeps_what_moderation_needs(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    ann = Person(5, "Ann Lee (@ann)")
    async with uow_factory() as uow:
        await uow.moderation.add_warning(CHAT, 5, "spam", OLGA, NOW)
        await uow.moderation.add_warning(CHAT, 6, "rude", ann, NOW)  # Ann moderates too
        await uow.moderation.log(LogEntry(CHAT, OLGA, ModAction.WARN, NOW, ann, "spam"))
        await uow.moderation.log(LogEntry(CHAT, ann, ModAction.WARN, NOW, Person(6, "Max"), "rude"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.moderation.erase_member(5) == 3
        await uow.commit()
    async with uow_factory() as uow:
        session = uow.session
        log = mod_log_table.c
        names = (await session.execute(select(log.actor_name, log.target_name))).all()
        given = set((await session.execute(select(warnings_table.c.given_by))).scalars())
        assert not any("Ann" in (name or "") for pair in names for name in pair)
        assert "Ann Lee (@ann)" not in given
        # Her warning still counts: a /forgetme is no way out of the warn limit.
        assert len(await uow.moderation.warnings(CHAT, 5, NOW - timedelta(days=1))) == 1
