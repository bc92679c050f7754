"""The ad-share cap at work: the promo watcher, its actions, /adcap, marks, and operator slots.

Counts. The budget is read from a per-chat tally kept in memory (hourly messages and promos),
loaded from the rollups (`activity_hours` and `promo_hours`) the first time a chat is seen,
then kept up to date by the watcher as it judges each message, in order. The database lags
behind the watcher (events are written in batches, decisions applied after the commit), so the
tally is what makes the 101st message see the 100th. Only this process's own judgments are in
its tally on top of what was committed when it was loaded.

Decisions. An allowed promo becomes `adshare.count` (its verdict stored on its event, counted
in `promo_hours`); a removed one becomes `adshare.removed`, which replies with the reason,
deletes the message, keeps its text for 48 hours (the one place a text is kept in a group that
stores none; it passes through the decision's row until then), and mutes under the mute policy.
Both count once: the verdict on the event is written only where there is none yet.

Operators' promos reserve budget in the database (`reserve`): the group's settings row is
written first, which queues a second reservation behind the first until it commits.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.domain.adshare import (
    AdCapPolicy,
    AdShare,
    Bucket,
    Budget,
    PromoAction,
    PromoRuling,
    ad_share,
    budget,
    decide_member_promo,
    has_standing,
    promos_that_fit,
)
from bot.domain.events import Actor, EventKind
from bot.domain.promo import PromoInput, PromoVerdict, Signal
from bot.domain.watching import Decision, WatchedMessage
from bot.ports import (
    AdCapPolicyName,
    AdCapSettings,
    ChatGateway,
    Clock,
    CountedPromo,
    FailureReason,
    Priority,
    RemovedPromo,
    Standing,
    UnitOfWork,
    UnitOfWorkFactory,
)
from bot.services.admins import AdminDirectory, AdminsUnknown
from bot.services.engagement import EngagementRecorder

log = logging.getLogger(__name__)

COUNT = "adshare.count"
REMOVE = "adshare.remove"
KEPT_FOR = timedelta(hours=48)  # removed promos, for /notpromo and the restore button
LONGEST_WINDOW = timedelta(days=30)  # the most `/adcap window` accepts; the tally holds this
DISPLAY_WINDOW = timedelta(hours=24)  # the second share /adcap shows
TOP_SOURCES = 5
ADMINS_RETRY = timedelta(minutes=1)  # after Telegram could not say who a group's admins are
# Buckets are hours: the one `now` falls in starts before it and ends after.
_AN_HOUR = timedelta(hours=1)

# Judges one message (the detector: rules and, once loaded, the model).
PromoJudge = Callable[[PromoInput], PromoVerdict]
# The short reply to a member's removed or warned promo: (ruling, policy, language code).
Notice = Callable[[PromoRuling, AdCapPolicyName, str | None], str]


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


class _Member:
    """A member of a chat without standing when the tally was loaded, or seen since."""

    __slots__ = ("joined_at", "known", "messages", "user_id")

    def __init__(self, user_id: int, joined_at: datetime | None, messages: int, known: bool):
        self.user_id = user_id
        self.joined_at = joined_at
        self.messages = messages  # every message of theirs in the group so far
        self.known = known  # False: first seen since the load; when they joined is read later


class _Tally:
    """One chat's messages and promos per UTC hour, over the longest window, and its members.

    Members are loaded with the counts, before any message of the chat is judged in this
    process, so their stored message counts are exact; then each message adds one. Members
    with standing then are kept as ids only: standing, once had, is never lost.
    """

    __slots__ = ("established", "hours", "members")

    def __init__(
        self, buckets: Sequence[Bucket], members: Mapping[int, Standing], now: datetime
    ) -> None:
        self.hours: dict[datetime, list[int]] = {b.start: [b.messages, b.promos] for b in buckets}
        self.established: set[int] = set()
        self.members: dict[int, _Member] = {}
        for user_id, stored in members.items():
            if has_standing(stored.joined_at, stored.messages, now, AdCapPolicy()):
                self.established.add(user_id)
            else:
                self.members[user_id] = _Member(
                    user_id, stored.joined_at, stored.messages, known=True
                )

    def member(self, user_id: int, seen_at: datetime) -> _Member | None:
        """The member's record (created on first sight); None for a member with standing."""
        if user_id in self.established:
            return None
        member = self.members.get(user_id)
        if member is None:
            member = self.members[user_id] = _Member(user_id, seen_at, 0, known=False)
        return member

    def add(self, at: datetime, messages: int, promos: int = 0) -> None:
        hour = _hour_of(at)
        counts = self.hours.get(hour)
        if counts is None:
            counts = self.hours[hour] = [0, 0]
            self._forget_before(hour - LONGEST_WINDOW)
        counts[0] += messages
        counts[1] += promos

    def buckets(self) -> list[Bucket]:
        return [Bucket(hour, m, p) for hour, (m, p) in self.hours.items()]

    def _forget_before(self, since: datetime) -> None:
        for hour in [hour for hour in self.hours if hour < since]:
            del self.hours[hour]


