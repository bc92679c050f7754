"""Opting out at the recorder: an opted-out member's events are written without who they are.

On SQLite and PostgreSQL, because the promise is about what the database holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from bot.domain.events import (
    Actor,
    EngagementEvent,
    EventKind,
    GroupMigrated,
    GroupRef,
    MessageKind,
)
from bot.domain.optout import anonymised
from bot.services.engagement import EngagementRecorder
from storage.models import (
    activity_hours_table,
    events_table,
    member_days_table,
    members_table,
    users_table,
)
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

GROUP = GroupRef(chat_id=-100777, title="Makers", type="supergroup")
OTHER = GroupRef(chat_id=-100888, title="Other", type="supergroup")
AT = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)
SHY, FRIEND = 4242, 5151


def message(
    n: int, user: int, group: GroupRef = GROUP, reply_to: tuple[int, int] | None = None
) -> EngagementEvent:
    return EngagementEvent(
        dedup_key=EngagementEvent.message_key(group.chat_id, n),
        update_id=n,
        kind=EventKind.MESSAGE,
        group=group,
        occurred_at=AT,
        actor=Actor(user_id=user, first_name=f"name{user}", username=f"handle{user}"),
        message_id=n,
        message_kind=MessageKind.TEXT,
        text="hello",
        text_length=5,
        reply_to_user_id=reply_to[0] if reply_to else None,
        reply_to_message_id=reply_to[1] if reply_to else None,
    )


def test_anonymised_leaves_others_alone() -> None:
    event = message(1, FRIEND, reply_to=(SHY, 9))
    assert anonymised(event, {(GROUP.chat_id, FRIEND + 1)}) is event
    out = anonymised(event, {(GROUP.chat_id, SHY)})
    assert out.actor == event.actor and out.reply_to_user_id is None
    assert out.reply_to_message_id == 9  # the message, not the member
    joined = replace(event, kind=EventKind.JOIN, reply_to_user_id=None, inviter_id=SHY)
    assert anonymised(joined, {(GROUP.chat_id, SHY)}).inviter_id is None
    mine = anonymised(message(2, SHY), {(GROUP.chat_id, SHY)})
    assert mine.actor is None and mine.text is None
    # Another group's opt-out does not reach this one.
    assert anonymised(message(3, SHY), {(OTHER.chat_id, SHY)}).actor is not None


async def test_recorder_writes_an_opted_out_member_anonymously(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    recorder = EngagementRecorder(uow_factory, FakeClock(AT))
    recorder.opted_out.add((GROUP.chat_id, SHY))
    await recorder.start()
    try:
        await recorder.record([message(1, SHY)])
        await recorder.record([message(2, FRIEND, reply_to=(SHY, 1))])
        await recorder.record([message(3, SHY, group=OTHER)])  # not opted out there
        await recorder.durable()
    finally:
        await recorder.stop()
    async with uow_factory() as uow:
        s = uow.session
        e = events_table.c
        rows = (await s.execute(select(e.chat_id, e.user_id, e.reply_to_user_id))).all()
        assert {tuple(row) for row in rows} == {
            (GROUP.chat_id, None, None),
            (GROUP.chat_id, FRIEND, None),
            (OTHER.chat_id, SHY, None),
        }
        members = (await s.execute(select(members_table.c.chat_id, members_table.c.user_id))).all()
        assert (GROUP.chat_id, SHY) not in members and (OTHER.chat_id, SHY) in members
        d = member_days_table.c
        days = (await s.execute(select(d.chat_id, d.user_id))).all()
        assert (GROUP.chat_id, SHY) not in days
        # The group's totals still count the message.
        total = (
            await s.execute(
                select(activity_hours_table.c.messages).where(
                    activity_hours_table.c.chat_id == GROUP.chat_id
                )
            )
        ).scalar_one()
        assert total == 2
        assert (await s.execute(select(users_table.c.user_id))).scalars().all()


async def test_an_opt_out_follows_the_group_to_its_supergroup(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    old = GroupRef(chat_id=-777, title="Makers", type="group")
    new = GroupRef(chat_id=-100999, title="Makers", type="supergroup")
    recorder = EngagementRecorder(uow_factory, FakeClock(AT))
    opted_out = recorder.opted_out  # the set the recognition feature shares
    opted_out.add((old.chat_id, SHY))
    await recorder.start()
    try:
        await recorder.record([message(1, SHY, group=old)])
        await recorder.migrate_group(GroupMigrated(old.chat_id, new.chat_id))
        await recorder.record([message(2, SHY, group=new)])
        await recorder.durable()
    finally:
        await recorder.stop()
    assert recorder.opted_out is opted_out and (new.chat_id, SHY) in opted_out
    async with uow_factory() as uow:
        e = events_table.c
        users = (await uow.session.execute(select(e.user_id).where(e.chat_id == new.chat_id))).all()
        assert [tuple(u) for u in users] == [(None,), (None,)]
