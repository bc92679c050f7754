"""Unchanged member profiles are not rewritten each batch; changed and rolled-back ones are."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef, MessageKind
from storage.models import users_table
from storage.uow import SqlUnitOfWorkFactory

GROUP = GroupRef(chat_id=-1009000000001, title="Cache", type="supergroup")
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _message(n: int, name: str, at: datetime) -> EngagementEvent:
    return EngagementEvent(
        dedup_key=EngagementEvent.message_key(GROUP.chat_id, n),
        update_id=n,
        kind=EventKind.MESSAGE,
        group=GROUP,
        occurred_at=at,
        actor=Actor(user_id=77, first_name=name),
        message_id=n,
        message_kind=MessageKind.TEXT,
    )


async def _write(factory: SqlUnitOfWorkFactory, events: list[EngagementEvent]) -> None:
    async with factory() as uow:
        await uow.groups.upsert_many([GROUP], T0)
        await uow.events.add_new(events)
        await uow.members.observe_many(events)
        await uow.commit()


async def _user(factory: SqlUnitOfWorkFactory) -> tuple[str, datetime]:
    async with factory() as uow:
        row = (await uow.session.execute(select(users_table))).mappings().one()
        return row["first_name"], row["updated_at"]


async def test_unchanged_profile_is_written_once(uow_factory: SqlUnitOfWorkFactory) -> None:
    await _write(uow_factory, [_message(1, "Ann", T0)])
    await _write(uow_factory, [_message(2, "Ann", T0 + timedelta(hours=1))])
    assert await _user(uow_factory) == ("Ann", T0)  # the second batch skipped the user row
    await _write(uow_factory, [_message(3, "Anna", T0 + timedelta(hours=2))])
    assert await _user(uow_factory) == ("Anna", T0 + timedelta(hours=2))


async def test_a_rolled_back_profile_is_written_again(uow_factory: SqlUnitOfWorkFactory) -> None:
    await _write(uow_factory, [_message(1, "Ann", T0)])
    event = _message(2, "Anna", T0 + timedelta(hours=1))
    async with uow_factory() as uow:
        await uow.events.add_new([event])
        await uow.members.observe_many([event])
        # no commit: rolled back on exit
    await _write(uow_factory, [event])
    assert await _user(uow_factory) == ("Anna", T0 + timedelta(hours=1))
