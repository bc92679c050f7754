"""Recognition, the pure parts: points for contribution, badges, standings and invite credit.

Points come from three sources, each guarded against being farmed:

- a message earns `MESSAGE_POINTS` at most once per `MESSAGE_COOLDOWN` per member and at most
  `MESSAGE_POINTS_PER_DAY` a UTC day (`Cooldown`), so flooding earns nothing; commands,
  forwards and stickers earn nothing (`earns_message_points`);
- answering another member's question (the hand-off's first human answer) earns
  `ANSWER_POINTS`;
- reactions received from others earn one point each, at most `REACTION_POINTS_PER_DAY` a day.

A personal invite counts (`invite_state`) only for a newcomer who joined by the link, is still
in the group `INVITE_STAY` later and has posted; a member returning to a group they were in
before counts for no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.events import MessageKind

MESSAGE_POINTS = 1
MESSAGE_COOLDOWN = timedelta(seconds=60)
MESSAGE_POINTS_PER_DAY = 50
ANSWER_POINTS = 5
REACTION_POINTS_PER_DAY = 10
WEEK = timedelta(days=7)

STREAK_DAYS = 7
HELPFUL_ANSWERS = 10
TOP_INVITER_MIN = 3  # credited invites before anyone can be the top inviter

INVITE_STAY = timedelta(days=7)
JOIN_SLACK = timedelta(minutes=1)  # seen this long before the join: not a newcomer
ANNOUNCE_EVERY = timedelta(days=1)
ANNOUNCE_HOURS = range(10, 21)  # local hours 10:00–20:59

_SCORED_KINDS = frozenset({MessageKind.TEXT, MessageKind.MEDIA, MessageKind.POLL})


class Badge(StrEnum):
    """Milestones a member earns once per group."""

    FIRST_ANSWER = "first_answer"
    STREAK = "streak_7"
    HELPFUL = "helpful_answerer"
    TOP_INVITER = "top_inviter"


def earns_message_points(kind: MessageKind | None, forwarded: bool) -> bool:
    """Whether a message of this kind can earn points: the member's own words, media or poll."""
    return kind in _SCORED_KINDS and not forwarded


@dataclass(slots=True)
class _Credit:
    last: datetime
    day: date
    today: int


class Cooldown:
    """One group's message credits: who earned a point when, and how many today (UTC)."""

    def __init__(
        self,
        cooldown: timedelta = MESSAGE_COOLDOWN,
        per_day: int = MESSAGE_POINTS_PER_DAY,
    ) -> None:
        self._cooldown = cooldown
        self._per_day = per_day
        self._credits: dict[int, _Credit] = {}
        self._day: date | None = None

    def remember(self, user_id: int, last: datetime, today: int) -> None:
        """What the database says a member earned today (loaded before judging)."""
        self._credits[user_id] = _Credit(last, last.date(), today)

    def credit(self, user_id: int, at: datetime) -> bool:
        """Whether a message at `at` earns points; if so it is counted."""
        day = at.date()
        if self._day != day:
            self._forget_before(day, at - self._cooldown)
            self._day = day
        known = self._credits.get(user_id)
        if known is None:
            self._credits[user_id] = _Credit(at, day, 1)
            return True
        if at - known.last < self._cooldown:
            return False
        today = known.today if known.day == day else 0
        if today >= self._per_day:
            return False
        known.last, known.day, known.today = at, day, today + 1
        return True

    def __len__(self) -> int:
        return len(self._credits)

    def _forget_before(self, day: date, moment: datetime) -> None:
        # A new day: earlier days' counts are over; only a cooldown still running is kept.
        self._credits = {u: c for u, c in self._credits.items() if c.day == day or c.last > moment}


@dataclass(frozen=True, slots=True)
class Contribution:
    """What one member did in a period, as points are counted."""

    user_id: int
    messages: int = 0  # messages that earned points
    answers: int = 0  # questions answered
    reactions: int = 0  # reactions received, capped per day

    @property
    def points(self) -> int:
        return self.messages * MESSAGE_POINTS + self.answers * ANSWER_POINTS + self.reactions


