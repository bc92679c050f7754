"""Recognition's pure rules on hand-built histories: points, standings, badges, invites."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.events import MessageKind
from bot.domain.recognition import (
    ANSWER_POINTS,
    HELPFUL_ANSWERS,
    MESSAGE_COOLDOWN,
    MESSAGE_POINTS_PER_DAY,
    REACTION_POINTS_PER_DAY,
    Badge,
    Contribution,
    Cooldown,
    Invitee,
    InviteState,
    announcement_due,
    badges_earned,
    capped_reactions,
    contributions,
    earns_message_points,
    invite_state,
    longest_streak,
    standing_of,
    standings,
    top_inviter,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_a_flood_earns_one_point_a_minute() -> None:
    cooldown = Cooldown()
    # 600 messages in ten minutes, one a second: ten points, not 600.
    earned = sum(cooldown.credit(1, T0 + timedelta(seconds=s)) for s in range(600))
    assert earned == 10
    # Another member's flood does not use up the first one's cooldown.
    assert cooldown.credit(2, T0 + timedelta(seconds=5))


def test_the_cooldown_boundary() -> None:
    cooldown = Cooldown()
    assert cooldown.credit(1, T0)
    assert not cooldown.credit(1, T0 + MESSAGE_COOLDOWN - timedelta(seconds=1))
    assert cooldown.credit(1, T0 + MESSAGE_COOLDOWN)
    # An out-of-order older message earns nothing either.
    assert not cooldown.credit(1, T0)


def test_a_day_caps_message_points_and_the_next_day_starts_again() -> None:
    cooldown = Cooldown()
    day = [
        cooldown.credit(1, T0 + i * MESSAGE_COOLDOWN) for i in range(MESSAGE_POINTS_PER_DAY + 20)
    ]
    assert sum(day) == MESSAGE_POINTS_PER_DAY
    tomorrow = datetime(2026, 11, 21, 0, 5, tzinfo=UTC)
    assert cooldown.credit(1, tomorrow)


def test_credits_loaded_from_the_database_count() -> None:
    cooldown = Cooldown()
    cooldown.remember(1, T0, MESSAGE_POINTS_PER_DAY)
    assert not cooldown.credit(1, T0 + timedelta(hours=1))  # today's cap already reached
    cooldown.remember(2, T0, 1)
    assert not cooldown.credit(2, T0 + timedelta(seconds=30))  # still cooling down


def test_a_new_day_forgets_members_no_longer_cooling_down() -> None:
    cooldown = Cooldown()
    for user in range(100):
        cooldown.credit(user, T0)
    cooldown.credit(500, datetime(2026, 11, 21, 0, 0, 10, tzinfo=UTC))
    assert len(cooldown) == 1


@pytest.mark.parametrize(
    ("kind", "forwarded", "earns"),
    [
        (MessageKind.TEXT, False, True),
        (MessageKind.MEDIA, False, True),
        (MessageKind.POLL, False, True),
        (MessageKind.TEXT, True, False),
        (MessageKind.FORWARD, False, False),
        (MessageKind.STICKER, False, False),
        (MessageKind.COMMAND, False, False),
        (None, False, False),
    ],
)
def test_which_messages_earn(kind: MessageKind | None, forwarded: bool, earns: bool) -> None:
    assert earns_message_points(kind, forwarded) is earns


def test_points_add_the_three_sources() -> None:
    assert Contribution(1, messages=7, answers=2, reactions=3).points == 7 + 2 * ANSWER_POINTS + 3
    assert capped_reactions([3, 40, 0]) == 3 + REACTION_POINTS_PER_DAY
    found = contributions({1: 4, 2: 0}, {2: 1}, {3: 2, 4: 0})
    assert sorted((c.user_id, c.points) for c in found) == [(1, 4), (2, ANSWER_POINTS), (3, 2)]


def test_standings_share_ranks_on_ties() -> None:
    board = standings(
        [
            Contribution(10, messages=5),
            Contribution(11, messages=9),
            Contribution(12, messages=5),
            Contribution(13, messages=1),
        ]
    )
    assert [(s.rank, s.user_id, s.points) for s in board] == [
        (1, 11, 9),
        (2, 10, 5),
        (2, 12, 5),
        (4, 13, 1),
    ]
    found = standing_of(board, 12)
    assert found is not None and found.rank == 2
    assert standing_of(board, 99) is None


def test_longest_streak() -> None:
    d = date(2026, 11, 1)
    week = [d + timedelta(days=i) for i in range(7)]
    assert longest_streak(week) == 7
    assert longest_streak([*week[:3], *week[4:]]) == 3  # a gap breaks it
    assert longest_streak(list(reversed(week)) + week) == 7  # order and repeats do not matter
    assert longest_streak([]) == 0


def test_top_inviter_needs_a_lead_and_a_minimum() -> None:
    assert top_inviter({1: 3, 2: 1}) == 1
    assert top_inviter({1: 2}) is None  # too few
    assert top_inviter({1: 4, 2: 4}) is None  # a tie has no top
    assert top_inviter({}) is None


def test_badges() -> None:
    assert badges_earned(0, 6, False) == set()
    assert badges_earned(1, 7, False) == {Badge.FIRST_ANSWER, Badge.STREAK}
    assert badges_earned(HELPFUL_ANSWERS, 0, True) == {
        Badge.FIRST_ANSWER,
        Badge.HELPFUL,
        Badge.TOP_INVITER,
    }
    assert badges_earned(HELPFUL_ANSWERS - 1, 0, False) == {Badge.FIRST_ANSWER}


def test_at_most_one_announcement_a_day() -> None:
    noon = 12
    assert announcement_due(None, T0, noon)
    assert not announcement_due(T0, T0 + timedelta(hours=23, minutes=59), noon)
    assert announcement_due(T0, T0 + timedelta(days=1), noon)
    # Only in the group's daytime: not at 3 in the morning, nor from 21:00.
    assert not announcement_due(None, T0, 3)
    assert announcement_due(None, T0, 10) and announcement_due(None, T0, 20)
    assert not announcement_due(None, T0, 21) and not announcement_due(None, T0, 9)


def invitee(**changes: object) -> Invitee:
    values: dict[str, object] = {
        "user_id": 2,
        "inviter_id": 1,
        "joined_at": T0,
        "first_seen_at": T0,
        "present": True,
        "messages": 1,
    }
    values.update(changes)
    return Invitee(**values)  # type: ignore[arg-type]


def test_an_invite_counts_once_the_newcomer_stays_a_week_and_posts() -> None:
    week = T0 + timedelta(days=7)
    assert invite_state(invitee(), week) is InviteState.QUALIFIED
    assert invite_state(invitee(), week - timedelta(seconds=1)) is InviteState.PENDING
    assert invite_state(invitee(messages=0), week + timedelta(days=30)) is InviteState.PENDING
    assert invite_state(invitee(present=False), week) is InviteState.LEFT
    # Someone who was in the group before, or the inviter themselves, earns no one credit.
    returning = invitee(first_seen_at=T0 - timedelta(days=3))
    assert invite_state(returning, week) is InviteState.RETURNING
    assert invite_state(invitee(user_id=1), week) is InviteState.RETURNING
