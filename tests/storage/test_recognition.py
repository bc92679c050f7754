"""Points, boards and badges from hand-built histories, on SQLite and PostgreSQL.

Rows are written straight into the tables recognition reads (point awards, the hand-off's
questions, the member-day rollups, invite credits), so each figure below is worked out by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.domain.events import GroupRef
from bot.domain.recognition import ANSWER_POINTS, REACTION_POINTS_PER_DAY, Badge
from bot.domain.watching import Decision
from bot.ports import GroupSettings, Outcome, Priority
from bot.services.engagement import EngagementRecorder
from bot.services.personal_data import PersonalDataService
from bot.services.recognition import AWARD, RecognitionService
from storage.models import (
    invite_credits_table,
    member_days_table,
    point_awards_table,
    questions_table,
    users_table,
)
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GROUP = GroupRef(chat_id=-100555, title="Makers", type="supergroup")
ALICE, BOB, CAROL, DAN, ERIN = 11, 12, 13, 14, 15


class Gateway:
    """Keeps what the service sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, Priority]] = []

    async def send_message(self, chat_id: int, text: str, **options: Any) -> Outcome:
        self.sent.append((chat_id, text, options["priority"]))
        return Outcome(True, {"message_id": len(self.sent)})


class Wording:
    def announcement(self, badges: Sequence[tuple[str, Badge]], locale: str) -> str:
        return "; ".join(f"{name}={badge.value}" for name, badge in badges)


def _service(uow_factory: SqlUnitOfWorkFactory, gateway: Gateway, clock: FakeClock) -> Any:
    recorder = EngagementRecorder(uow_factory, clock)
    return RecognitionService(uow_factory, clock, gateway, recorder, Wording())


def _question(message_id: int, asker: int, answerer: int | None, at: datetime, by: str) -> dict:  # type: ignore[type-arg]
    return {
        "chat_id": GROUP.chat_id,
        "message_id": message_id,
        "asker_id": asker,
        "asker_name": "",
        "follow_ups": [],
        "asked_at": at,
        "last_message_at": at,
        "state": "answered",
        "handoff_at": at,
        "sla_at": at,
        "closed_at": at + timedelta(minutes=5),
        "closed_by": answerer,
        "answerer": by,
        "notices": [],
    }


def _day(user: int, days_ago: int, messages: int = 1, reactions: int = 0) -> dict:  # type: ignore[type-arg]
    return {
        "chat_id": GROUP.chat_id,
        "day": (NOW - timedelta(days=days_ago)).date(),
        "user_id": user,
        "active_hours": 1,
        "messages": messages,
        "replies": 0,
        "reactions": 0,
        "replies_received": 0,
        "reactions_received": reactions,
    }


async def _history(uow_factory: SqlUnitOfWorkFactory) -> None:
    awards = [(ALICE, NOW - timedelta(hours=h)) for h in (1, 2, 3)]
    awards += [(ALICE, NOW - timedelta(days=10, hours=h)) for h in (1, 2)]
    awards += [(DAN, NOW - timedelta(hours=h)) for h in range(1, 30)]  # Dan will opt out
    async with uow_factory() as uow:
        await uow.groups.upsert_many([GROUP], NOW)
        s = uow.session
        await s.execute(
            insert(users_table),
            [
                {"user_id": u, "first_name": name, "username": name.lower(), "updated_at": NOW}
                for u, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (ERIN, "Erin"))
            ],
        )
        await s.execute(
            insert(point_awards_table),
            [
                {"chat_id": GROUP.chat_id, "message_id": n, "user_id": u, "awarded_at": at}
                for n, (u, at) in enumerate(awards, start=1)
            ],
        )
        questions = [
            _question(900, CAROL, BOB, NOW - timedelta(days=1), "member"),
            _question(901, BOB, BOB, NOW - timedelta(days=1), "member"),  # own: no points
            _question(902, CAROL, None, NOW - timedelta(days=1), "faq"),  # not a person
            _question(903, CAROL, ALICE, NOW - timedelta(days=1), "asker"),  # "solved"
        ]
        questions += [
            _question(1000 + n, CAROL, ERIN, NOW - timedelta(days=40), "moderator")
            for n in range(10)
        ]
        await s.execute(insert(questions_table), questions)
        days = [_day(BOB, 2, reactions=25), _day(CAROL, 20, reactions=4)]
        days += [_day(ALICE, d) for d in range(7)]  # a 7-day streak
        days += [_day(CAROL, d) for d in (1, 2, 3, 5, 6, 7, 8)]  # broken on day 4
        await s.execute(insert(member_days_table), days)
        await s.execute(
            insert(invite_credits_table),
            [
                {
                    "chat_id": GROUP.chat_id,
                    "invitee_id": 100 + n,
                    "inviter_id": inviter,
                    "joined_at": NOW - timedelta(days=10),
                    "credited_at": NOW - timedelta(days=2),
                }
                for n, inviter in enumerate((ALICE, ALICE, ALICE, BOB))
            ],
        )
        await uow.commit()