def capped_reactions(per_day: Iterable[int]) -> int:
    """Reaction points from a member's reactions received, day by day."""
    return sum(min(count, REACTION_POINTS_PER_DAY) for count in per_day)


def contributions(
    messages: Mapping[int, int], answers: Mapping[int, int], reactions: Mapping[int, int]
) -> list[Contribution]:
    """Each member's contribution from the three sources (members with nothing are left out)."""
    members = set(messages) | set(answers) | set(reactions)
    found = [
        Contribution(u, messages.get(u, 0), answers.get(u, 0), reactions.get(u, 0)) for u in members
    ]
    return [c for c in found if c.points > 0]


@dataclass(frozen=True, slots=True)
class Standing:
    """A member's place on a board: rank 1 is first; equal points share a rank."""

    rank: int
    contribution: Contribution

    @property
    def user_id(self) -> int:
        return self.contribution.user_id

    @property
    def points(self) -> int:
        return self.contribution.points


def standings(found: Iterable[Contribution]) -> list[Standing]:
    """The board: most points first, ties sharing a rank ("1, 2, 2, 4"), then by member id."""
    ordered = sorted(found, key=lambda c: (-c.points, c.user_id))
    board: list[Standing] = []
    for position, contribution in enumerate(ordered, start=1):
        tied = board and board[-1].points == contribution.points
        rank = board[-1].rank if tied else position
        board.append(Standing(rank, contribution))
    return board


def standing_of(board: Iterable[Standing], user_id: int) -> Standing | None:
    """A member's place on a board, if they have points."""
    return next((s for s in board if s.user_id == user_id), None)


def longest_streak(days: Iterable[date]) -> int:
    """The most consecutive days in `days` (in any order, repeats allowed)."""
    best = run = 0
    previous: date | None = None
    for day in sorted(set(days)):
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        best = max(best, run)
        previous = day
    return best


def top_inviter(credited: Mapping[int, int]) -> int | None:
    """The one member with the most credited invites (at least `TOP_INVITER_MIN`; no tie)."""
    ranked = sorted(credited.items(), key=lambda item: -item[1])
    if not ranked or ranked[0][1] < TOP_INVITER_MIN:
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return ranked[0][0]


def badges_earned(answers: int, streak: int, is_top_inviter: bool) -> set[Badge]:
    """The badges a member's all-time record earns."""
    earned: set[Badge] = set()
    if answers >= 1:
        earned.add(Badge.FIRST_ANSWER)
    if answers >= HELPFUL_ANSWERS:
        earned.add(Badge.HELPFUL)
    if streak >= STREAK_DAYS:
        earned.add(Badge.STREAK)
    if is_top_inviter:
        earned.add(Badge.TOP_INVITER)
    return earned


def announcement_due(last: datetime | None, now: datetime, local_hour: int) -> bool:
    """Whether a group may hear a badge announcement now: at most one a day, and in its
    daytime (`ANNOUNCE_HOURS` of the group's local clock), like a post someone would make."""
    if local_hour not in ANNOUNCE_HOURS:
        return False
    return last is None or now - last >= ANNOUNCE_EVERY


class InviteState(StrEnum):
    """Where a member who joined by someone's personal link stands."""

    PENDING = "pending"  # not yet 7 days in the group, or has not posted
    QUALIFIED = "qualified"  # stayed 7 days and posted: the inviter is credited
    LEFT = "left"  # left (or was removed) before qualifying
    RETURNING = "returning"  # was in the group before: not a new member


@dataclass(frozen=True, slots=True)
class Invitee:
    """A member who joined by a personal link, as the memberships record them."""

    user_id: int
    inviter_id: int
    joined_at: datetime
    first_seen_at: datetime
    present: bool
    messages: int


def invite_state(invitee: Invitee, now: datetime) -> InviteState:
    """Whether an invite counts yet (see the module's first paragraph)."""
    if invitee.user_id == invitee.inviter_id or (
        invitee.first_seen_at < invitee.joined_at - JOIN_SLACK
    ):
        return InviteState.RETURNING
    if not invitee.present:
        return InviteState.LEFT
    if now - invitee.joined_at < INVITE_STAY or invitee.messages < 1:
        return InviteState.PENDING
    return InviteState.QUALIFIED
