"""Recognition at work: the points watcher, standings, badges and their announcement, personal
invite links and their credit, and opting out.

- **Points.** The watcher (`points`) judges each new group message: past the member's cooldown
  it decides `points.message`, written with the message (`write_awards`, in the recorder's
  transaction; `apply_award` is the fallback) into `point_awards`, keyed by the message so it
  counts once. Each chat's cooldowns are kept in memory, loaded from today's awards the first
  time the chat is seen. Answers and reactions are read when a board is asked for.
- **Badges** are earned by a tick (`award_badges`) from the all-time record and announced by
  another (`announce_badges`): one message per group listing every badge not yet announced, at
  most one a day, at content priority.
- **Invites.** `/invite` makes (once) a member's own link with createChatInviteLink; the link's
  joins are the memberships whose latest join came through it. A tick (`credit_invites`)
  credits the inviter once per newcomer who stayed 7 days and posted.
- **Opting out** adds the (chat, user) pair to the recorder's set, so everything written from
  then on is anonymous, and takes the member's identity out of what the group holds already.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain.events import EventKind, MessageKind
from bot.domain.recognition import (
    STREAK_DAYS,
    WEEK,
    Badge,
    Cooldown,
    InviteState,
    Standing,
    announcement_due,
    badges_earned,
    contributions,
    earns_message_points,
    invite_state,
    longest_streak,
    standing_of,
    standings,
    top_inviter,
)
from bot.domain.watching import Decision, WatchedMessage
from bot.ports import (
    ChatGateway,
    Clock,
    FailureReason,
    PointAward,
    Priority,
    RecognitionFootprint,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.services.engagement import EngagementRecorder

log = logging.getLogger(__name__)

WATCHER = "points"
AWARD = "points.message"
BOARD_SIZE = 10
STREAK_LOOKBACK = timedelta(days=30)  # a streak is found if the tick runs once in this time
ANNOUNCED_AT_MOST = 30  # badges named in one announcement; the rest wait for the next


class RecognitionWording(Protocol):
    """The texts the service sends itself (translated by the handlers)."""

    def announcement(self, badges: Sequence[tuple[str, Badge]], locale: str) -> str: ...


class InviteRefusal(StrEnum):
    """Why a member got no personal link."""

    OPTED_OUT = "opted_out"  # their activity here is not recorded, so joins cannot be credited
    MISSING_RIGHTS = "missing_rights"  # the bot may not invite users via links
    FAILED = "failed"  # Telegram refused or could not be reached


@dataclass(frozen=True, slots=True)
class InviteOutcome:
    link: str | None = None
    refusal: InviteRefusal | None = None


@dataclass(frozen=True, slots=True)
class InviteSummary:
    """A member's personal link and what came of it."""

    link: str | None
    joined: int = 0
    pending: int = 0
    credited: int = 0
    left: int = 0


@dataclass(frozen=True, slots=True)
class Rank:
    """A member's standing in a group: all time and the last 7 days."""

    all_time: Standing | None
    weekly: Standing | None
    ranked: int  # members with points (all time)
    badges: frozenset[Badge] = frozenset()


@dataclass(frozen=True, slots=True)
class Board:
    """The top of a group's boards, with the names to show."""

    weekly: list[Standing]
    all_time: list[Standing]
    names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GroupChoice:
    """A group a member can opt out of (or back in)."""

    chat_id: int
    title: str
    opted_out: bool


@dataclass(slots=True)
class RecognitionMetrics:
    """Counters since start, for /health."""

    awarded: int = 0
    badges: int = 0
    announcements: int = 0
    invites_credited: int = 0