async def test_boards_from_a_hand_built_history(uow_factory: SqlUnitOfWorkFactory) -> None:
    await _history(uow_factory)
    clock = FakeClock(NOW)
    service = _service(uow_factory, Gateway(), clock)
    await service.load()
    service._opted_out.add((GROUP.chat_id, DAN))  # as /optout leaves it

    board = await service.leaderboard(GROUP.chat_id)
    # All time: Bob 5 (answer) + 10 (25 reactions, capped) = 15; Erin 50; Alice 5; Carol 4.
    assert [(s.rank, s.user_id, s.points) for s in board.all_time] == [
        (1, ERIN, 10 * ANSWER_POINTS),
        (2, BOB, ANSWER_POINTS + REACTION_POINTS_PER_DAY),
        (3, ALICE, 5),
        (4, CAROL, 4),
    ]
    # The last 7 days: Erin's answers and Alice's older points and Carol's reactions drop out.
    assert [(s.rank, s.user_id, s.points) for s in board.weekly] == [
        (1, BOB, 15),
        (2, ALICE, 3),
    ]
    assert board.names[BOB] == "Bob"  # no @handle

    rank = await service.rank(GROUP.chat_id, ALICE)
    assert rank.all_time is not None and rank.all_time.rank == 3 and rank.ranked == 4
    assert rank.weekly is not None and rank.weekly.rank == 2
    assert (await service.rank(GROUP.chat_id, DAN)).all_time is None


async def test_badges_earned_once_and_announced_at_most_daily(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _history(uow_factory)
    clock = FakeClock(NOW)
    gateway = Gateway()
    service = _service(uow_factory, gateway, clock)
    await service.load()

    assert await service.award_badges() == 5
    async with uow_factory() as uow:
        held = await uow.recognition.badges(GROUP.chat_id)
    assert held == {
        ALICE: {Badge.STREAK, Badge.TOP_INVITER},  # 7 days in a row; 3 credited invites
        BOB: {Badge.FIRST_ANSWER},
        ERIN: {Badge.FIRST_ANSWER, Badge.HELPFUL},  # 10 answers
    }
    assert CAROL not in held  # six days, then a gap
    assert await service.award_badges() == 0

    # Noon in UTC is 21:00 in Tokyo: a group there hears it in its morning, not at night.
    async with uow_factory() as uow:
        await uow.groups.update_settings(GroupSettings(GROUP.chat_id, "Makers", "Asia/Tokyo"))
        await uow.commit()
    assert await service.announce_badges() == 0
    clock.advance(timedelta(hours=13).total_seconds())  # 10:00 in Tokyo
    assert await service.announce_badges() == 1
    ((chat_id, sent, priority),) = gateway.sent
    assert chat_id == GROUP.chat_id and priority is Priority.CONTENT
    assert "Alice=streak_7" in sent and "Erin=helpful_answerer" in sent
    assert await service.announce_badges() == 0  # nothing new


async def test_mydata_shows_and_forgetme_erases_recognition(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    await _history(uow_factory)
    clock = FakeClock(NOW)
    service = _service(uow_factory, Gateway(), clock)
    await service.award_badges()
    other = GroupRef(chat_id=-100666, title="Kites", type="supergroup")
    async with uow_factory() as uow:
        await uow.groups.upsert_many([other], NOW)
        await uow.recognition.save_link(GROUP.chat_id, ALICE, "https://t.me/+alice", NOW)
        await uow.recognition.opt_out(other.chat_id, ALICE, NOW)
        # Alice was herself brought in by Bob, and her credit to him counted.
        await uow.session.execute(
            insert(invite_credits_table).values(
                chat_id=GROUP.chat_id,
                invitee_id=ALICE,
                inviter_id=BOB,
                joined_at=NOW - timedelta(days=30),
                credited_at=NOW - timedelta(days=20),
            )
        )
        await uow.commit()
    personal = PersonalDataService(uow_factory, EngagementRecorder(uow_factory, clock))

    shown = {f.chat_id: f for f in await personal.recognition(ALICE)}
    mine = shown[GROUP.chat_id]
    assert (mine.title, mine.points_messages, mine.invite_link, mine.invites_credited) == (
        "Makers",
        5,
        "https://t.me/+alice",
        3,
    )
    assert set(mine.badges) == {Badge.STREAK, Badge.TOP_INVITER} and not mine.opted_out
    assert shown[other.chat_id].opted_out and shown[other.chat_id].title == "Kites"

    await personal.erase(ALICE)
    left = await personal.recognition(ALICE)
    # Only her standing instruction stays: the opt-out.
    assert [(f.chat_id, f.opted_out, f.points_messages, f.badges) for f in left] == [
        (other.chat_id, True, 0, ())
    ]
    async with uow_factory() as uow:
        assert ALICE not in await uow.recognition.message_points(GROUP.chat_id, None)
        assert ALICE not in await uow.recognition.badges(GROUP.chat_id)
        assert await uow.recognition.link_of(GROUP.chat_id, ALICE) is None
        assert ALICE not in await uow.recognition.credits(GROUP.chat_id)
        # Bob keeps the credit she earned him, without her name.
        assert (await uow.recognition.credits(GROUP.chat_id))[BOB] == 2
        assert ALICE not in await uow.recognition.credited(GROUP.chat_id)


async def test_an_award_applied_twice_counts_once(uow_factory: SqlUnitOfWorkFactory) -> None:
    clock = FakeClock(NOW)
    service = _service(uow_factory, Gateway(), clock)
    award = Decision(
        AWARD, GROUP.chat_id, 7, {"user_id": ALICE, "at": (NOW - timedelta(minutes=1)).isoformat()}
    )
    async with uow_factory() as uow:
        assert await service.write_awards(uow, [award]) == ()
        await uow.commit()
    # After a crash the applier may apply the same decision again: it adds nothing.
    assert await service.apply_award(award)
    assert service.metrics.awarded == 1
    async with uow_factory() as uow:
        assert await uow.recognition.message_points(GROUP.chat_id, None) == {ALICE: 1}
    # A member who opted out between the judgment and the write earns nothing.
    service._opted_out.add((GROUP.chat_id, BOB))
    late = Decision(AWARD, GROUP.chat_id, 8, {"user_id": BOB, "at": NOW.isoformat()})
    assert await service.apply_award(late)
    async with uow_factory() as uow:
        assert BOB not in await uow.recognition.message_points(GROUP.chat_id, None)
