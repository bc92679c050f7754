"""The rollups, folded by the recorder in its unit of work, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from bot.domain.analytics import (
    HourTotals,
    MemberDay,
    Response,
    ResponseTotals,
    TopMember,
    top_members,
)
from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef
from bot.ports import GroupSettings, WindowStats
from bot.services.analytics import AnalyticsService
from bot.services.engagement import EngagementRecorder
from bot.services.stats import StatsService
from storage.analytics import rebuild_rollups
from storage.models import responses_table
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.storage.test_repositories import (
    ALICE,
    BOB,
    CAROL,
    CHAT,
    GROUP,
    OTHER_CHAT,
    T0,
    message,
    other,
)

DAY0 = T0.date()
INDIA = "Asia/Kolkata"
EVER = (T0 - timedelta(days=400), T0 + timedelta(days=400))


async def _record(factory: SqlUnitOfWorkFactory, *batches: Sequence[EngagementEvent]) -> None:
    """Through the recorder, one unit of work per batch, as the bot writes them."""
    recorder = EngagementRecorder(factory, FakeClock(T0))
    await recorder.start()
    try:
        for batch in batches:
            await recorder.record(batch)
            await recorder.durable()
    finally:
        await recorder.stop()


async def _rollups(
    factory: SqlUnitOfWorkFactory,
) -> tuple[list[HourTotals], list[MemberDay], list[Response]]:
    async with factory() as uow:
        return (
            await uow.rollups.hour_totals(CHAT, *EVER),
            await uow.rollups.member_days(CHAT, EVER[0].date(), EVER[1].date()),
            await uow.rollups.responses(CHAT, *EVER),
        )


def _history() -> list[EngagementEvent]:
    """Bob joins and posts; Alice replies twice and reacts; Bob answers himself; Carol leaves."""
    return [
        other(100, EventKind.JOIN, BOB, T0),
        message(1, BOB, T0 + timedelta(minutes=5)),
        message(
            2,
            ALICE,
            T0 + timedelta(minutes=20),
            reply_to_message_id=1,
            reply_to_user_id=BOB.user_id,
        ),
        message(
            3,
            ALICE,
            T0 + timedelta(minutes=10),
            reply_to_message_id=1,
            reply_to_user_id=BOB.user_id,
        ),
        other(
            101,
            EventKind.REACTION_ADDED,
            ALICE,
            T0 + timedelta(hours=1),
            message_id=1,
            reaction="👍",
        ),
        message(
            4,
            BOB,
            T0 + timedelta(hours=1, minutes=1),
            reply_to_message_id=1,
            reply_to_user_id=BOB.user_id,
        ),
        other(
            102, EventKind.REACTION_ADDED, BOB, T0 + timedelta(hours=1), message_id=1, reaction="🔥"
        ),
        other(103, EventKind.LEAVE, CAROL, T0 + timedelta(days=1)),
    ]


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


EXPECTED_HOURS = [
    HourTotals(_at(0), messages=3, replies=2, joins=1),
    HourTotals(_at(1), messages=1, replies=1, reactions=2),
    HourTotals(_at(24), leaves=1),
]
EXPECTED_DAYS = [
    # Alice posted in UTC hour 12 and reacted in hour 13; Bob's own reply and reaction to his
    # message credit him nothing.
    MemberDay(
        ALICE.user_id, DAY0, active_hours=1 << 12 | 1 << 13, messages=2, replies=2, reactions=1
    ),
    MemberDay(
        BOB.user_id,
        DAY0,
        active_hours=1 << 12 | 1 << 13,
        messages=2,
        replies=1,
        reactions=1,
        replies_received=2,
        reactions_received=1,
    ),
]
EXPECTED_RESPONSES = [
    Response(1, posted_at=_at(5 / 60), first_reply_at=_at(10 / 60), replies=2, reactions=1)
]


async def test_the_recorder_folds_new_events_into_the_rollups(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _record(uow_factory, _history())
    assert await _rollups(uow_factory) == (EXPECTED_HOURS, EXPECTED_DAYS, EXPECTED_RESPONSES)


async def test_rollups_add_up_across_batches_and_a_redelivery_changes_none(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    history = _history()
    # The original message arrives in an earlier batch than its responses; then every batch
    # comes again (a crash before the offset was confirmed).
    batches = [history[:2], history[2:5], history[5:]]
    await _record(uow_factory, *batches, *batches)
    assert await _rollups(uow_factory) == (EXPECTED_HOURS, EXPECTED_DAYS, EXPECTED_RESPONSES)


async def test_a_later_batch_with_an_earlier_reply_moves_the_first_reply_back(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    history = _history()
    await _record(uow_factory, history[:3], history[3:])
    _, _, responses = await _rollups(uow_factory)
    assert [r.first_reply_at for r in responses] == [_at(10 / 60)]


async def test_erasure_removes_the_person_and_keeps_group_totals(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _record(uow_factory, _history())
    async with uow_factory() as uow:
        await uow.members.erase(BOB.user_id)
        await uow.commit()
    hours, days, responses = await _rollups(uow_factory)
    assert hours == EXPECTED_HOURS
    assert [day.user_id for day in days] == [ALICE.user_id]
    assert days[0] == EXPECTED_DAYS[0]
    assert responses == EXPECTED_RESPONSES  # counts stay; the author is no longer stored
    async with uow_factory() as uow:
        authors = list(await uow.session.scalars(select(responses_table.c.author_id)))
    assert authors == [None]


async def test_days_are_utc_days_with_the_hours_active(uow_factory: SqlUnitOfWorkFactory) -> None:
    late = T0.replace(hour=23, minute=59)
    await _record(
        uow_factory, [message(1, ALICE, late), message(2, ALICE, late + timedelta(minutes=2))]
    )
    _, days, _ = await _rollups(uow_factory)
    assert [(d.day, d.active_hours) for d in days] == [
        (DAY0, 1 << 23),
        (DAY0 + timedelta(days=1), 1 << 0),
    ]


async def test_memberships_and_names_for_reports(uow_factory: SqlUnitOfWorkFactory) -> None:
    await _record(uow_factory, _history())
    async with uow_factory() as uow:
        memberships = {m.user_id: m for m in await uow.rollups.memberships(CHAT)}
        names = await uow.rollups.names([ALICE.user_id, BOB.user_id, 1])
    assert memberships[BOB.user_id].joined_at == T0
    assert memberships[ALICE.user_id].first_seen_at == T0 + timedelta(minutes=10)
    assert names == {ALICE.user_id: "Alice (@alice)", BOB.user_id: "Bob"}


async def test_a_group_moving_to_a_supergroup_takes_its_rollups_along(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _record(uow_factory, _history())
    # Updates already arrived under the new id in the same hour: rows merge, counts add.
    supergroup = GroupRef(OTHER_CHAT, "Makers", "supergroup")
    await _record(uow_factory, [message(9, ALICE, T0 + timedelta(minutes=30), group=supergroup)])
    async with uow_factory() as uow:
        await uow.groups.migrate(CHAT, OTHER_CHAT)
        await uow.commit()
    async with uow_factory() as uow:
        hours = await uow.rollups.hour_totals(OTHER_CHAT, *EVER)
        days = await uow.rollups.member_days(OTHER_CHAT, EVER[0].date(), EVER[1].date())
        responses = await uow.rollups.responses(OTHER_CHAT, *EVER)
        left_behind = await uow.rollups.hour_totals(CHAT, *EVER)
    assert left_behind == []
    assert hours[0] == HourTotals(_at(0), messages=4, replies=2, joins=1)
    assert hours[1:] == EXPECTED_HOURS[1:]
    alice = next(d for d in days if d.user_id == ALICE.user_id)
    assert (alice.messages, alice.active_hours) == (3, EXPECTED_DAYS[0].active_hours)
    assert responses == EXPECTED_RESPONSES


async def test_a_rebuild_folds_stored_history_as_the_recorder_did(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    history = _history()
    await _record(uow_factory, history[:3], history[3:])
    async with uow_factory() as uow:
        # Small chunks: a reply folded in a later chunk than its message still finds it.
        assert await rebuild_rollups(uow.session, chunk=2) == len(history)
        await uow.commit()
    assert await _rollups(uow_factory) == (EXPECTED_HOURS, EXPECTED_DAYS, EXPECTED_RESPONSES)


async def test_member_totals_are_summed_in_the_database(uow_factory: SqlUnitOfWorkFactory) -> None:
    await _record(uow_factory, _history())
    async with uow_factory() as uow:
        totals = await uow.rollups.member_totals(CHAT, DAY0, DAY0)
        none = await uow.rollups.member_totals(
            CHAT, DAY0 + timedelta(days=1), DAY0 + timedelta(days=9)
        )
    assert sorted(totals, key=lambda t: t.user_id) == [
        TopMember(ALICE.user_id, messages=2, replies_received=0, reactions_received=0),
        TopMember(BOB.user_id, messages=2, replies_received=2, reactions_received=1),
    ]
    assert none == []


async def test_the_top_members_are_ranked_in_the_database_as_top_members_ranks_them(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    people = [Actor(700 + n, f"Member {n}") for n in range(6)]
    posts = {0: 3, 1: 3, 2: 2, 3: 2}  # member 4 only reacts; member 5 only replies
    history = [
        message(100 * who + n, people[who], _at(n))
        for who, count in posts.items()
        for n in range(count)
    ]
    history.append(message(999, people[5], _at(5), reply_to_message_id=100))  # to member 1
    history.append(
        other(998, EventKind.REACTION_ADDED, people[4], _at(5), message_id=999, reaction="👍")
    )
    await _record(uow_factory, history)
    async with uow_factory() as uow:
        top = await uow.rollups.member_totals(CHAT, DAY0, DAY0, top=10)
        every = await uow.rollups.member_totals(CHAT, DAY0, DAY0)
    # Member 1 before 0 (a reply earned), 2 before 3 (the lower id), 5 (one message) last, and
    # member 4, who only reacted, not at all (there is room for ten).
    assert [t.user_id for t in top] == [people[n].user_id for n in (1, 0, 2, 3, 5)]
    assert top == top_members(every, 10)
    assert people[4].user_id in {t.user_id for t in every}


async def test_response_totals_are_summed_and_the_median_wait_is_exact(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    # Messages 1 to 3 get first replies after 10 min + 3 µs, 30 min + 1 µs and 50 min; message 4
    # only a reaction; message 5 is posted at the window's end, outside it.
    waits = {1: timedelta(minutes=10, microseconds=3), 2: timedelta(minutes=30, microseconds=1)}
    posted = [message(n, BOB, T0 + timedelta(minutes=n)) for n in range(1, 6)]
    answers = [
        message(10 + n, ALICE, T0 + timedelta(minutes=n) + wait, reply_to_message_id=n)
        for n, wait in waits.items()
    ]
    later = message(13, CAROL, T0 + timedelta(minutes=53), reply_to_message_id=3)
    reaction = other(104, EventKind.REACTION_ADDED, ALICE, _at(2), message_id=4, reaction="👍")
    outside = message(15, ALICE, _at(3), reply_to_message_id=5)
    await _record(uow_factory, posted, answers, [reaction, outside])
    until = T0 + timedelta(minutes=5)
    async with uow_factory() as uow:
        even = await uow.rollups.response_totals(CHAT, T0, until)
        sums = await uow.rollups.response_totals(CHAT, T0, until, median=False)
        waits = await uow.rollups.reply_waits(CHAT, T0, until)
    # The waits worked out in the database, to the microsecond (message 3's first reply
    # comes later, message 4 got none).
    assert sorted(waits) == [600.000003, 1800.000001]
    assert sums == replace(even, median_first_reply=None)
    assert even == ResponseTotals(
        answered=3,  # 1, 2 and 4
        replies=2,
        reactions=1,
        median_first_reply=timedelta(minutes=20, microseconds=2),  # between 10 and 30 minutes
    )
    await _record(uow_factory, [later])
    async with uow_factory() as uow:
        odd = await uow.rollups.response_totals(CHAT, T0, until)
        listed = await uow.rollups.responses(CHAT, T0, until)
        empty = await uow.rollups.response_totals(CHAT, until + timedelta(days=1), _at(48))
    assert odd.median_first_reply == timedelta(minutes=30, microseconds=1)
    assert odd == ResponseTotals.of(listed)
    assert empty == ResponseTotals()


async def test_the_members_first_seen_or_joined_in_a_window(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    # Bob joins at T0; Alice is first seen at T0 + 10 min, and Carol leaving a day later.
    await _record(uow_factory, _history())
    since = T0 + timedelta(minutes=1)
    async with uow_factory() as uow:
        seen = await uow.rollups.first_seen_between(CHAT, since, _at(24))
        seen_by_then = await uow.rollups.first_seen_between(CHAT, since, _at(25))
        joined = await uow.rollups.joined_since(CHAT, since)
        all_joined = await uow.rollups.joined_since(CHAT, T0)
        joins = await uow.rollups.joins_since(CHAT, [T0, since], _at(48))
        none_yet = await uow.rollups.joins_since(CHAT, [T0], T0)  # the window ends as Bob joins
    assert seen == {ALICE.user_id}  # Carol at the window's end is outside it
    assert seen_by_then == {ALICE.user_id, CAROL.user_id}
    assert sorted(m.user_id for m in joined) == sorted([ALICE.user_id, CAROL.user_id])
    assert {m.user_id for m in all_joined} >= {ALICE.user_id, BOB.user_id}
    assert (joins, none_yet) == ([1, 0], [0])  # Bob joined at T0; the others never joined


async def test_members_removed_counts_erasures_opt_outs_and_moves_in(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    """What reports keep is read again after any of these: each counts a removal of the
    groups it deletes memberships from (a new member counts none)."""
    other_group = GroupRef(OTHER_CHAT, "Other", "supergroup")
    await _record(uow_factory, _history(), [message(50, ALICE, _at(2), group=other_group)])

    async def removed() -> tuple[int, int]:
        async with uow_factory() as uow:
            return (
                await uow.rollups.members_removed(CHAT),
                await uow.rollups.members_removed(OTHER_CHAT),
            )

    assert await removed() == (0, 0)
    await _record(uow_factory, [message(51, Actor(77, "Newcomer"), _at(3))])
    assert await removed() == (0, 0)
    async with uow_factory() as uow:
        await uow.members.erase(ALICE.user_id)  # a member of both groups
        await uow.commit()
    assert await removed() == (1, 1)
    async with uow_factory() as uow:
        await uow.recognition.anonymise(CHAT, BOB.user_id)  # opting out
        await uow.commit()
    assert await removed() == (2, 1)
    async with uow_factory() as uow:
        await uow.groups.migrate(CHAT, OTHER_CHAT)  # CHAT's members move into OTHER_CHAT
        await uow.commit()
    assert (await removed())[1] == 2


async def test_stats_windows_from_the_kept_days_are_the_sql_counts(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    """`/stats` counts its windows from the members per local day the analytics service keeps;
    `/health` counts them in SQL. Around Tokyo's midnight, with joins and an erasure, they agree.
    """
    people = [Actor(500 + n, f"Member {n}") for n in range(8)]
    history: list[EngagementEvent] = []
    for n in range(40):
        day = T0 - timedelta(days=n)
        # 14:30 and 15:30 UTC: 23:30 on one Tokyo day and 00:30 on the next.
        history.append(message(1000 + n, people[n % 5], day + timedelta(hours=2.5)))
        history.append(message(2000 + n, people[5 + n % 3], day + timedelta(hours=3.5)))
        if n % 6 == 0:
            history.append(other(3000 + n, EventKind.JOIN, people[n % 8], day + timedelta(hours=1)))
    await _record(uow_factory, history)
    async with uow_factory() as uow:
        await uow.groups.update_settings(GroupSettings(CHAT, "Makers", "Asia/Tokyo"))
        await uow.members.erase(people[1].user_id)
        await uow.commit()
    clock = FakeClock(T0 + timedelta(hours=4))  # 01:00 in Tokyo, after today's first post
    for wait in (0, 45 * 60):
        clock.advance(wait)
        kept, _, _ = await AnalyticsService(uow_factory, clock, "UTC").stats(CHAT, 7)
        counted = await StatsService(uow_factory, clock, "UTC").group_report(CHAT)
        assert kept == counted
        assert [days for days, _ in kept.windows] == [1, 7, 30]
    assert kept.windows[2][1].active_members == 7  # everyone but the erased member
    assert kept.windows[0][1] == WindowStats(messages=1, active_members=1, new_members=0)


def _reference_fold(
    batches: Sequence[Sequence[EngagementEvent]],
) -> dict[int, tuple[list[HourTotals], list[MemberDay], list[Response]]]:
    """The rollups by their definition, folded event by event in Python, batch by batch: a
    response finds the message it answers only once that message is stored (this batch
    included), and an event already stored is skipped."""
    stored: dict[str, EngagementEvent] = {}
    hours: dict[tuple[int, datetime], list[int]] = {}
    days: dict[tuple[int, object, int], list[int]] = {}
    responses: dict[tuple[int, int], list[Any]] = {}
    for batch in batches:
        new = {e.dedup_key: e for e in reversed(batch) if e.dedup_key not in stored}
        stored.update(new)
        for e in new.values():
            chat, who, kind, at = e.group.chat_id, e.actor, e.kind, e.occurred_at
            reply = kind is EventKind.MESSAGE and e.reply_to_message_id is not None
            hour = hours.setdefault((chat, at.replace(minute=0, second=0, microsecond=0)), [0] * 5)
            hour[0] += kind is EventKind.MESSAGE
            hour[1] += reply
            hour[2] += kind is EventKind.REACTION_ADDED
            hour[3] += kind is EventKind.JOIN
            hour[4] += kind in (EventKind.LEAVE, EventKind.KICK)
            if who is None or kind not in (
                EventKind.MESSAGE,
                EventKind.EDIT,
                EventKind.REACTION_ADDED,
            ):
                continue
            day = days.setdefault((chat, at.date(), who.user_id), [0] * 6)
            day[0] |= 1 << at.hour
            day[1] += kind is EventKind.MESSAGE
            day[2] += reply
            day[3] += kind is EventKind.REACTION_ADDED
            target = (
                e.reply_to_message_id
                if kind is EventKind.MESSAGE
                else e.message_id
                if kind is EventKind.REACTION_ADDED
                else None
            )
            if target is None:
                continue
            original = stored.get(EngagementEvent.message_key(chat, target))
            author = original.actor if original is not None else None
            if original is None or (author is not None and author.user_id == who.user_id):
                continue
            response = responses.setdefault((chat, target), [original.occurred_at, None, 0, 0])
            if reply:
                response[1] = at if response[1] is None else min(response[1], at)
                response[2] += 1
            else:
                response[3] += 1
            if author is not None:
                credit = days.setdefault((chat, at.date(), author.user_id), [0] * 6)
                credit[4 if reply else 5] += 1
    chats = {chat for chat, _ in hours}
    return {
        chat: (
            [HourTotals(h, *c) for (ch, h), c in sorted(hours.items()) if ch == chat],
            sorted(
                (MemberDay(user, day, *c) for (ch, day, user), c in days.items() if ch == chat),
                key=lambda d: (d.day, d.user_id),
            ),
            sorted(
                (Response(m, *r) for (ch, m), r in responses.items() if ch == chat),
                key=lambda r: (r.posted_at, r.message_id),
            ),
        )
        for chat in chats
    }


async def test_the_fold_in_sql_matches_the_rollups_definition_on_random_traffic(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    """Two groups, anonymous posters, self-replies, replies to messages stored later or never,
    edits and membership changes, at microsecond times across UTC midnights, in random batches
    with redeliveries: each rollup is what the definition gives, on both databases, with
    PostgreSQL's sessions set to India's time zone (UTC+5:30)."""
    async with uow_factory() as uow:
        if uow.session.get_bind().dialect.name == "postgresql":
            name = await uow.session.scalar(text("SELECT current_database()"))
            await uow.session.execute(text(f"ALTER DATABASE \"{name}\" SET timezone TO '{INDIA}'"))
            await uow.session.execute(text(f"SET TIME ZONE '{INDIA}'"))  # this pooled session
            await uow.commit()
    rng = random.Random(8)
    groups = [GROUP, GroupRef(OTHER_CHAT, "Other", "supergroup")]
    people: list[Actor | None] = [ALICE, BOB, CAROL, None]
    start = T0.replace(hour=20)
    events: list[EngagementEvent] = []
    for n in range(1, 400):
        group, who = rng.choice(groups), rng.choice(people)
        at = start + timedelta(seconds=rng.randrange(3 * 86_400), microseconds=rng.randrange(10**6))
        roll = rng.random()
        target = rng.randrange(1, n + 40)  # sometimes a message that never comes
        if roll < 0.5:
            reply = {"reply_to_message_id": target} if rng.random() < 0.5 else {}
            events.append(message(n, who, at, group, **reply))
        elif roll < 0.75:
            kind = rng.choice([EventKind.REACTION_ADDED, EventKind.REACTION_REMOVED])
            events.append(other(10_000 + n, kind, who, at, group, message_id=target, reaction="👍"))
        elif roll < 0.85:
            events.append(other(10_000 + n, EventKind.EDIT, who, at, group, message_id=target))
        else:
            kind = rng.choice([EventKind.JOIN, EventKind.LEAVE, EventKind.KICK])
            events.append(other(10_000 + n, kind, who or CAROL, at, group))
    rng.shuffle(events)
    cuts = sorted(rng.sample(range(1, len(events)), 12))
    batches = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    batches += rng.sample(batches, 4)  # redelivered
    await _record(uow_factory, *batches)
    expected = _reference_fold(batches)
    async with uow_factory() as uow:
        for group in groups:
            chat = group.chat_id
            found = (
                await uow.rollups.hour_totals(chat, *EVER),
                await uow.rollups.member_days(chat, EVER[0].date(), EVER[1].date()),
                await uow.rollups.responses(chat, *EVER),
            )
            assert found == expected[chat]
            hours = found[0]
            # A window starting and ending on stored hours reads them (hours are stored in the
            # form the readers bind).
            edges = (hours[0].hour, hours[-1].hour + timedelta(hours=1))
            assert await uow.rollups.hour_totals(chat, *edges) == hours
    assert all(expected[g.chat_id][2] for g in groups)  # responses were exercised