class RecognitionService:
    """Points, standings, badges, invites and opt-outs; the `points` watcher."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        gateway: ChatGateway,
        recorder: EngagementRecorder,
        wording: RecognitionWording,
        default_timezone: str = "UTC",
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._gateway = gateway
        self._recorder = recorder
        self._wording = wording
        self._default_timezone = default_timezone
        # The recorder's own set: one object, so an opt-out reaches the next batch it writes.
        self._opted_out = recorder.opted_out
        self._cooldowns: dict[int, Cooldown] = {}
        self.metrics = RecognitionMetrics()

    async def load(self) -> None:
        """Read who opted out where (at start-up, before any update is taken in)."""
        async with self._uow_factory() as uow:
            pairs = await uow.recognition.opt_outs()
        self._opted_out.clear()
        self._opted_out.update(pairs)

    def is_opted_out(self, chat_id: int, user_id: int) -> bool:
        return (chat_id, user_id) in self._opted_out

    # --- the watcher --------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return WATCHER

    @property
    def wants_edits(self) -> bool:
        return False

    async def watch(self, message: WatchedMessage) -> Sequence[Decision]:
        """A point for a member's message past their cooldown; nothing for a flood."""
        event = message.event
        actor = event.actor
        if (
            event.kind is not EventKind.MESSAGE
            or actor is None
            or actor.is_bot
            or event.sender_chat_id is not None
            or event.message_id is None
        ):
            return ()
        forwarded = message.forward_origin is not None or event.message_kind is MessageKind.FORWARD
        if not earns_message_points(event.message_kind, forwarded):
            return ()
        chat_id = message.chat_id
        if (chat_id, actor.user_id) in self._opted_out:
            return ()
        cooldown = self._cooldowns.get(chat_id)
        if cooldown is None:
            cooldown = self._cooldowns[chat_id] = await self._load_cooldown(chat_id)
        if not cooldown.credit(actor.user_id, event.occurred_at):
            return ()
        return [
            Decision(
                AWARD,
                chat_id,
                event.message_id,
                {"user_id": actor.user_id, "at": event.occurred_at.isoformat()},
            )
        ]

    async def _load_cooldown(self, chat_id: int) -> Cooldown:
        now = self._clock.now()
        midnight = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
        async with self._uow_factory() as uow:
            today = await uow.recognition.credits_since(chat_id, midnight)
        cooldown = Cooldown()
        for user_id, (count, last) in today.items():
            cooldown.remember(user_id, last, count)
        return cooldown

    async def write_awards(
        self, uow: UnitOfWork, decisions: Sequence[Decision]
    ) -> Sequence[Decision]:
        """Store a batch's awards in the transaction that stores their messages (one
        statement)."""
        self.metrics.awarded += await uow.recognition.award(self._awards(decisions))
        return ()

    async def apply_award(self, decision: Decision) -> bool:
        """Store one award on its own (after a crash, or if the batch's write failed)."""
        async with self._uow_factory() as uow:
            self.metrics.awarded += await uow.recognition.award(self._awards([decision]))
            await uow.commit()
        return True

    def _awards(self, decisions: Sequence[Decision]) -> list[PointAward]:
        awards = []
        for decision in decisions:
            user_id = int(decision.params["user_id"])  # type: ignore[arg-type]
            if (decision.chat_id, user_id) in self._opted_out:
                continue  # opted out after the message was judged
            at = datetime.fromisoformat(str(decision.params["at"]))
            awards.append(PointAward(decision.chat_id, decision.message_id or 0, user_id, at))
        return awards

    # --- standings ----------------------------------------------------------------------------

    async def _board(self, uow: UnitOfWork, chat_id: int, weekly: bool) -> list[Standing]:
        since = self._clock.now() - WEEK if weekly else None
        repo = uow.recognition
        found = contributions(
            await repo.message_points(chat_id, since),
            await repo.answers(chat_id, since),
            await repo.reaction_points(chat_id, since.date() if since else None),
        )
        return standings(c for c in found if (chat_id, c.user_id) not in self._opted_out)

    async def rank(self, chat_id: int, user_id: int) -> Rank:
        """A member's own standing, all time and this week, and their badges."""
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            all_time = await self._board(uow, chat_id, weekly=False)
            weekly = await self._board(uow, chat_id, weekly=True)
            badges = (await uow.recognition.badges(chat_id)).get(user_id, set())
        return Rank(
            standing_of(all_time, user_id),
            standing_of(weekly, user_id),
            len(all_time),
            frozenset(badges),
        )

    async def leaderboard(self, chat_id: int, size: int = BOARD_SIZE) -> Board:
        """The top of the weekly and all-time boards."""
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            weekly = (await self._board(uow, chat_id, weekly=True))[:size]
            all_time = (await self._board(uow, chat_id, weekly=False))[:size]
            names = await uow.recognition.display_names([s.user_id for s in (*weekly, *all_time)])
        return Board(weekly, all_time, names)

    async def week_summary(self, chat_id: int) -> tuple[int, int]:
        """For /health in the group: members with points in the last 7 days, and badges
        waiting for the next announcement."""
        async with self._uow_factory() as uow:
            earners = len(await self._board(uow, chat_id, weekly=True))
            waiting = [
                b
                for b in await uow.recognition.unannounced(chat_id)
                if (chat_id, b.user_id) not in self._opted_out
            ]
        return earners, len(waiting)

    # --- badges -------------------------------------------------------------------------------

    async def award_badges(self) -> int:
        """Give every badge earned and not yet held, in every group; how many were new."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            chats = await uow.groups.active_chat_ids()
        new = 0
        for chat_id in chats:
            async with self._uow_factory() as uow:
                earned = await self._earned(uow, chat_id, now)
                new += await uow.recognition.add_badges(chat_id, earned, now)
                await uow.commit()
        self.metrics.badges += new
        return new

    async def _earned(
        self, uow: UnitOfWork, chat_id: int, now: datetime
    ) -> list[tuple[int, Badge]]:
        repo = uow.recognition
        held = await repo.badges(chat_id)
        answers = await repo.answers(chat_id, None)
        days = await repo.active_days(chat_id, (now - STREAK_LOOKBACK).date())
        top = top_inviter(await repo.credits(chat_id))
        members = set(answers) | {u for u, d in days.items() if len(d) >= STREAK_DAYS}
        if top is not None:
            members.add(top)
        earned: list[tuple[int, Badge]] = []
        for user_id in sorted(members):
            if (chat_id, user_id) in self._opted_out:
                continue
            badges = badges_earned(
                answers.get(user_id, 0), longest_streak(days.get(user_id, ())), user_id == top
            )
            earned.extend((user_id, b) for b in sorted(badges - held.get(user_id, set())))
        return earned

    async def announce_badges(self) -> int:
        """Announce new badges in each group that has not heard one in a day, in its daytime;
        how many groups."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            chats = await uow.recognition.chats_with_unannounced()
        told = 0
        for chat_id in chats:
            async with self._uow_factory() as uow:
                group = await uow.groups.get(chat_id)
                zone = ZoneInfo((group.timezone if group else None) or self._default_timezone)
                last = await uow.recognition.last_announced(chat_id)
                if not announcement_due(last, now, now.astimezone(zone).hour):
                    continue
                badges = [
                    b
                    for b in await uow.recognition.unannounced(chat_id)
                    if (chat_id, b.user_id) not in self._opted_out
                ][:ANNOUNCED_AT_MOST]
                if not badges:
                    continue
                names = await uow.recognition.display_names([b.user_id for b in badges])
                # Marked first: at most one a day even if the send is lost (it is not retried).
                await uow.recognition.mark_announced(chat_id, badges, now)
                await uow.commit()
            text = self._wording.announcement(
                [(names.get(b.user_id, "?"), b.badge) for b in badges],
                group.language if group else "en",
            )
            sent = await self._gateway.send_message(chat_id, text, priority=Priority.CONTENT)
            if not sent.ok:
                log.warning("badge announcement in chat %s refused: %s", chat_id, sent.reason)
            told += 1
        self.metrics.announcements += told
        return told

    # --- invites ------------------------------------------------------------------------------

    async def invite_link(self, chat_id: int, user_id: int, name: str) -> InviteOutcome:
        """The member's own link to the group, made once with createChatInviteLink."""
        if (chat_id, user_id) in self._opted_out:
            return InviteOutcome(refusal=InviteRefusal.OPTED_OUT)
        async with self._uow_factory() as uow:
            known = await uow.recognition.link_of(chat_id, user_id)
        if known is not None:
            return InviteOutcome(link=known)
        made = await self._gateway.call(
            "createChatInviteLink",
            {"chat_id": chat_id, "name": name[:32]},
            priority=Priority.REPLY,
            chat_id=chat_id,
        )
        if not made.ok or not isinstance(made.result, dict):
            missing = made.reason is FailureReason.MISSING_RIGHTS
            return InviteOutcome(
                refusal=InviteRefusal.MISSING_RIGHTS if missing else InviteRefusal.FAILED
            )
        async with self._uow_factory() as uow:
            link = await uow.recognition.save_link(
                chat_id, user_id, str(made.result["invite_link"]), self._clock.now()
            )
            await uow.commit()
        return InviteOutcome(link=link)

    async def invites(self, chat_id: int, user_id: int) -> InviteSummary:
        """A member's link and its joins: pending, credited, left."""
        await self._recorder.durable()
        now = self._clock.now()
        async with self._uow_factory() as uow:
            repo = uow.recognition
            link = await repo.link_of(chat_id, user_id)
            mine = [i for i in await repo.invitees(chat_id) if i.inviter_id == user_id]
            credited = (await repo.credits(chat_id)).get(user_id, 0)
            already = await repo.credited(chat_id)
        states = [invite_state(i, now) for i in mine if i.user_id not in already]
        return InviteSummary(
            link,
            joined=len(mine),
            pending=sum(s in (InviteState.PENDING, InviteState.QUALIFIED) for s in states),
            credited=credited,
            left=sum(s is InviteState.LEFT for s in states),
        )

    async def top_inviters(self, chat_id: int, size: int = BOARD_SIZE) -> list[tuple[str, int]]:
        """Members with the most credited invites (for operators)."""
        async with self._uow_factory() as uow:
            credits = await uow.recognition.credits(chat_id)
            ranked = sorted(
                ((u, n) for u, n in credits.items() if (chat_id, u) not in self._opted_out),
                key=lambda item: (-item[1], item[0]),
            )[:size]
            names = await uow.recognition.display_names([u for u, _ in ranked])
        return [(names.get(u, ""), n) for u, n in ranked]  # "": no profile kept

    async def credit_invites(self) -> int:
        """Credit each inviter once per newcomer who stayed 7 days and posted; how many."""
        await self._recorder.durable()
        now = self._clock.now()
        async with self._uow_factory() as uow:
            chats = await uow.recognition.chats_with_links()
        new = 0
        for chat_id in chats:
            async with self._uow_factory() as uow:
                repo = uow.recognition
                already = await repo.credited(chat_id)
                due = [
                    i
                    for i in await repo.invitees(chat_id)
                    if i.user_id not in already
                    and (chat_id, i.inviter_id) not in self._opted_out
                    and invite_state(i, now) is InviteState.QUALIFIED
                ]
                new += await repo.credit(chat_id, due, now)
                await uow.commit()
        self.metrics.invites_credited += new
        return new

    # --- opting out ---------------------------------------------------------------------------

    async def choices(self, user_id: int) -> list[GroupChoice]:
        """The groups a member is in or opted out of."""
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            found = {
                f.chat_id: GroupChoice(f.chat_id, f.title, False)
                for f in await uow.members.footprint(user_id)
                if f.status == "member"
            }
            for chat_id in await uow.recognition.opted_out_chats(user_id):
                group = await uow.groups.get(chat_id)
                found[chat_id] = GroupChoice(chat_id, group.title if group else "?", True)
        return sorted(found.values(), key=lambda c: c.title.casefold())

    async def opt_out(self, chat_id: int, user_id: int) -> bool:
        """Stop recording who the member is in the group, and take them out of what it holds;
        False if they had opted out already."""
        self._opted_out.add((chat_id, user_id))  # from the next batch the recorder writes
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            new = await uow.recognition.opt_out(chat_id, user_id, self._clock.now())
            elsewhere = await uow.recognition.anonymise(chat_id, user_id)
            if not elsewhere:
                await uow.members.erase(user_id)  # their profile too: no group records them
            await uow.commit()
        log.info("a member opted out of chat %s", chat_id)
        return new

    async def opt_in(self, chat_id: int, user_id: int) -> bool:
        """Record the member's activity in the group again (from now on)."""
        async with self._uow_factory() as uow:
            removed = await uow.recognition.opt_in(chat_id, user_id)
            await uow.commit()
        self._opted_out.discard((chat_id, user_id))
        return removed

    # --- a member's own data ------------------------------------------------------------------

    async def footprint(self, user_id: int) -> list[RecognitionFootprint]:
        async with self._uow_factory() as uow:
            return await uow.recognition.footprint(user_id)
