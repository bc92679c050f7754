"""Moderation at work: warnings and their limit, mutes, bans, kicks, deletions, reports, locks,
rules, the welcome and the moderation log.

Every action a moderator takes is logged (who, whom, what, why, when, until) once Telegram has
done it. Restrictions go out at moderation priority. Refusals are data the handlers render:
`Refusal` before a call (an admin target, a channel), `Acted.missing` when Telegram said the bot
lacks a right (named for the fix).

Locks are a watcher (`locks`): a locked kind posted by a non-admin is deleted, with a notice at
most once a minute per group, as decisions stored with the message's event. The locks are kept
in memory (loaded at start, changed by /lock and /unlock in this process), so judging a message
reads nothing from the database.

The welcome is a tick over recorded joins: it reads the joins after the last one welcomed, and
greets them together once the joining pauses (`welcome_due`), so fifty people joining at once
get one message. The cursor is committed before the welcome is sent: a crash between loses one
welcome rather than sending it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.domain.events import EventKind
from bot.domain.moderation import (
    RIGHT_NEEDED,
    WELCOME_MOST,
    ById,
    ByUsername,
    Cooldown,
    LockKind,
    LogEntry,
    ModAction,
    ModerationSettings,
    Person,
    Refusal,
    TargetRef,
    WarningRecord,
    WarnOutcome,
    WarnPolicy,
    WarnPunishment,
    after_warning,
    locked_kind,
    refusal,
    welcome_due,
)
from bot.domain.rights import Gap
from bot.domain.watching import Decision, WatchedMessage
from bot.ports import ChatGateway, Clock, FailureReason, Outcome, Priority, UnitOfWorkFactory
from bot.services.admins import AdminDirectory, AdminsUnknown
from bot.services.engagement import EngagementRecorder

log = logging.getLogger(__name__)

NOTICE_EVERY = 60.0  # seconds between lock notices in one group
REPORT_EVERY = 300.0  # seconds between one member's reports in one group
# Telegram deletes messages up to 48 hours old; a minute's margin for the clocks.
PURGE_WINDOW = timedelta(hours=48) - timedelta(minutes=1)
LOG_SHOWN = 20
_DELETE_BATCH = 100  # deleteMessages takes at most 100 ids

LOCK_NOTICE = "locks.notice"  # a decision: the notice, in the deleted message's topic
# The short notice about a deleted locked message: (kind, the member's language code).
LockNotice = Callable[[LockKind, str | None], str]
# The welcome: (the group's text, the new members' names, whether rules are set, language).
WelcomeText = Callable[[str, Sequence[str], bool, str], str]


@dataclass(frozen=True, slots=True)
class Acted:
    """What Telegram made of an action: done (until when), or why not."""

    ok: bool
    until: datetime | None = None
    missing: Gap | None = None  # the admin right the bot lacks
    refusal: Refusal | None = None  # Telegram refused for a reason we check too (an admin)
    too_old: bool = False  # a message past Telegram's 48 hours for deleting
    supergroups_only: bool = False  # a mute asked in a basic group
    detail: str = ""


DONE = Acted(ok=True)


@dataclass(frozen=True, slots=True)
class Warned:
    """A warning given: the count and limit, and what reaching the limit did."""

    outcome: WarnOutcome
    punished: Acted | None = None  # None: the limit was not reached


@dataclass(frozen=True, slots=True)
class Purged:
    """A purge: the recorded messages it asked Telegram to delete, and how that went."""

    found: int
    acted: Acted


class ModerationService:
    """Moderators' actions, the locks watcher, reports and the welcome."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        recorder: EngagementRecorder,
        admins: AdminDirectory,
        gateway: ChatGateway,
        *,
        ops_chat_id: int | None = None,
        notice: LockNotice,
        welcome_text: WelcomeText,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._recorder = recorder
        self._admins = admins
        self._gateway = gateway
        self._ops_chat_id = ops_chat_id
        self._notice = notice
        self._welcome_text = welcome_text
        self._locks: dict[int, frozenset[LockKind]] = {}
        self._notices = Cooldown(NOTICE_EVERY)
        self._reports = Cooldown(REPORT_EVERY)
        self._welcoming = asyncio.Lock()
        self.deleted_locked = 0

    async def start(self) -> None:
        """Load every group's locks (the watcher reads them from memory)."""
        async with self._uow_factory() as uow:
            self._locks = await uow.moderation.all_locks()

    # --- the locks watcher --------------------------------------------------------------------

    @property
    def name(self) -> str:
        return "locks"

    @property
    def wants_edits(self) -> bool:
        return False

    async def watch(self, message: WatchedMessage) -> Sequence[Decision]:
        """Delete a locked kind of message from a non-admin, with a notice now and then."""
        locks = self._locks.get(message.chat_id)
        event = message.event
        if not locks or event.kind is not EventKind.MESSAGE or event.message_id is None:
            return ()
        kind = locked_kind(event.message_kind, event.has_link, locks)
        if kind is None:
            return ()
        chat_id, sender_chat = message.chat_id, event.sender_chat_id
        if sender_chat == chat_id:
            return ()  # an anonymous admin
        if sender_chat is not None and event.actor is None and message.forward_origin == "channel":
            return ()  # the linked channel's post, forwarded into the group by Telegram
        actor = event.actor
        try:
            if await self._admins.is_admin(chat_id, actor.user_id if actor else None, sender_chat):
                return ()
        except AdminsUnknown:
            return ()  # when Telegram cannot say who the admins are, the message stays
        self.deleted_locked += 1
        decisions = [Decision.delete(chat_id, event.message_id, f"locked {kind.value}")]
        if self._notices.ready(chat_id, event.occurred_at.timestamp()):
            text = self._notice(kind, actor.language_code if actor else None)
            decisions.append(lock_notice(chat_id, event.message_id, text, event.thread_id))
        return decisions

    async def apply_notice(self, decision: Decision) -> bool:
        """Post a lock notice in the topic the deleted message was in (not as a reply: the
        message is gone)."""
        thread = decision.params.get("thread_id")
        outcome = await self._gateway.send_message(
            decision.chat_id,
            str(decision.params.get("text", "")),
            priority=Priority.MODERATION,
            thread_id=thread if isinstance(thread, int) else None,
        )
        return outcome.ok

    def locks(self, chat_id: int) -> frozenset[LockKind]:
        return self._locks.get(chat_id, frozenset())

    async def lacks(self, chat_id: int, bot_id: int, right: Gap) -> bool:
        """Whether the bot is known to lack an admin right in the group. A bot that is no admin
        at all, or a failed look-up, reads as "not known": readiness tells the ops chat of the
        first, and the action itself of the second."""
        me = await self._gateway.get_chat_member_status(chat_id, bot_id)
        return me is not None and me.status == "administrator" and right.value not in me.rights

    async def set_locks(
        self, chat_id: int, kinds: frozenset[LockKind], *, locked: bool, by: Person
    ) -> frozenset[LockKind]:
        """Lock or unlock kinds; return what is locked now."""
        async with self._uow_factory() as uow:
            settings = await uow.moderation.settings(chat_id)
            now_locked = settings.locks | kinds if locked else settings.locks - kinds
            await uow.moderation.save_settings(replace(settings, locks=now_locked))
            action = ModAction.LOCK if locked else ModAction.UNLOCK
            reason = ", ".join(sorted(kinds))
            await uow.moderation.log(LogEntry(chat_id, by, action, self._clock.now(), None, reason))
            await uow.commit()
        if now_locked:
            self._locks[chat_id] = now_locked
        else:
            self._locks.pop(chat_id, None)
        return now_locked

    # --- targets ------------------------------------------------------------------------------

    async def person(self, chat_id: int, ref: TargetRef) -> Person | None:
        """The member a command names: @username among those recorded here, or any id."""
        await self._recorder.durable()  # a member who just wrote is recorded by now
        async with self._uow_factory() as uow:
            if isinstance(ref, ByUsername):
                return await uow.moderation.member_named(chat_id, ref.username)
            assert isinstance(ref, ById)
            return await uow.moderation.person(ref.user_id) or Person(ref.user_id, str(ref.user_id))

    async def refused(
        self, chat_id: int, user_id: int | None, sender_chat_id: int | None, bot_id: int
    ) -> Refusal | None:
        """Whether this member (or sender chat) may not be moderated (admins, the bot, a
        channel). Raises `AdminsUnknown` when the group's admins cannot be checked."""
        admins = await self._admins.admins(chat_id) if sender_chat_id is None else {}
        return refusal(chat_id, user_id, sender_chat_id, bot_id=bot_id, admins=admins)

    # --- warnings -----------------------------------------------------------------------------

    async def warn_policy(self, chat_id: int) -> WarnPolicy:
        async with self._uow_factory() as uow:
            return (await uow.moderation.settings(chat_id)).warn

    async def configure_warns(
        self,
        chat_id: int,
        *,
        limit: int | None = None,
        punishment: WarnPunishment | None = None,
        seconds: int | None = None,
        expiry_days: int | None = None,
    ) -> WarnPolicy:
        """Change the group's warn policy; return it."""
        async with self._uow_factory() as uow:
            settings = await uow.moderation.settings(chat_id)
            old = settings.warn
            policy = WarnPolicy(
                limit if limit is not None else old.limit,
                punishment if punishment is not None else old.punishment,
                seconds if seconds is not None else old.seconds,
                expiry_days if expiry_days is not None else old.expiry_days,
            )
            await uow.moderation.save_settings(replace(settings, warn=policy))
            await uow.commit()
        return policy

    async def warn(self, chat_id: int, target: Person, by: Person, reason: str) -> Warned:
        """Give a warning; at the group's limit, punish and start the count again."""
        assert target.user_id is not None
        now = self._clock.now()
        async with self._uow_factory() as uow:
            policy = (await uow.moderation.settings(chat_id)).warn
            await uow.moderation.add_warning(chat_id, target.user_id, reason, by, now)
            active = len(
                await uow.moderation.warnings(chat_id, target.user_id, policy.counts_since(now))
            )
            outcome = after_warning(active, policy, now)
            entry = LogEntry(chat_id, by, ModAction.WARN, now, target, reason, count=active)
            await uow.moderation.log(entry)
            await uow.commit()
        if outcome.punishment is None:
            return Warned(outcome)
        action = ModAction(outcome.punishment.value)
        why = f"{outcome.count}/{outcome.limit} warnings" + (f": {reason}" if reason else "")
        acted = await self._act(action, chat_id, target.user_id, outcome.until)
        if acted.ok:
            async with self._uow_factory() as uow:
                await uow.moderation.clear_warnings(
                    chat_id, target.user_id, policy.counts_since(now), now, latest_only=False
                )
                await uow.moderation.log(
                    LogEntry(chat_id, by, action, now, target, why, until=outcome.until)
                )
                await uow.commit()
        return Warned(outcome, acted)

    async def warnings(self, chat_id: int, user_id: int) -> tuple[list[WarningRecord], WarnPolicy]:
        """A member's warnings that count, and the group's policy."""
        now = self._clock.now()
        async with self._uow_factory() as uow:
            policy = (await uow.moderation.settings(chat_id)).warn
            found = await uow.moderation.warnings(chat_id, user_id, policy.counts_since(now))
        return found, policy

    async def unwarn(self, chat_id: int, target: Person, by: Person, *, every: bool) -> int:
        """Take back a member's latest warning (or all that count); return how many."""
        assert target.user_id is not None
        now = self._clock.now()
        async with self._uow_factory() as uow:
            policy = (await uow.moderation.settings(chat_id)).warn
            cleared = await uow.moderation.clear_warnings(
                chat_id, target.user_id, policy.counts_since(now), now, latest_only=not every
            )
            if cleared:
                entry = LogEntry(chat_id, by, ModAction.UNWARN, now, target, count=cleared)
                await uow.moderation.log(entry)
            await uow.commit()
        return cleared

    # --- restrictions -------------------------------------------------------------------------

    async def restrict(
        self,
        action: ModAction,
        chat_id: int,
        target: Person,
        by: Person,
        seconds: int | None = None,
        reason: str = "",
    ) -> Acted:
        """Mute, unmute, ban, unban or kick a member (for `seconds`, None for ever); logged
        once Telegram has done it."""
        assert target.user_id is not None
        now = self._clock.now()
        until = now + timedelta(seconds=seconds) if seconds else None
        acted = await self._act(action, chat_id, target.user_id, until)
        if acted.ok:
            await self._log(LogEntry(chat_id, by, action, now, target, reason, until=acted.until))
        return acted

    async def _act(
        self, action: ModAction, chat_id: int, user_id: int, until: datetime | None
    ) -> Acted:
        stamp = int(until.timestamp()) if until is not None else 0
        member = {"chat_id": chat_id, "user_id": user_id}
        if action is ModAction.MUTE:
            outcome = await self._call(
                "restrictChatMember",
                {**member, "permissions": {"can_send_messages": False}, "until_date": stamp},
            )
        elif action is ModAction.UNMUTE:
            outcome = await self._call(
                "restrictChatMember", {**member, "permissions": await self._defaults(chat_id)}
            )
        elif action is ModAction.BAN:
            outcome = await self._call("banChatMember", {**member, "until_date": stamp})
        elif action is ModAction.UNBAN:
            outcome = await self._call("unbanChatMember", {**member, "only_if_banned": True})
        elif action is ModAction.KICK:
            # Telegram has no kick: a ban lifted at once removes the member, who may come back.
            outcome = await self._call("banChatMember", member)
            if outcome.ok:
                outcome = await self._call("unbanChatMember", {**member, "only_if_banned": True})
            until = None
        else:
            raise ValueError(f"{action} is not a restriction")
        return _acted(action, outcome, until)

    async def _defaults(self, chat_id: int) -> dict[str, Any]:
        """The group's default permissions: granting them lifts a member's restriction."""
        chat = await self._gateway.call("getChat", {"chat_id": chat_id}, chat_id=chat_id)
        found = (
            chat.result.get("permissions") if chat.ok and isinstance(chat.result, dict) else None
        )
        return dict(found) if isinstance(found, dict) else {"can_send_messages": True}

    async def _call(self, method: str, params: dict[str, Any]) -> Outcome:
        return await self._gateway.call(
            method, params, priority=Priority.MODERATION, chat_id=params["chat_id"]
        )

    # --- deleting -----------------------------------------------------------------------------

    async def delete(
        self, chat_id: int, message_ids: Sequence[int], by: Person, target: Person | None
    ) -> Acted:
        """Delete messages (the one a /del replies to, and the command); logged."""
        acted = await self._delete(chat_id, list(message_ids), ModAction.DELETE)
        if acted.ok:
            entry = LogEntry(chat_id, by, ModAction.DELETE, self._clock.now(), target, count=1)
            await self._log(entry)
        return acted

    async def purge(self, chat_id: int, target: Person, by: Person, reason: str = "") -> Purged:
        """Delete a member's messages of the last 48 hours (Telegram's limit), by the ids the
        recorded events keep; logged with how many."""
        assert target.user_id is not None
        await self._recorder.durable()  # their latest messages are recorded first
        now = self._clock.now()
        async with self._uow_factory() as uow:
            ids = await uow.moderation.message_ids(chat_id, target.user_id, now - PURGE_WINDOW)
        if not ids:
            return Purged(0, DONE)
        acted = await self._delete(chat_id, ids, ModAction.PURGE)
        if acted.ok:
            entry = LogEntry(chat_id, by, ModAction.PURGE, now, target, reason, count=len(ids))
            await self._log(entry)
        return Purged(len(ids), acted)

    async def _delete(self, chat_id: int, ids: list[int], action: ModAction) -> Acted:
        outcome: Outcome | None = None
        for start in range(0, len(ids), _DELETE_BATCH):
            batch = ids[start : start + _DELETE_BATCH]
            if len(batch) == 1:
                params: dict[str, Any] = {"chat_id": chat_id, "message_id": batch[0]}
                outcome = await self._call("deleteMessage", params)
            else:
                outcome = await self._call(
                    "deleteMessages", {"chat_id": chat_id, "message_ids": batch}
                )
            if not outcome.ok and outcome.reason is not FailureReason.MESSAGE_NOT_FOUND:
                return _acted(action, outcome, None)
        return DONE

    # --- reports ------------------------------------------------------------------------------

    def report_wait(self, chat_id: int, user_id: int) -> float:
        """Seconds until the member may report again (0 when they may, which takes the turn)."""
        now = self._clock.now().timestamp()
        key = (chat_id, user_id)
        return 0.0 if self._reports.ready(key, now) else self._reports.wait(key, now)

    async def ops_chat(self, chat_id: int) -> int:
        """Where reports about the group go: its hand-off ops chat, the bot's, or the group."""
        async with self._uow_factory() as uow:
            own = (await uow.handoff.settings(chat_id)).ops_chat_id
        return own or self._ops_chat_id or chat_id

    # --- rules, welcome, log ------------------------------------------------------------------

    async def settings(self, chat_id: int) -> ModerationSettings:
        async with self._uow_factory() as uow:
            return await uow.moderation.settings(chat_id)

    async def set_rules(self, chat_id: int, rules: str | None, by: Person) -> None:
        """Set the rules (None: clear them); logged."""
        async with self._uow_factory() as uow:
            settings = await uow.moderation.settings(chat_id)
            await uow.moderation.save_settings(replace(settings, rules=rules))
            reason = "set" if rules is not None else "cleared"
            await uow.moderation.log(
                LogEntry(chat_id, by, ModAction.RULES, self._clock.now(), None, reason)
            )
            await uow.commit()

    async def set_welcome(self, chat_id: int, text: str | None, by: Person) -> None:
        """Set the welcome (None: off); logged. Turned on, it greets those who join from now
        on."""
        async with self._uow_factory() as uow:
            settings = await uow.moderation.settings(chat_id)
            await uow.moderation.save_settings(replace(settings, welcome=text))
            if settings.welcome is None and text is not None:
                await uow.moderation.welcomed(chat_id, await uow.moderation.last_event_id())
            reason = "on" if text is not None else "off"
            await uow.moderation.log(
                LogEntry(chat_id, by, ModAction.WELCOME, self._clock.now(), None, reason)
            )
            await uow.commit()

    async def send_welcomes(self) -> int:
        """Welcome the members who joined since the last welcome, once their joining pauses;
        return how many welcomes were sent."""
        async with self._welcoming:
            # Only committed joins: one still buffered is welcomed by the next tick (asking the
            # recorder to flush every few seconds would break up its batches).
            now = self._clock.now()
            async with self._uow_factory() as uow:
                chats = await uow.moderation.welcome_chats()
            sent = 0
            for chat_id, through in chats.items():
                sent += await self._welcome(chat_id, through, now)
            return sent

    async def _welcome(self, chat_id: int, through: int, now: datetime) -> int:
        async with self._uow_factory() as uow:
            joins = await uow.moderation.joins_after(chat_id, through, WELCOME_MOST)
            if not welcome_due(joins, now):
                return 0
            settings = await uow.moderation.settings(chat_id)
            group = await uow.groups.get(chat_id)
            await uow.moderation.welcomed(chat_id, joins[-1].event_id)
            await uow.commit()
        names = list(dict.fromkeys(j.name for j in joins if not j.is_bot))
        if not names or settings.welcome is None:
            return 0
        language = group.language if group is not None else "en"
        text = self._welcome_text(settings.welcome, names, settings.rules is not None, language)
        outcome = await self._gateway.send_message(chat_id, text, priority=Priority.REPLY)
        return 1 if outcome.ok else 0

    async def entries(self, chat_id: int, target_id: int | None = None) -> list[LogEntry]:
        async with self._uow_factory() as uow:
            return await uow.moderation.entries(chat_id, target_id, LOG_SHOWN)

    async def _log(self, entry: LogEntry) -> None:
        async with self._uow_factory() as uow:
            await uow.moderation.log(entry)
            await uow.commit()


def lock_notice(chat_id: int, message_id: int, text: str, thread_id: int | None) -> Decision:
    """The notice after a locked message is deleted, as a decision stored with its event."""
    return Decision(LOCK_NOTICE, chat_id, message_id, {"text": text, "thread_id": thread_id})


def _acted(action: ModAction, outcome: Outcome, until: datetime | None) -> Acted:
    if outcome.ok:
        return Acted(ok=True, until=until)
    detail = outcome.detail.lower()
    if outcome.reason is FailureReason.MISSING_RIGHTS:
        return Acted(ok=False, missing=RIGHT_NEEDED.get(action, Gap.CANNOT_RESTRICT))
    if outcome.reason is FailureReason.MESSAGE_TOO_OLD:
        return Acted(ok=False, too_old=True)
    if "only for supergroups" in detail:
        return Acted(ok=False, supergroups_only=True)
    if "administrator" in detail or "chat owner" in detail:
        return Acted(ok=False, refusal=Refusal.TARGET_IS_ADMIN)
    log.warning("%s refused: %s", action.value, outcome.detail)
    return Acted(ok=False, detail=outcome.detail)
