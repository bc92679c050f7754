"""Repository and unit-of-work behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from bot.ports import GroupSettings, Priority, WindowStats
from storage.models import events_table, groups_table, members_table, users_table
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory

CHAT = -1001234567890123  # a real-sized supergroup id: needs 64 bits
OTHER_CHAT = -1009876543210987
GROUP = GroupRef(CHAT, "Makers", "supergroup")
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALICE = Actor(9_000_000_000, "Alice", username="alice", language_code="en")
BOB = Actor(9_000_000_001, "Bob", language_code="zh-hans")
CAROL = Actor(42, "Carol")


def message(
    message_id: int,
    actor: Actor | None = ALICE,
    at: datetime = T0,
    group: GroupRef = GROUP,
    **fields: Any,
) -> EngagementEvent:
    return EngagementEvent(
        dedup_key=EngagementEvent.message_key(group.chat_id, message_id),
        update_id=message_id,
        kind=EventKind.MESSAGE,
        group=group,
        occurred_at=at,
        actor=actor,
        message_id=message_id,
        message_kind=MessageKind.TEXT,
        text_length=5,
        **fields,
    )


def other(
    update_id: int,
    kind: EventKind,
    actor: Actor | None = ALICE,
    at: datetime = T0,
    group: GroupRef = GROUP,
    **fields: Any,
) -> EngagementEvent:
    return EngagementEvent(
        dedup_key=EngagementEvent.update_key(update_id),
        update_id=update_id,
        kind=kind,
        group=group,
        occurred_at=at,
        actor=actor,
        **fields,
    )


async def ingest(
    uow: SqlUnitOfWork, events: Sequence[EngagementEvent], *, fold: bool = False
) -> int:
    """What the recording service does with one batch: groups, events, members, and (with
    `fold`) the analytics rollups."""
    groups = {event.group.chat_id: event.group for event in events}
    await uow.groups.upsert_many(list(groups.values()), max(e.occurred_at for e in events))
    new = await uow.events.add_new(events)
    await uow.members.observe_many(events)
    if fold:
        await uow.rollups.add(new)
    return len(new)


async def ingest_committed(
    factory: SqlUnitOfWorkFactory, events: Sequence[EngagementEvent], *, fold: bool = False
) -> int:
    async with factory() as uow:
        new = await ingest(uow, events, fold=fold)
        await uow.commit()
    return new


async def member(factory: SqlUnitOfWorkFactory, chat_id: int, user_id: int) -> dict[str, Any]:
    async with factory() as uow:
        row = (
            (
                await uow.session.execute(
                    select(members_table).where(
                        members_table.c.chat_id == chat_id, members_table.c.user_id == user_id
                    )
                )
            )
            .mappings()
            .one()
        )
    return dict(row)


async def count_events(factory: SqlUnitOfWorkFactory, chat_id: int | None = None) -> int:
    async with factory() as uow:
        query = select(func.count()).select_from(events_table)
        if chat_id is not None:
            query = query.where(events_table.c.chat_id == chat_id)
        return int(await uow.session.scalar(query) or 0)


# --- events -----------------------------------------------------------------------------------


async def test_add_new_keeps_only_new_events(uow_factory: SqlUnitOfWorkFactory) -> None:
    first = [message(1), message(2), message(3)]
    assert await ingest_committed(uow_factory, first) == 3
    # Two stored, one repeated inside the batch, two new.
    second = [message(2), message(3), message(4), message(4), message(5)]
    assert await ingest_committed(uow_factory, second) == 2
    assert await count_events(uow_factory) == 5


async def test_redelivered_batch_adds_nothing(uow_factory: SqlUnitOfWorkFactory) -> None:
    batch = [message(i, ALICE if i % 2 else BOB, T0 + timedelta(seconds=i)) for i in range(100)]
    batch.append(other(500, EventKind.REACTION_ADDED, BOB, reaction="👍"))
    assert await ingest_committed(uow_factory, batch) == 101
    assert await ingest_committed(uow_factory, batch) == 0
    assert await count_events(uow_factory) == 101
    assert (await member(uow_factory, CHAT, ALICE.user_id))["message_count"] == 50
    assert (await member(uow_factory, CHAT, BOB.user_id))["message_count"] == 50


async def test_redelivery_changes_no_membership(uow_factory: SqlUnitOfWorkFactory) -> None:
    """Members fold only the events this unit of work inserted: a batch redelivered after a
    newer leave neither counts its messages again nor re-joins the member."""
    link = "https://t.me/+XyZ"
    batch = [
        other(1, EventKind.JOIN, BOB, T0, inviter_id=ALICE.user_id, invite_link=link),
        message(1, BOB, T0 + timedelta(seconds=1)),
        message(2, BOB, T0 + timedelta(seconds=2)),
    ]
    assert await ingest_committed(uow_factory, batch) == 3
    await ingest_committed(uow_factory, [other(2, EventKind.LEAVE, BOB, T0 + timedelta(hours=1))])
    before = await member(uow_factory, CHAT, BOB.user_id)
    assert await ingest_committed(uow_factory, batch) == 0
    assert await member(uow_factory, CHAT, BOB.user_id) == before
    assert (before["status"], before["message_count"], before["invite_link"]) == ("left", 2, link)


async def test_members_fold_events_added_in_this_unit_of_work_once(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    """`observe_many` must follow `add_new`; a second call in the unit of work adds nothing."""
    async with uow_factory() as uow:
        await uow.groups.upsert_many([GROUP], T0)
        await uow.members.observe_many([message(1)])  # too early: makes no membership
        await uow.events.add_new([message(1), message(2)])
        await uow.members.observe_many([message(1), message(2)])
        await uow.members.observe_many([message(1), message(2)])
        await uow.commit()
    assert (await member(uow_factory, CHAT, ALICE.user_id))["message_count"] == 2


async def test_large_unit_of_work_is_folded_in_chunks(uow_factory: SqlUnitOfWorkFactory) -> None:
    actors = [Actor(9_000_000_000 + n, f"m{n}") for n in range(7)]
    batch = [message(i, actors[i % 7], T0 + timedelta(seconds=i)) for i in range(2500)]
    batch.append(other(9000, EventKind.LEAVE, actors[0], T0 + timedelta(hours=2)))
    assert await ingest_committed(uow_factory, batch) == 2501
    async with uow_factory() as uow:
        total = await uow.session.scalar(select(func.sum(members_table.c.message_count)))
    assert total == 2500
    row = await member(uow_factory, CHAT, actors[0].user_id)
    assert (row["status"], row["left_at"]) == ("left", T0 + timedelta(hours=2))
    assert (row["first_seen_at"], row["last_seen_at"]) == (T0, T0 + timedelta(hours=2))


async def test_add_new_returns_the_new_events_in_order(uow_factory: SqlUnitOfWorkFactory) -> None:
    await ingest_committed(uow_factory, [message(2)])
    async with uow_factory() as uow:
        new = await uow.events.add_new([message(3), message(2), message(1)])
    assert [event.message_id for event in new] == [3, 1]


async def test_large_ids_and_fields_round_trip(uow_factory: SqlUnitOfWorkFactory) -> None:
    event = message(
        2_000_000_000_123,
        text="hello https://example.org",
        reply_to_user_id=9_000_000_001,
        reply_to_message_id=2_000_000_000_100,
        thread_id=7,
        has_link=True,
        sender_chat_id=-1001111111111111,
    )
    await ingest_committed(uow_factory, [event])
    async with uow_factory() as uow:
        row = (await uow.session.execute(select(events_table))).mappings().one()
    assert row["chat_id"] == CHAT
    assert row["user_id"] == 9_000_000_000
    assert row["message_id"] == 2_000_000_000_123
    assert row["reply_to_message_id"] == 2_000_000_000_100
    assert row["sender_chat_id"] == -1001111111111111
    assert row["kind"] == "message"
    assert row["message_kind"] == "text"
    assert row["has_link"] is True
    assert row["text"] == "hello https://example.org"


async def test_anonymous_events_have_no_user(uow_factory: SqlUnitOfWorkFactory) -> None:
    await ingest_committed(
        uow_factory, [other(1, EventKind.REACTION_COUNT, None, reaction="🔥", reaction_count=3)]
    )
    async with uow_factory() as uow:
        row = (await uow.session.execute(select(events_table))).mappings().one()
        users = await uow.session.scalar(select(func.count()).select_from(users_table))
    assert row["user_id"] is None
    assert row["reaction_count"] == 3
    assert users == 0


async def test_times_read_back_aware_utc(uow_factory: SqlUnitOfWorkFactory) -> None:
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2025, 3, 1, 20, 30, 15, 123456, tzinfo=shanghai)
    await ingest_committed(uow_factory, [message(1, at=at)])
    async with uow_factory() as uow:
        stored = await uow.session.scalar(select(events_table.c.occurred_at))
    assert stored == at
    assert stored is not None and stored.tzinfo is UTC
    assert stored.hour == 12


async def test_naive_times_are_refused(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.groups.upsert_many([GROUP], T0)
        with pytest.raises(StatementError, match="naive datetime"):
            await uow.events.add_new([message(1, at=datetime(2025, 3, 1, 12, 0))])


async def test_events_need_their_group(uow_factory: SqlUnitOfWorkFactory) -> None:
    """Foreign keys are enforced on SQLite too (PRAGMA foreign_keys)."""
    async with uow_factory() as uow:
        with pytest.raises(IntegrityError):
            await uow.events.add_new([message(1)])


async def test_window_stats_counts_within_half_open_window(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    since, until = T0, T0 + timedelta(days=1)
    other_group = GroupRef(OTHER_CHAT, "Elsewhere", "supergroup")
    await ingest_committed(
        uow_factory,
        [
            message(1, ALICE, since),  # on the lower bound: counted
            message(2, ALICE, since + timedelta(hours=1)),
            other(10, EventKind.EDIT, BOB, since + timedelta(hours=2)),
            other(11, EventKind.REACTION_ADDED, CAROL, since + timedelta(hours=3), reaction="👍"),
            other(12, EventKind.REACTION_COUNT, None, since + timedelta(hours=3), reaction_count=4),
            other(13, EventKind.JOIN, CAROL, since + timedelta(hours=4)),
            other(14, EventKind.JOIN, CAROL, since + timedelta(hours=5)),  # rejoin: one member
            other(15, EventKind.LEAVE, BOB, since + timedelta(hours=6)),
            message(3, BOB, until),  # on the upper bound: not counted
            message(4, BOB, since - timedelta(microseconds=1)),  # just before: not counted
            message(5, BOB, since + timedelta(hours=1), group=other_group),  # another group
        ],
        fold=True,
    )
    async with uow_factory() as uow:
        stats = await uow.rollups.window_stats(CHAT, since, until)
        empty = await uow.rollups.window_stats(CHAT, until + timedelta(days=1), until)
        # Within one UTC day: Alice's message at 13:00 and Bob's edit at 14:00, not Carol's
        # reaction at 15:00 (the window ends at 14:30) nor Alice's first message at 12:00.
        hours = await uow.rollups.window_stats(
            CHAT, since + timedelta(hours=1), since + timedelta(hours=2, minutes=30)
        )
    assert stats == WindowStats(messages=2, active_members=3, new_members=1)
    assert empty == WindowStats(messages=0, active_members=0, new_members=0)
    assert hours == WindowStats(messages=1, active_members=2, new_members=0)


async def test_purge_text_before(uow_factory: SqlUnitOfWorkFactory) -> None:
    await ingest_committed(
        uow_factory,
        [
            message(1, at=T0, text="old"),
            message(2, at=T0 + timedelta(days=2), text="new"),
            message(3, at=T0),  # no text stored: not a change
        ],
    )
    async with uow_factory() as uow:
        changed = await uow.events.purge_text_before(CHAT, T0 + timedelta(days=1))
        await uow.commit()
    async with uow_factory() as uow:
        rows = await uow.session.execute(select(events_table.c.message_id, events_table.c.text))
        texts = {message_id: text for message_id, text in rows}
    assert changed == 1
    assert texts == {1: None, 2: "new", 3: None}


async def test_chats_with_text(uow_factory: SqlUnitOfWorkFactory) -> None:
    elsewhere = GroupRef(OTHER_CHAT, "Readers", "supergroup")
    await ingest_committed(
        uow_factory,
        [message(1, text="kept"), message(2, group=elsewhere), message(3, group=elsewhere)],
    )
    async with uow_factory() as uow:
        assert await uow.events.chats_with_text() == [CHAT]
        await uow.events.purge_text_before(CHAT, T0 + timedelta(days=1))
        assert await uow.events.chats_with_text() == []


# --- members and users ------------------------------------------------------------------------


async def test_members_track_first_and_last_seen(uow_factory: SqlUnitOfWorkFactory) -> None:
    await ingest_committed(uow_factory, [message(2, at=T0 + timedelta(hours=1)), message(1)])
    await ingest_committed(uow_factory, [other(5, EventKind.EDIT, at=T0 + timedelta(hours=3))])
    # An older event arriving late widens the range backwards.
    await ingest_committed(uow_factory, [message(0, at=T0 - timedelta(hours=2))])
    row = await member(uow_factory, CHAT, ALICE.user_id)
    assert row["first_seen_at"] == T0 - timedelta(hours=2)
    assert row["last_seen_at"] == T0 + timedelta(hours=3)
    assert row["message_count"] == 3
    assert row["status"] == "member"


async def test_latest_profile_wins(uow_factory: SqlUnitOfWorkFactory) -> None:
    renamed = Actor(ALICE.user_id, "Alicia", username="alicia", language_code="zh-hans")
    await ingest_committed(
        uow_factory, [message(1, ALICE, T0), message(2, renamed, T0 + timedelta(minutes=1))]
    )
    # A late, older update must not roll the name back.
    await ingest_committed(uow_factory, [message(0, ALICE, T0 - timedelta(minutes=1))])
    async with uow_factory() as uow:
        user = (await uow.session.execute(select(users_table))).mappings().one()
    assert (user["first_name"], user["username"], user["language_code"]) == (
        "Alicia",
        "alicia",
        "zh-hans",
    )


async def test_join_leave_and_rejoin(uow_factory: SqlUnitOfWorkFactory) -> None:
    link = "https://t.me/+AbCdEf"
    joined = other(1, EventKind.JOIN, BOB, T0, inviter_id=ALICE.user_id, invite_link=link)
    await ingest_committed(uow_factory, [joined])
    row = await member(uow_factory, CHAT, BOB.user_id)
    assert (row["status"], row["joined_at"], row["left_at"]) == ("member", T0, None)
    assert (row["invited_by_user_id"], row["invite_link"]) == (ALICE.user_id, link)

    kicked = other(2, EventKind.KICK, BOB, T0 + timedelta(hours=1))
    await ingest_committed(uow_factory, [kicked])
    row = await member(uow_factory, CHAT, BOB.user_id)
    assert (row["status"], row["left_at"]) == ("kicked", T0 + timedelta(hours=1))

    # Redelivering the older join leaves the member out.
    await ingest_committed(uow_factory, [joined])
    assert (await member(uow_factory, CHAT, BOB.user_id))["status"] == "kicked"

    rejoined = other(3, EventKind.JOIN, BOB, T0 + timedelta(hours=2))
    await ingest_committed(uow_factory, [rejoined, kicked])  # kicked is redelivered: ignored
    row = await member(uow_factory, CHAT, BOB.user_id)
    assert (row["status"], row["joined_at"], row["left_at"]) == (
        "member",
        T0 + timedelta(hours=2),
        None,
    )
    assert row["invited_by_user_id"] is None  # the latest join had no inviter


async def test_join_and_leave_in_one_batch(uow_factory: SqlUnitOfWorkFactory) -> None:
    await ingest_committed(
        uow_factory,
        [
            other(1, EventKind.JOIN, CAROL, T0, inviter_id=ALICE.user_id),
            message(7, CAROL, T0 + timedelta(minutes=1)),
            other(2, EventKind.LEAVE, CAROL, T0 + timedelta(minutes=2)),
        ],
    )
    row = await member(uow_factory, CHAT, CAROL.user_id)
    assert (row["status"], row["joined_at"], row["left_at"]) == (
        "left",
        T0,
        T0 + timedelta(minutes=2),
    )
    assert (row["invited_by_user_id"], row["message_count"]) == (ALICE.user_id, 1)


# --- groups -----------------------------------------------------------------------------------


async def test_group_settings_defaults_and_update(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.groups.upsert_many([GROUP], T0)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.groups.get(CHAT) == GroupSettings(CHAT, "Makers")
        assert await uow.groups.get(OTHER_CHAT) is None
        wanted = GroupSettings(CHAT, "Makers", "Asia/Shanghai", "zh-hans", True, 7)
        await uow.groups.update_settings(wanted)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.groups.get(CHAT) == wanted
        with pytest.raises(LookupError):
            await uow.groups.update_settings(GroupSettings(OTHER_CHAT, "Nobody"))


async def test_group_titles_refresh_but_never_roll_back(uow_factory: SqlUnitOfWorkFactory) -> None:
    renamed = GroupRef(CHAT, "Makers & Friends", "supergroup", username="makers", is_forum=True)
    async with uow_factory() as uow:
        await uow.groups.upsert_many([GROUP], T0)
        await uow.groups.upsert_many([renamed], T0 + timedelta(minutes=1))
        await uow.groups.upsert_many([GROUP], T0 - timedelta(minutes=1))
        await uow.commit()
    async with uow_factory() as uow:
        row = (await uow.session.execute(select(groups_table))).mappings().one()
    assert (row["title"], row["username"], row["is_forum"]) == ("Makers & Friends", "makers", True)
    assert (row["created_at"], row["updated_at"]) == (T0, T0 + timedelta(minutes=1))


async def test_migration_moves_history_to_the_supergroup(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    old_id, new_id = -4_000_000_001, -1_002_000_000_002
    basic = GroupRef(old_id, "Makers", "group")
    supergroup = GroupRef(new_id, "Makers", "supergroup")
    await ingest_committed(
        uow_factory,
        [
            message(1, ALICE, T0, basic),
            message(2, ALICE, T0 + timedelta(minutes=1), basic),
            message(3, BOB, T0 + timedelta(minutes=2), basic),
        ],
        fold=True,
    )
    async with uow_factory() as uow:
        await uow.groups.update_settings(GroupSettings(old_id, "Makers", "Europe/Berlin"))
        await uow.commit()
    # Updates under the new id can arrive before the migration is handled.
    await ingest_committed(
        uow_factory, [message(1, ALICE, T0 + timedelta(minutes=5), supergroup)], fold=True
    )
    for _ in range(2):  # a redelivered migration changes nothing
        async with uow_factory() as uow:
            await uow.groups.migrate(old_id, new_id)
            await uow.commit()

    assert await count_events(uow_factory, old_id) == 0
    assert await count_events(uow_factory, new_id) == 4
    alice = await member(uow_factory, new_id, ALICE.user_id)
    assert (alice["message_count"], alice["first_seen_at"], alice["last_seen_at"]) == (
        3,
        T0,
        T0 + timedelta(minutes=5),
    )
    assert (await member(uow_factory, new_id, BOB.user_id))["message_count"] == 1
    async with uow_factory() as uow:
        assert (
            await uow.session.scalar(select(func.count()).where(members_table.c.chat_id == old_id))
            == 0
        )
        pointer = await uow.session.scalar(
            select(groups_table.c.migrated_to_chat_id).where(groups_table.c.chat_id == old_id)
        )
        settings = await uow.groups.get(new_id)
        stats = await uow.rollups.window_stats(new_id, T0, T0 + timedelta(days=1))
    assert pointer == new_id
    assert settings is not None and settings.timezone == "Europe/Berlin"
    assert stats == WindowStats(messages=4, active_members=2, new_members=0)


async def test_migration_creates_the_supergroup_row(uow_factory: SqlUnitOfWorkFactory) -> None:
    old_id, new_id = -4_000_000_001, -1_002_000_000_002
    await ingest_committed(uow_factory, [message(1, ALICE, T0, GroupRef(old_id, "Old", "group"))])
    async with uow_factory() as uow:
        await uow.groups.migrate(old_id, new_id)
        await uow.commit()
    async with uow_factory() as uow:
        row = (
            (
                await uow.session.execute(
                    select(groups_table).where(groups_table.c.chat_id == new_id)
                )
            )
            .mappings()
            .one()
        )
    assert (row["title"], row["type"], row["migrated_to_chat_id"]) == ("Old", "supergroup", None)
    assert await count_events(uow_factory, new_id) == 1


# --- outbox -----------------------------------------------------------------------------------


async def test_outbox_add_is_idempotent(uow_factory: SqlUnitOfWorkFactory) -> None:
    params = {"chat_id": CHAT, "text": "Weekly digest ✨", "entities": [{"type": "bold"}]}
    async with uow_factory() as uow:
        first = await uow.outbox.add("post:7", CHAT, "sendMessage", params, Priority.CONTENT, T0)
        again = await uow.outbox.add(
            "post:7", CHAT, "sendMessage", {"text": "changed"}, Priority.REPLY, T0
        )
        await uow.commit()
    assert again == first
    assert (first.params, first.priority, first.created_at) == (params, Priority.CONTENT, T0)
    assert first.sent_at is None


async def test_outbox_pending_by_priority_then_age(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        content = await uow.outbox.add("c1", CHAT, "sendMessage", {}, Priority.CONTENT, T0)
        ban = await uow.outbox.add("b1", CHAT, "banChatMember", {}, Priority.MODERATION, T0)
        reply = await uow.outbox.add("r1", CHAT, "sendMessage", {}, Priority.REPLY, T0)
        later = await uow.outbox.add("c2", CHAT, "sendMessage", {}, Priority.CONTENT, T0)
        sent = await uow.outbox.add("c3", CHAT, "sendMessage", {}, Priority.CONTENT, T0)
        failed = await uow.outbox.add("b2", CHAT, "deleteMessage", {}, Priority.MODERATION, T0)
        await uow.outbox.mark_sent(sent.id, T0 + timedelta(seconds=1), 2_000_000_000_001)
        await uow.outbox.mark_failed(failed.id, "message_too_old", T0 + timedelta(seconds=1))
        await uow.commit()
    async with uow_factory() as uow:
        pending = await uow.outbox.pending()
        first_two = await uow.outbox.pending(limit=2)
        again = await uow.outbox.add("c3", CHAT, "sendMessage", {}, Priority.CONTENT, T0)
    assert [item.id for item in pending] == [ban.id, reply.id, content.id, later.id]
    assert [item.id for item in first_two] == [ban.id, reply.id]
    assert (again.sent_at, again.result_message_id) == (
        T0 + timedelta(seconds=1),
        2_000_000_000_001,
    )


# --- unit of work -----------------------------------------------------------------------------


async def test_nothing_is_kept_without_commit(uow_factory: SqlUnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await ingest(uow, [message(1)])
        await uow.outbox.add("k", CHAT, "sendMessage", {}, Priority.REPLY, T0)
    async with uow_factory() as uow:
        assert await uow.groups.get(CHAT) is None
        assert await uow.outbox.pending() == []
    assert await count_events(uow_factory) == 0


async def test_an_error_rolls_back_the_whole_batch(uow_factory: SqlUnitOfWorkFactory) -> None:
    with pytest.raises(RuntimeError):
        async with uow_factory() as uow:
            await ingest(uow, [message(1)])
            raise RuntimeError("crash before commit")
    # The retried batch counts as new again, messages included.
    assert await ingest_committed(uow_factory, [message(1)]) == 1
    assert (await member(uow_factory, CHAT, ALICE.user_id))["message_count"] == 1


async def test_rollback_then_retry_in_the_same_unit_of_work(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await ingest(uow, [message(1)])
        await uow.rollback()
        assert await ingest(uow, [message(1)]) == 1
        await uow.commit()
    assert (await member(uow_factory, CHAT, ALICE.user_id))["message_count"] == 1


async def test_unit_of_work_is_not_reentrant(uow_factory: SqlUnitOfWorkFactory) -> None:
    uow = uow_factory()
    with pytest.raises(RuntimeError, match="outside"):
        await uow.commit()
    async with uow:
        with pytest.raises(RuntimeError, match="already open"):
            await uow.__aenter__()


async def test_concurrent_overlapping_batches(uow_factory: SqlUnitOfWorkFactory) -> None:
    """Two writers with overlapping batches in opposite orders wait for each other (no lock
    errors, no deadlock) and store every event and message exactly once."""
    actors = [Actor(9_000_000_000 + n, f"m{n}") for n in range(10)]
    batch = [message(i, actors[i % 10], T0 + timedelta(seconds=i)) for i in range(60)]

    async def write(events: list[EngagementEvent]) -> int:
        return await ingest_committed(uow_factory, events)

    results = await asyncio.gather(
        write(batch[:40]), write(list(reversed(batch[20:]))), write(batch[10:50])
    )
    assert sum(results) == 60
    assert await count_events(uow_factory) == 60
    async with uow_factory() as uow:
        total = await uow.session.scalar(select(func.sum(members_table.c.message_count)))
    assert total == 60


async def test_settings_read_back_within_the_same_unit_of_work(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        await uow.groups.upsert_many([GROUP], T0)
        assert await uow.groups.get(CHAT) == GroupSettings(CHAT, "Makers")
        await uow.groups.update_settings(GroupSettings(CHAT, "Makers", store_text=True))
        settings = await uow.groups.get(CHAT)
    assert settings is not None and settings.store_text


async def test_membership_changes_within_one_second_follow_arrival(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    """Telegram dates have one-second resolution: equal times keep the order events came in."""
    await ingest_committed(
        uow_factory, [other(1, EventKind.JOIN, CAROL, T0), other(2, EventKind.LEAVE, CAROL, T0)]
    )
    assert (await member(uow_factory, CHAT, CAROL.user_id))["status"] == "left"
    await ingest_committed(uow_factory, [other(3, EventKind.JOIN, CAROL, T0)])
    row = await member(uow_factory, CHAT, CAROL.user_id)
    assert (row["status"], row["left_at"]) == ("member", None)
    await ingest_committed(uow_factory, [other(4, EventKind.KICK, CAROL, T0)])
    row = await member(uow_factory, CHAT, CAROL.user_id)
    assert (row["status"], row["left_at"]) == ("kicked", T0)


async def test_late_older_leave_does_not_undo_a_join(uow_factory: SqlUnitOfWorkFactory) -> None:
    await ingest_committed(uow_factory, [other(2, EventKind.JOIN, CAROL, T0 + timedelta(hours=1))])
    await ingest_committed(uow_factory, [other(1, EventKind.LEAVE, CAROL, T0)])
    row = await member(uow_factory, CHAT, CAROL.user_id)
    assert (row["status"], row["joined_at"], row["left_at"]) == (
        "member",
        T0 + timedelta(hours=1),
        None,
    )


async def test_equal_times_in_one_batch_follow_update_order(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    """Update ids, not dedup keys, order a batch: "u:10:0" sorts before "u:9:0" as text."""
    await ingest_committed(
        uow_factory,
        [
            other(9, EventKind.JOIN, CAROL, T0, invite_link="first"),
            other(10, EventKind.KICK, CAROL, T0),
            other(11, EventKind.JOIN, CAROL, T0, invite_link="second"),
            other(99, EventKind.LEAVE, BOB, T0),
            other(100, EventKind.JOIN, BOB, T0, inviter_id=ALICE.user_id),
        ],
    )
    carol = await member(uow_factory, CHAT, CAROL.user_id)
    assert (carol["status"], carol["left_at"], carol["invite_link"]) == ("member", None, "second")
    bob = await member(uow_factory, CHAT, BOB.user_id)
    assert (bob["status"], bob["left_at"], bob["invited_by_user_id"]) == (
        "member",
        None,
        ALICE.user_id,
    )


async def test_a_newer_kick_in_a_later_batch_wins_over_an_older_join(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await ingest_committed(
        uow_factory,
        [
            other(1, EventKind.JOIN, CAROL, T0),
            message(5, CAROL, T0 + timedelta(minutes=1)),
        ],
    )
    # The kick and an older, late join arrive together; the kick is the latest change.
    await ingest_committed(
        uow_factory,
        [
            other(3, EventKind.KICK, CAROL, T0 + timedelta(minutes=5)),
            other(2, EventKind.JOIN, CAROL, T0 + timedelta(minutes=3), invite_link="late"),
            message(6, CAROL, T0 + timedelta(minutes=4)),
        ],
    )
    row = await member(uow_factory, CHAT, CAROL.user_id)
    assert (row["status"], row["joined_at"], row["left_at"]) == (
        "kicked",
        T0 + timedelta(minutes=3),
        T0 + timedelta(minutes=5),
    )
    assert (row["invite_link"], row["message_count"]) == ("late", 2)
    assert (row["first_seen_at"], row["last_seen_at"]) == (T0, T0 + timedelta(minutes=5))
