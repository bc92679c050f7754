"""A member's footprint and its erasure, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.domain.events import EventKind, GroupRef
from bot.ports import Erasure
from storage.models import events_table, members_table, users_table
from storage.uow import SqlUnitOfWorkFactory
from tests.storage.test_repositories import (
    ALICE,
    BOB,
    CHAT,
    OTHER_CHAT,
    T0,
    count_events,
    ingest_committed,
    message,
    other,
)

ELSEWHERE = GroupRef(OTHER_CHAT, "Readers", "supergroup")


async def _history(factory: SqlUnitOfWorkFactory) -> None:
    """Alice invites Bob; Bob posts twice (once kept with text) and Alice replies to him."""
    await ingest_committed(
        factory,
        [
            other(1, EventKind.JOIN, BOB, T0, inviter_id=ALICE.user_id),
            message(2, BOB, T0 + timedelta(minutes=1), text="hello all"),
            message(3, BOB, T0 + timedelta(days=2)),
            message(4, ALICE, T0 + timedelta(days=2), reply_to_user_id=BOB.user_id),
            message(5, BOB, T0 + timedelta(days=3), group=ELSEWHERE),
            other(6, EventKind.REACTION_ADDED, ALICE, T0 + timedelta(days=3), reaction="👍"),
        ],
    )


async def test_footprint_lists_what_is_stored_group_by_group(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _history(uow_factory)
    async with uow_factory() as uow:
        bob = await uow.members.footprint(BOB.user_id)
        nobody = await uow.members.footprint(12345)
    assert nobody == []
    assert [(f.chat_id, f.title, f.status) for f in bob] == [
        (CHAT, "Makers", "member"),
        (OTHER_CHAT, "Readers", "member"),
    ]
    makers, readers = bob
    assert (makers.events, makers.messages, makers.stored_texts) == (3, 2, 1)
    assert makers.first_seen_at == T0 and makers.last_seen_at == T0 + timedelta(days=2)
    assert (readers.events, readers.messages, readers.stored_texts) == (1, 1, 0)


async def test_erase_removes_the_person_and_unlinks_them(uow_factory: SqlUnitOfWorkFactory) -> None:
    await _history(uow_factory)
    async with uow_factory() as uow:
        assert await uow.members.erase(BOB.user_id) == Erasure(groups=2, events=4)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.members.footprint(BOB.user_id) == []
        session = uow.session
        users = set(await session.scalars(select(users_table.c.user_id)))
        members = set(await session.scalars(select(members_table.c.user_id)))
        e = events_table.c
        links = (await session.execute(select(e.reply_to_user_id, e.inviter_id))).all()
        left = set(await session.scalars(select(e.user_id)))
    assert users == {ALICE.user_id} and members == {ALICE.user_id}
    assert left == {ALICE.user_id}
    assert all(BOB.user_id not in row for row in links)
    assert await count_events(uow_factory) == 2  # Alice's reply and reaction stay


async def test_an_erased_member_who_comes_back_is_recorded_again(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    # The same factory (and its profile cache) before and after: the cache must not believe
    # Bob's profile row still exists, or his next membership would point at nothing.
    await _history(uow_factory)
    async with uow_factory() as uow:
        await uow.members.erase(BOB.user_id)
        await uow.commit()
    await ingest_committed(uow_factory, [message(7, BOB, T0 + timedelta(days=4))])
    async with uow_factory() as uow:
        [back] = await uow.members.footprint(BOB.user_id)
    assert (back.events, back.first_seen_at) == (1, T0 + timedelta(days=4))


async def test_an_erasure_that_is_not_committed_changes_nothing(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _history(uow_factory)
    async with uow_factory() as uow:
        await uow.members.erase(BOB.user_id)
    async with uow_factory() as uow:
        assert len(await uow.members.footprint(BOB.user_id)) == 2