@dataclass(frozen=True, slots=True)
class AdCapReport:
    """What /adcap shows."""

    title: str
    settings: AdCapSettings
    budget: Budget  # over the group's window
    last_day: AdShare
    top_sources: list[tuple[str, int]]  # name, promos (kept and removed) over the window
    exempt: list[str]


@dataclass(frozen=True, slots=True)
class Reservation:
    """An operator's promo: granted now, or deferred to `at`, when it fits."""

    granted: bool
    at: datetime


class MarkOutcome:
    """What a /promo or /notpromo did."""

    NOT_RECORDED = "not_recorded"  # the message is not one the bot recorded
    MARKED = "marked"
    RESTORED = "restored"


@dataclass(frozen=True, slots=True)
class Mark:
    outcome: str
    restored: RemovedPromo | None = None


@dataclass(slots=True)
class AdShareMetrics:
    """Counters since start, for /health."""

    judged: int = 0
    promos: int = 0
    removed: int = 0


@dataclass(slots=True)
class _Summary:
    """What the ops chat has not been told yet about one group."""

    rulings: Counter[str] = field(default_factory=Counter)


class AdShareService:
    """Keeps each group's promos under its cap: judges, decides, counts, reserves, restores."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        recorder: EngagementRecorder,
        admins: AdminDirectory,
        gateway: ChatGateway,
        *,
        judge: PromoJudge,
        notice: Notice,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._recorder = recorder
        self._admins = admins
        self._gateway = gateway
        self.judge = judge
        self._notice = notice
        self._tallies: dict[int, _Tally] = {}
        self._settings: dict[int, tuple[AdCapSettings, set[int]]] = {}
        self._summaries: dict[int, _Summary] = {}
        self._admins_unknown: dict[int, datetime] = {}  # chat: when to ask for its admins again
        self.metrics = AdShareMetrics()

    # --- the watcher -------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "promo"

    @property
    def wants_edits(self) -> bool:
        return False

    async def watch(self, message: WatchedMessage) -> Sequence[Decision]:
        """Count the message; judge it; decide what happens to a promo."""
        if message.event.kind is not EventKind.MESSAGE:
            return ()  # a slash command is not conversation: neither a message nor a promo
        tally = await self._tally(message.chat_id)
        self.metrics.judged += 1
        actor = message.event.actor
        member = tally.member(actor.user_id, message.event.occurred_at) if actor else None
        try:
            return await self._judge(message, tally, member)
        finally:
            if member is not None:
                member.messages += 1

    async def _judge(
        self, message: WatchedMessage, tally: _Tally, member: _Member | None
    ) -> Sequence[Decision]:
        event = message.event
        chat_id = message.chat_id
        if not message.text:
            tally.add(event.occurred_at, 1)
            return ()
        verdict = self.judge(PromoInput.of(message))
        newcomer = member is not None and member.messages < AdCapPolicy().standing_messages
        if not verdict.is_promo and newcomer and _rules_fired(verdict):
            # A newcomer's first messages weigh only beside another signal.
            verdict = self.judge(PromoInput.of(message, first_messages=True))
        if not verdict.is_promo:
            tally.add(event.occurred_at, 1)
            return ()
        self.metrics.promos += 1
        actor = event.actor
        settings, exempt = await self._group(chat_id)
        policy = _policy(settings)
        now = self._clock.now()
        share = ad_share(tally.buckets(), now, policy.window)
        fit = promos_that_fit(share.messages, share.promos, policy)
        is_admin = await self._is_admin(chat_id, actor, event.sender_chat_id)
        standing = True
        if member is not None and not is_admin and member.user_id not in exempt:
            standing = member.messages >= policy.standing_messages and has_standing(
                await self._joined_at(chat_id, member), member.messages, now, policy
            )
        ruling = decide_member_promo(
            fit,
            standing=standing,
            is_admin=is_admin,
            is_exempt=actor is not None and actor.user_id in exempt,
        )
        user_id = actor.user_id if actor else None
        message_id = event.message_id or 0
        counted = Decision(
            COUNT,
            chat_id,
            message_id,
            {
                "user_id": user_id,
                "score": verdict.score,
                "at": event.occurred_at.isoformat(),
            },
        )
        if ruling.action is PromoAction.ALLOW:
            tally.add(event.occurred_at, 1, 1)
            return [counted]
        removes = ruling.ruling is PromoRuling.NO_STANDING or settings.policy in (
            AdCapPolicyName.DELETE,
            AdCapPolicyName.MUTE,
        )
        language = actor.language_code if actor else None
        self._summary(chat_id).rulings[ruling.ruling.value] += 1
        if not removes:
            tally.add(event.occurred_at, 1, 1)
            if settings.policy is AdCapPolicyName.REPORT:
                self._summary(chat_id).rulings["reported"] += 1
                return [counted]
            return [
                counted,
                Decision.reply(
                    chat_id, message_id, self._notice(ruling.ruling, settings.policy, language)
                ),
            ]
        self.metrics.removed += 1
        mute = settings.policy is AdCapPolicyName.MUTE and ruling.ruling is PromoRuling.OVER_BUDGET
        return [
            Decision(
                REMOVE,
                chat_id,
                message_id,
                {
                    "user_id": user_id,
                    "author": _name(actor),
                    "text": message.text,
                    "reason": ruling.ruling.value,
                    "score": verdict.score,
                    "notice": self._notice(ruling.ruling, settings.policy, language),
                    "mute_until": int((now + settings.mute).timestamp()) if mute else None,
                },
            )
        ]

    # --- the actions ------------------------------------------------------------------------

    async def apply_count(self, decision: Decision) -> bool:
        """Store an allowed promo's verdict on its event and count it (once)."""
        params = decision.params
        async with self._uow_factory() as uow:
            await uow.adshare.count_promo(
                decision.chat_id,
                decision.message_id or 0,
                _int_or_none(params.get("user_id")),
                float(params.get("score") or 0.0),  # type: ignore[arg-type]
                removed=False,
            )
            await uow.commit()
        return True

    async def write_counts(
        self, uow: UnitOfWork, decisions: Sequence[Decision]
    ) -> Sequence[Decision]:
        """`apply_count` for a batch, in the transaction that stores their messages."""
        await uow.adshare.count_promos(
            [
                CountedPromo(
                    decision.chat_id,
                    decision.message_id or 0,
                    _int_or_none(decision.params.get("user_id")),
                    datetime.fromisoformat(str(decision.params["at"])),
                    float(decision.params.get("score") or 0.0),  # type: ignore[arg-type]
                )
                for decision in decisions
            ]
        )
        return ()

    async def apply_remove(self, decision: Decision) -> bool:
        """Say why, delete the promo, keep it 48 hours, count it as removed (once)."""
        params = decision.params
        chat_id, message_id = decision.chat_id, decision.message_id or 0
        notice = await self._gateway.send_message(
            chat_id,
            str(params.get("notice", "")),
            priority=Priority.MODERATION,
            reply_to_message_id=message_id,
        )
        deleted = await self._gateway.delete_message(chat_id, message_id)
        # Already gone (a crash after the delete, or its author took it back): removed all the same.
        removed = deleted.ok or deleted.reason is FailureReason.MESSAGE_NOT_FOUND
        user_id = _int_or_none(params.get("user_id"))
        mute_until = _int_or_none(params.get("mute_until"))
        if removed and mute_until is not None and user_id is not None:
            await self._gateway.call(
                "restrictChatMember",
                {
                    "chat_id": chat_id,
                    "user_id": user_id,
                    "permissions": {"can_send_messages": False},
                    "until_date": mute_until,
                },
                priority=Priority.MODERATION,
                chat_id=chat_id,
            )
        async with self._uow_factory() as uow:
            await uow.adshare.count_promo(
                chat_id,
                message_id,
                user_id,
                float(params.get("score") or 0.0),  # type: ignore[arg-type]
                removed=removed,
            )
            if removed:
                await uow.adshare.keep_removed(
                    RemovedPromo(
                        chat_id=chat_id,
                        message_id=message_id,
                        user_id=user_id,
                        author=str(params.get("author", "")),
                        text=str(params.get("text", "")),
                        reason=str(params.get("reason", "")),
                        removed_at=self._clock.now(),
                        notice_id=notice.message_id,
                    )
                )
            await uow.commit()
        if not removed:
            # It stays in the group, so it counts as a promo there.
            log.warning("promo in chat %s not removed: %s", chat_id, deleted.reason)
            tally = self._tallies.get(chat_id)
            if tally is not None:
                tally.add(self._clock.now(), 1, 1)
        return removed

    # --- /adcap -------------------------------------------------------------------------------

    async def report(self, chat_id: int) -> AdCapReport:
        """Share, cap, budget, next fit, the top promo sources and the exempt partners."""
        await self._recorder.durable()
        tally = await self._tally(chat_id)
        settings, exempt = await self._group(chat_id)
        now = self._clock.now()
        buckets = tally.buckets()
        async with self._uow_factory() as uow:
            top = await uow.adshare.top_sources(chat_id, now - settings.window, TOP_SOURCES)
            names = await uow.rollups.names([user_id for user_id, _ in top] + sorted(exempt))
            group = await uow.groups.get(chat_id)
        return AdCapReport(
            title=group.title if group else str(chat_id),
            settings=settings,
            budget=budget(buckets, now, _policy(settings)),
            last_day=ad_share(buckets, now, DISPLAY_WINDOW),
            top_sources=[(names.get(user_id, str(user_id)), n) for user_id, n in top],
            exempt=[names.get(user_id, str(user_id)) for user_id in sorted(exempt)],
        )

    async def configure(self, chat_id: int, **changes: object) -> AdCapSettings:
        """Change the cap, window or policy (`cap=`, `window=`, `policy=`, `mute=`)."""
        async with self._uow_factory() as uow:
            settings = replace(await uow.adshare.settings(chat_id), **changes)  # type: ignore[arg-type]
            await uow.adshare.save_settings(settings)
            await uow.commit()
        self._settings.pop(chat_id, None)
        return settings

    async def exempt(self, chat_id: int, username: str, exempt: bool) -> int | None:
        """Exempt (or no longer) the member with this @username; None if never seen here."""
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            user_id = await uow.adshare.user_named(chat_id, username)
            if user_id is None:
                return None
            await uow.adshare.set_exempt(chat_id, user_id, exempt)
            await uow.commit()
        self._settings.pop(chat_id, None)
        return user_id

    # --- /promo and /notpromo ----------------------------------------------------------------

    async def mark(
        self, chat_id: int, message_id: int, *, is_promo: bool, text: str, marked_by: int | None
    ) -> Mark:
        """A moderator's mark on a message (or on the bot's notice about a removed one).

        Stored for the next retrain. /notpromo on a removed promo restores it: the caller
        re-posts the returned text under its author's name; its message counts again.
        """
        await self._recorder.durable()
        now = self._clock.now()
        async with self._uow_factory() as uow:
            removed = await uow.adshare.removed(chat_id, message_id)
            target = removed.message_id if removed else message_id
            judged = await uow.adshare.judged(chat_id, target)
            if judged is None:
                return Mark(MarkOutcome.NOT_RECORDED)
            was_promo = judged.promo_score is not None and removed is None
            restore = removed is not None and not is_promo
            await uow.adshare.recount(
                judged,
                promo=is_promo and removed is None,
                removed=removed is not None and not restore,
                was_removed=removed is not None,
            )
            await uow.adshare.add_feedback(
                judged, removed.text if removed else text, is_promo, marked_by, now
            )
            if restore:
                await uow.adshare.forget_removed(chat_id, target)
            await uow.commit()
        tally = self._tallies.get(chat_id)
        if tally is not None:
            if restore:
                tally.add(judged.occurred_at, 1)
            elif removed is None:
                tally.add(judged.occurred_at, 0, int(is_promo) - int(was_promo))
        if restore:
            return Mark(MarkOutcome.RESTORED, removed)
        return Mark(MarkOutcome.MARKED)

    async def feedback(self) -> list[tuple[str, bool]]:
        """Moderators' marks, for the next retrain."""
        async with self._uow_factory() as uow:
            return await uow.adshare.feedback()

    # --- operators ---------------------------------------------------------------------------

    async def reserve(self, chat_id: int, key: str) -> Reservation:
        """Take one promo's budget for an operator's post now, or say when it will fit.

        Atomic in the database: of two reservations (two tasks or two processes) racing for
        the last slot, one gets it and the other is deferred. `key` makes a retry harmless.
        """
        await self._recorder.durable()
        now = self._clock.now()
        async with self._uow_factory() as uow:
            await uow.adshare.lock_budget(chat_id)
            settings = await uow.adshare.settings(chat_id)
            stored = await uow.adshare.buckets(chat_id, now - settings.window, now + _AN_HOUR)
            policy = _policy(settings)
            fit = budget(stored, now, policy)
            tally = self._tallies.get(chat_id)
            if tally is not None:
                # This process may have judged promos whose counts are not stored yet.
                fit = min(fit, budget(tally.buckets(), now, policy), key=_fit)
            if fit.promos_that_fit <= 0:
                return Reservation(False, fit.next_fit)
            new = await uow.adshare.reserve(chat_id, key, now)
            await uow.commit()
        if new and tally is not None:
            tally.add(now, 1, 1)
        return Reservation(True, now)

    # --- upkeep -----------------------------------------------------------------------------

    async def erase_expired(self) -> int:
        """Erase removed promos kept 48 hours."""
        async with self._uow_factory() as uow:
            erased = await uow.adshare.purge_removed(self._clock.now() - KEPT_FOR)
            await uow.commit()
        return erased

    def take_summaries(self) -> dict[int, Counter[str]]:
        """What each group's ops summary says since the last one (rulings by count)."""
        summaries = {chat_id: s.rulings for chat_id, s in self._summaries.items() if s.rulings}
        self._summaries = {}
        return summaries

    def highest_share(self) -> float:
        """The highest ad share over the default window among the groups seen since start."""
        now = self._clock.now()
        window = AdCapPolicy().window
        return max(
            (ad_share(t.buckets(), now, window).share for t in self._tallies.values()),
            default=0.0,
        )

    # --- helpers ----------------------------------------------------------------------------

    async def _tally(self, chat_id: int) -> _Tally:
        tally = self._tallies.get(chat_id)
        if tally is None:
            now = self._clock.now()
            async with self._uow_factory() as uow:
                stored = await uow.adshare.buckets(chat_id, now - LONGEST_WINDOW, now + _AN_HOUR)
                members = await uow.adshare.standings(chat_id)
            tally = self._tallies[chat_id] = _Tally(stored, members, now)
        return tally

    async def _group(self, chat_id: int) -> tuple[AdCapSettings, set[int]]:
        cached = self._settings.get(chat_id)
        if cached is None:
            async with self._uow_factory() as uow:
                cached = (
                    await uow.adshare.settings(chat_id),
                    await uow.adshare.exemptions(chat_id),
                )
            self._settings[chat_id] = cached
        return cached

    async def _joined_at(self, chat_id: int, member: _Member) -> datetime | None:
        """When a member first seen since the load joined: read once, when it matters (their
        join is recorded before their messages; not recorded, they count from first sight)."""
        if not member.known:
            stored = await self._standing(chat_id, member.user_id)
            if stored is None:
                # Perhaps not written yet: wait for what is recorded (once per member).
                await self._recorder.durable()
                stored = await self._standing(chat_id, member.user_id)
            if stored is not None:
                member.joined_at = stored.joined_at
            member.known = True
        return member.joined_at

    async def _standing(self, chat_id: int, user_id: int) -> Standing | None:
        async with self._uow_factory() as uow:
            return await uow.adshare.standing(chat_id, user_id)

    async def _is_admin(
        self, chat_id: int, actor: Actor | None, sender_chat_id: int | None
    ) -> bool:
        if actor is None or sender_chat_id is not None:
            # Posted as a chat: the group itself (an anonymous admin) or its linked channel.
            return True
        now = self._clock.now()
        if self._admins_unknown.get(chat_id, now) > now:
            return True
        try:
            return await self._admins.is_admin(chat_id, actor.user_id, None)
        except AdminsUnknown:
            # Admins cannot be checked now: leave the promo rather than remove an admin's, and
            # do not ask Telegram again for every promo meanwhile.
            self._admins_unknown[chat_id] = now + ADMINS_RETRY
            return True

    def _summary(self, chat_id: int) -> _Summary:
        summary = self._summaries.get(chat_id)
        if summary is None:
            summary = self._summaries[chat_id] = _Summary()
        return summary


def _rules_fired(verdict: PromoVerdict) -> bool:
    return any(reason.signal is not Signal.MODEL for reason in verdict.reasons)


def _policy(settings: AdCapSettings) -> AdCapPolicy:
    return AdCapPolicy(cap=settings.cap, window=settings.window)


def _fit(b: Budget) -> int:
    return b.promos_that_fit


def _name(actor: Actor | None) -> str:
    if actor is None:
        return ""
    return " ".join(part for part in (actor.first_name, actor.last_name) if part)


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float | str) and value != "" else None
