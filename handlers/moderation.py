"""Moderation in the bot: /warn, /warns, /unwarn, /mute, /unmute, /ban, /unban, /kick, /del,
/purge, /report, /lock, /unlock, /locks, /rules, /modlog and /welcome, the locks watcher, and
the welcome tick.

Each handler checks (an admin? the right words? a target that may be moderated?), calls
`ModerationService` and renders; locked messages never reach a router here, they are judged by
the service's watcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message, User

from bot.domain.durations import format_duration
from bot.domain.moderation import (
    LOCK_USAGE,
    RULES_LIMIT,
    WELCOME_LIMIT,
    LockKind,
    LogEntry,
    ModAction,
    ModArgs,
    ModerationInputError,
    Person,
    Refusal,
    WarningRecord,
    WarnOutcome,
    WarnPolicy,
    WarnPunishment,
    parse_lock_kinds,
    parse_mod_args,
)
from bot.domain.rights import Gap
from bot.features import Feature, HealthLine, MenuEntry, MenuScope, Runtime, Tick
from bot.ports import ChatGateway, Priority
from bot.services.admins import AdminDirectory
from bot.services.moderation import LOCK_NOTICE, Acted, ModerationService
from handlers import render
from handlers.filters import in_group
from handlers.i18n import day, ngettext, number, pick_locale
from handlers.i18n import gettext as _
from handlers.replies import locale_of, reply, sent_by_admin

WELCOME_TICK = timedelta(seconds=5)

FORMS = {
    "warn": "/warn (reply) [reason] · /warn @username [reason] · /warn 123456789 [reason]",
    "unwarn": "/unwarn (reply) [all] · /unwarn @username [all]",
    "warns": "/warns (reply) · /warns @username · /warns",
    "mute": "/mute (reply) [10m|2h|1d12h] [reason] · /mute @username [duration] [reason]",
    "unmute": "/unmute (reply) · /unmute @username",
    "ban": "/ban (reply) [10m|2h|1d12h] [reason] · /ban @username [duration] [reason]",
    "unban": "/unban @username · /unban 123456789",
    "kick": "/kick (reply) [reason] · /kick @username [reason]",
    "purge": "/purge (reply) · /purge @username",
    "del": "/del (as a reply)",
    "report": "/report (as a reply) [reason]",
    "lock": LOCK_USAGE,
    "unlock": LOCK_USAGE,
    "rules": "/rules · /rules set <text> · /rules clear",
    "welcome": "/welcome set <text; {names} stands for the new members> · /welcome on · "
    "/welcome off",
    "modlog": "/modlog · /modlog @username",
}
_RESTRICTIONS = {
    "mute": ModAction.MUTE,
    "unmute": ModAction.UNMUTE,
    "ban": ModAction.BAN,
    "unban": ModAction.UNBAN,
    "kick": ModAction.KICK,
}
# Actions that may not touch an admin, the bot or a channel.
_GUARDED = {"warn", "mute", "ban", "kick"}

_REFUSALS = {
    Refusal.TARGET_IS_ADMIN: "I won't do that to an admin: admins cannot be warned, muted, banned "
    "or kicked.",
    Refusal.TARGET_IS_BOT: "I won't do that to myself.",
    Refusal.TARGET_IS_CHANNEL: "That message was sent on behalf of a channel, not by a member: "
    "there is no one to do that to.",
    Refusal.UNKNOWN_MEMBER: "I don't know who that is: reply to their message, or use their "
    "@username or id.",
}
_RIGHT_NAMES = {
    Gap.CANNOT_RESTRICT: "Ban users",
    Gap.CANNOT_DELETE: "Delete messages",
}
_LOCK_NAMES = {
    LockKind.LINKS: "links",
    LockKind.FORWARDS: "forwards",
    LockKind.MEDIA: "media",
    LockKind.STICKERS: "stickers",
}
_LOCK_VALUES = frozenset(kind.value for kind in LockKind)
_LOCK_NOTICES = {
    LockKind.LINKS: "🔒 Links are locked in this group: the message was removed.",
    LockKind.FORWARDS: "🔒 Forwards are locked in this group: the message was removed.",
    LockKind.MEDIA: "🔒 Media are locked in this group: the message was removed.",
    LockKind.STICKERS: "🔒 Stickers are locked in this group: the message was removed.",
}
_DONE = {
    ModAction.WARN: "warned {whom}",
    ModAction.UNWARN: "took back warnings of {whom}",
    ModAction.MUTE: "muted {whom}",
    ModAction.UNMUTE: "unmuted {whom}",
    ModAction.BAN: "banned {whom}",
    ModAction.UNBAN: "unbanned {whom}",
    ModAction.KICK: "kicked {whom}",
    ModAction.DELETE: "deleted a message of {whom}",
    ModAction.PURGE: "deleted recent messages of {whom}",
    ModAction.LOCK: "locked {whom}",
    ModAction.UNLOCK: "unlocked {whom}",
}
# Changes to the group's texts, logged without a target.
_CHANGED = {
    (ModAction.RULES, "set"): "set the rules",
    (ModAction.RULES, "cleared"): "cleared the rules",
    (ModAction.WELCOME, "on"): "set the welcome",
    (ModAction.WELCOME, "off"): "turned the welcome off",
}
PRIVACY_NOTE = (
    "ℹ️ I record who posts, replies and reacts here, and when — not what you write, unless the "
    "admins turn that on. Send me /optout in private to stop it, or /mydata to see what I keep."
)


def moderation_feature(runtime: Runtime) -> Feature:
    """The moderation commands, the locks watcher and the welcome tick."""
    service = ModerationService(
        runtime.uow_factory,
        runtime.clock,
        runtime.recorder,
        runtime.admins,
        runtime.gateway,
        ops_chat_id=runtime.settings.ops_chat_id,
        notice=lock_notice,
        welcome_text=welcome_text,
    )
    group: MenuScope = "all_group_chats"
    return Feature(
        name="moderation",
        routers=[router],
        watchers=[service],
        actions={LOCK_NOTICE: service.apply_notice},
        ticks=[Tick("welcome", WELCOME_TICK, service.send_welcomes)],
        services={"moderation": service},
        on_start=[service.start],
        health=[HealthLine("Locked messages deleted", lambda: service.deleted_locked)],
        rights=(Gap.CANNOT_DELETE, Gap.CANNOT_RESTRICT),
        menu=[
            MenuEntry(group, "warn", "Warn a member (admins)"),
            MenuEntry(group, "warns", "A member's warnings"),
            MenuEntry(group, "unwarn", "Take back a warning (admins)"),
            MenuEntry(group, "mute", "Mute a member, for a while or for ever (admins)"),
            MenuEntry(group, "unmute", "Let a muted member write again (admins)"),
            MenuEntry(group, "ban", "Ban a member (admins)"),
            MenuEntry(group, "unban", "Lift a ban (admins)"),
            MenuEntry(group, "kick", "Remove a member, who may come back (admins)"),
            MenuEntry(group, "del", "Reply: delete a message (admins)"),
            MenuEntry(group, "purge", "Delete a member's messages of the last 48 hours (admins)"),
            MenuEntry(group, "report", "Reply: report a message to the moderators"),
            MenuEntry(group, "lock", "Lock links, forwards, media or stickers (admins)"),
            MenuEntry(group, "unlock", "Unlock them again (admins)"),
            MenuEntry(group, "rules", "The group's rules"),
            MenuEntry(group, "modlog", "The moderation log (admins)"),
            MenuEntry(group, "welcome", "The welcome for new members (admins)"),
        ],
    )


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    moderation = Router(name="moderation")
    moderation.message.register(warn_command, Command("warn"), in_group)
    moderation.message.register(unwarn_command, Command("unwarn"), in_group)
    moderation.message.register(warns_command, Command("warns"), in_group)
    moderation.message.register(restrict_command, Command(*_RESTRICTIONS), in_group)
    moderation.message.register(purge_command, Command("purge"), in_group)
    moderation.message.register(del_command, Command("del"), in_group)
    moderation.message.register(report_command, Command("report"), in_group)
    moderation.message.register(lock_command, Command("lock", "unlock", "locks"), in_group)
    moderation.message.register(rules_command, Command("rules"), in_group)
    moderation.message.register(welcome_command, Command("welcome"), in_group)
    moderation.message.register(modlog_command, Command("modlog"), in_group)
    moderation.message.register(
        outside_group,
        Command(
            "warn",
            "unwarn",
            "warns",
            *_RESTRICTIONS,
            "purge",
            "del",
            "report",
            "lock",
            "unlock",
            "locks",
            "rules",
            "welcome",
            "modlog",
        ),
    )
    return moderation


# --- who and whom ------------------------------------------------------------------------------


def display(user: User) -> str:
    """How a member is named: their name and @username."""
    return f"{user.full_name} (@{user.username})" if user.username else user.full_name


def caller(message: Message) -> Person:
    """Who ran a command: a member, or an anonymous admin posting as the group."""
    if message.sender_chat is not None:
        return Person(None, message.sender_chat.title or _("en", "an anonymous admin"))
    assert message.from_user is not None
    return Person(message.from_user.id, display(message.from_user))


def _replied(message: Message) -> Message | None:
    target = message.reply_to_message
    # In a forum, a message in a topic "replies" to the topic's first message.
    if target is None or target.forum_topic_created is not None:
        return None
    return target


class _Stop(Exception):
    """A command ends here with this answer (a refusal or the right form)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _usage(locale: str, name: str, problem: str, **values: object) -> _Stop:
    return _Stop(render.usage(locale, name, FORMS[name], problem, **values))


def _args(locale: str, name: str, message: Message, command: CommandObject) -> ModArgs:
    try:
        return parse_mod_args(
            command.args, replied=_replied(message) is not None, timed=name in ("mute", "ban")
        )
    except ModerationInputError as error:
        raise _usage(locale, name, error.problem, **error.values) from error


async def _whom(
    locale: str,
    name: str,
    message: Message,
    args: ModArgs,
    moderation: ModerationService,
) -> Person:
    """The member a command is about, refused when they may not be moderated."""
    chat_id = message.chat.id
    replied = _replied(message)
    sender_chat = None
    if replied is not None:
        if replied.sender_chat is not None:
            sender_chat = replied.sender_chat.id
            target = Person(None, replied.sender_chat.title or "")
        else:
            assert replied.from_user is not None
            target = Person(replied.from_user.id, display(replied.from_user))
    else:
        assert args.target is not None
        found = await moderation.person(chat_id, args.target)
        if found is None:
            username = getattr(args.target, "username", "")
            raise _Stop(
                _(
                    locale,
                    "I have not seen @{username} in this group: they need to have written here.",
                    username=username,
                )
            )
        target = found
    if name in _GUARDED or sender_chat is not None:
        bot_id = message.bot.id if message.bot is not None else 0
        refused = await moderation.refused(chat_id, target.user_id, sender_chat, bot_id)
        if refused is not None:
            raise _Stop(_(locale, _REFUSALS[refused]))
    return target


async def _admin_or_stop(message: Message, admins: AdminDirectory, name: str) -> None:
    if not await sent_by_admin(message, admins):
        raise _Stop(render.admins_only(locale_of(message), name))


# --- warnings -----------------------------------------------------------------------------------


async def warn_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    try:
        await _admin_or_stop(message, admins, "warn")
        args = _args(locale, "warn", message, command)
        target = await _whom(locale, "warn", message, args, moderation)
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    warned = await moderation.warn(message.chat.id, target, caller(message), args.reason)
    await reply(message, gateway, warned_text(locale, target.name, warned.outcome, args.reason))
    if warned.punished is not None:
        outcome = warned.outcome
        punished = warned.punished
        if punished.ok and outcome.punishment is not None:
            text = _(
                locale,
                "⛔ {name} reached {limit} warnings: {what}.",
                name=target.name,
                limit=number(locale, outcome.limit),
                what=punishment_text(locale, outcome.punishment, outcome.until),
            )
        else:
            text = acted_text(locale, punished)
        await reply(message, gateway, text)


def warned_text(locale: str, name: str, outcome: WarnOutcome, reason: str) -> str:
    text = _(
        locale,
        "⚠️ {name} is warned ({count}/{limit}).",
        name=name,
        count=number(locale, outcome.count),
        limit=number(locale, outcome.limit),
    )
    return f"{text}\n{_(locale, 'Reason: {reason}', reason=reason)}" if reason else text


def punishment_text(locale: str, punishment: WarnPunishment, until: datetime | None) -> str:
    if punishment is WarnPunishment.KICK:
        return _(locale, "removed from the group")
    if until is None:
        return (
            _(locale, "muted for ever")
            if punishment is WarnPunishment.MUTE
            else _(locale, "banned for ever")
        )
    when = _until(locale, until)
    if punishment is WarnPunishment.MUTE:
        return _(locale, "muted until {until}", until=when)
    return _(locale, "banned until {until}", until=when)


def _until(locale: str, until: datetime) -> str:
    return f"{day(locale, until)} {until.strftime('%H:%M')} UTC"


async def unwarn_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    try:
        await _admin_or_stop(message, admins, "unwarn")
        args = _args(locale, "unwarn", message, command)
        every = args.reason.lower() == "all"
        if args.reason and not every:
            raise _usage(locale, "unwarn", "Say “all” to take back every warning, or nothing.")
        target = await _whom(locale, "unwarn", message, args, moderation)
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    cleared = await moderation.unwarn(message.chat.id, target, caller(message), every=every)
    if cleared:
        text = ngettext(
            locale,
            "↩️ Took back {n} warning of {name}.",
            "↩️ Took back {n} warnings of {name}.",
            cleared,
            name=target.name,
        )
    else:
        text = _(locale, "{name} has no warnings to take back.", name=target.name)
    await reply(message, gateway, text)


async def warns_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    """A member's warnings: anyone may see their own; admins anyone's."""
    locale = locale_of(message)
    own = not command.args and _replied(message) is None
    try:
        if own:
            if message.from_user is None or message.sender_chat is not None:
                raise _usage(locale, "warns", "Name the member, or reply to their message.")
            target = Person(message.from_user.id, display(message.from_user))
        else:
            await _admin_or_stop(message, admins, "warns")
            target = await _whom(
                locale, "warns", message, _args(locale, "warns", message, command), moderation
            )
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    assert target.user_id is not None
    found, policy = await moderation.warnings(message.chat.id, target.user_id)
    if not found:
        text = _(locale, "{name} has no warnings that count.", name=target.name)
    else:
        lines = [
            _(
                locale,
                "⚠️ {name}: {count} of {limit} warnings (each counts for {days} days).",
                name=target.name,
                count=number(locale, len(found)),
                limit=number(locale, policy.limit),
                days=number(locale, policy.expiry_days),
            )
        ]
        for warning in found:
            lines.append(
                _(
                    locale,
                    "• {when}, by {by}: {reason}",
                    when=_until(locale, warning.given_at),
                    by=warning.given_by,
                    reason=warning.reason or "—",
                )
            )
        text = "\n".join(lines)
    await reply(message, gateway, text)


def warn_policy_text(locale: str, policy: WarnPolicy) -> str:
    """The group's warn limit, for /settings warnlimit and warnexpiry."""
    if policy.punishment is WarnPunishment.KICK:
        then = _(locale, "a kick")
    elif policy.seconds == 0:
        then = (
            _(locale, "a mute for ever")
            if policy.punishment is WarnPunishment.MUTE
            else _(locale, "a ban for ever")
        )
    else:
        template = (
            "a mute for {time}"
            if policy.punishment is WarnPunishment.MUTE
            else ("a ban for {time}")
        )
        then = _(locale, template, time=format_duration(policy.seconds))
    return _(
        locale,
        "⚠️ Warn limit: {limit} warnings, then {then}. A warning counts for {days} days.",
        limit=number(locale, policy.limit),
        then=then,
        days=number(locale, policy.expiry_days),
    )


# --- restrictions -------------------------------------------------------------------------------


async def restrict_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    name = command.command.lower()
    action = _RESTRICTIONS[name]
    try:
        await _admin_or_stop(message, admins, name)
        args = _args(locale, name, message, command)
        target = await _whom(locale, name, message, args, moderation)
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    acted = await moderation.restrict(
        action, message.chat.id, target, caller(message), args.seconds, args.reason
    )
    if not acted.ok:
        await reply(message, gateway, acted_text(locale, acted))
        return
    text = restricted_text(locale, action, target.name, acted.until)
    if args.reason:
        text = f"{text}\n{_(locale, 'Reason: {reason}', reason=args.reason)}"
    await reply(message, gateway, text)


def restricted_text(locale: str, action: ModAction, name: str, until: datetime | None) -> str:
    if action is ModAction.MUTE:
        if until is None:
            return _(locale, "🔇 {name} is muted.", name=name)
        return _(
            locale, "🔇 {name} is muted until {until}.", name=name, until=_until(locale, until)
        )
    if action is ModAction.BAN:
        if until is None:
            return _(locale, "⛔ {name} is banned.", name=name)
        return _(
            locale, "⛔ {name} is banned until {until}.", name=name, until=_until(locale, until)
        )
    if action is ModAction.UNMUTE:
        return _(locale, "🔊 {name} may write again.", name=name)
    if action is ModAction.UNBAN:
        return _(locale, "✅ {name} is no longer banned and may join again.", name=name)
    return _(locale, "👢 {name} was removed from the group and may join again.", name=name)


def acted_text(locale: str, acted: Acted) -> str:
    """Why Telegram did not do it: a right the bot lacks (named), an admin, or its words."""
    if acted.missing is not None:
        right = _(locale, _RIGHT_NAMES.get(acted.missing, acted.missing.value))
        return _(
            locale,
            "I can't do that: I need the “{right}” admin right here. Give it to me in the "
            "group's admin settings.",
            right=right,
        )
    if acted.refusal is not None:
        return _(locale, _REFUSALS.get(acted.refusal, acted.refusal.value))
    if acted.supergroups_only:
        return _(
            locale,
            "Telegram lets bots mute members only in supergroups; this is a basic group. "
            "Turning on chat history for new members in the group's settings upgrades it.",
        )
    if acted.too_old:
        return _(
            locale, "That message is older than 48 hours: Telegram no longer lets bots delete it."
        )
    return _(locale, "Telegram refused: {detail}", detail=acted.detail)


# --- deleting -----------------------------------------------------------------------------------


async def del_command(
    message: Message,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    target = _replied(message)
    try:
        await _admin_or_stop(message, admins, "del")
        if target is None:
            raise _usage(locale, "del", "Reply with /del to the message to delete.")
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    author = target.from_user
    whom = Person(author.id, display(author)) if author and target.sender_chat is None else None
    acted = await moderation.delete(
        message.chat.id, [target.message_id, message.message_id], caller(message), whom
    )
    if not acted.ok:
        await reply(message, gateway, acted_text(locale, acted))


async def purge_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    try:
        await _admin_or_stop(message, admins, "purge")
        args = _args(locale, "purge", message, command)
        target = await _whom(locale, "purge", message, args, moderation)
        if target.user_id is None:
            raise _Stop(_(locale, _REFUSALS[Refusal.TARGET_IS_CHANNEL]))
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    purged = await moderation.purge(message.chat.id, target, caller(message), args.reason)
    if not purged.acted.ok:
        text = acted_text(locale, purged.acted)
    elif purged.found == 0:
        text = _(locale, "I have no messages of {name} from the last 48 hours.", name=target.name)
    else:
        text = ngettext(
            locale,
            "🧹 Deleted {n} message of {name} from the last 48 hours.",
            "🧹 Deleted {n} messages of {name} from the last 48 hours.",
            purged.found,
            name=target.name,
        )
    await reply(message, gateway, text)


# --- reports ------------------------------------------------------------------------------------


async def report_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    gateway: ChatGateway,
) -> None:
    """A member reports a message: the moderators get it with a link; the reporter is thanked
    in private (not in the group); one report per member every few minutes."""
    locale = locale_of(message)
    reported = _replied(message)
    if reported is None:
        problem = "Reply with /report to the message the moderators should see."
        await reply(message, gateway, render.usage(locale, "report", FORMS["report"], problem))
        return
    if message.from_user is None or message.sender_chat is not None:
        return  # an anonymous admin or a channel: no one to thank, and admins act themselves
    reporter = message.from_user
    chat_id = message.chat.id
    wait = moderation.report_wait(chat_id, reporter.id)
    if wait > 0:
        text = _(
            locale,
            "You reported a message a moment ago; you can report again in {time}.",
            time=format_duration(max(1, round(wait))),
        )
        await gateway.send_message(reporter.id, text, priority=Priority.REPLY)
        return
    ops_chat = await moderation.ops_chat(chat_id)
    if reported.sender_chat is not None:
        about = reported.sender_chat.title or ""
    else:
        about = display(reported.from_user) if reported.from_user else ""
    link = message_link(chat_id, reported.message_id, message.chat.username)
    lines = [
        _(
            "en",
            "🚩 Report in {group}: {reporter} reported a message by {author}.",
            group=message.chat.title or str(chat_id),
            reporter=display(reporter),
            author=about,
        )
    ]
    excerpt = (reported.text or reported.caption or "").strip()
    if excerpt:
        lines.append(f"“{excerpt[:300]}”")
    if command.args:
        lines.append(_("en", "Reason: {reason}", reason=command.args.strip()[:200]))
    if link:
        lines.append(link)
    target_reply = reported.message_id if ops_chat == chat_id else None
    await gateway.send_message(
        ops_chat, "\n".join(lines), priority=Priority.MODERATION, reply_to_message_id=target_reply
    )
    thanks = _(
        locale,
        "Thank you for the report: the moderators of {group} will look at it.",
        group=message.chat.title or "",
    )
    await gateway.send_message(reporter.id, thanks, priority=Priority.REPLY)


def message_link(chat_id: int, message_id: int, username: str | None) -> str | None:
    """A link to a message: t.me/<name>/<id> for a public group, t.me/c/<id>/<id> for a
    private supergroup (its id is -100 followed by <id>); none for a basic group."""
    if username:
        return f"https://t.me/{username}/{message_id}"
    text = str(chat_id)
    if not text.startswith("-100"):
        return None
    return f"https://t.me/c/{text[4:]}/{message_id}"


# --- locks --------------------------------------------------------------------------------------


async def lock_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    name = command.command.lower()
    chat_id = message.chat.id
    if name == "locks":
        await reply(message, gateway, locks_text(locale, moderation.locks(chat_id)))
        return
    try:
        await _admin_or_stop(message, admins, name)
        try:
            kinds = parse_lock_kinds(command.args)
        except ModerationInputError as error:
            raise _usage(locale, name, error.problem, **error.values) from error
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    locked = await moderation.set_locks(chat_id, kinds, locked=name == "lock", by=caller(message))
    text = locks_text(locale, locked)
    bot_id = message.bot.id if message.bot is not None else 0
    if locked and await moderation.lacks(chat_id, bot_id, Gap.CANNOT_DELETE):
        text += "\n" + acted_text(locale, Acted(ok=False, missing=Gap.CANNOT_DELETE))
    await reply(message, gateway, text)


def locks_text(locale: str, locked: frozenset[LockKind]) -> str:
    if not locked:
        return _(locale, "🔓 Nothing is locked in this group.")
    kinds = ", ".join(_(locale, _LOCK_NAMES[kind]) for kind in LockKind if kind in locked)
    return _(
        locale,
        "🔒 Locked: {kinds}. Such messages from members (not admins) are deleted.",
        kinds=kinds,
    )


def lock_notice(kind: LockKind, language_code: str | None) -> str:
    """The short notice after a locked message is deleted, in the member's language."""
    return _(pick_locale(language_code), _LOCK_NOTICES[kind])


# --- rules and welcome --------------------------------------------------------------------------


def _subcommand(args: str | None) -> tuple[str, str]:
    words = (args or "").strip().split(maxsplit=1)
    if not words:
        return "", ""
    return words[0].lower(), words[1].strip() if len(words) > 1 else ""


async def rules_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    chat_id = message.chat.id
    verb, text = _subcommand(command.args)
    if not verb:
        rules = (await moderation.settings(chat_id)).rules
        if rules is None:
            answer = _(locale, "No rules are set here yet. Admins: /rules set <text>")
        else:
            answer = (
                _(locale, "📜 Rules of {group}:", group=message.chat.title or "") + "\n" + rules
            )
        await reply(message, gateway, answer)
        return
    try:
        await _admin_or_stop(message, admins, "rules")
        if verb == "set" and not text:
            raise _usage(locale, "rules", "Write the rules after “/rules set”.")
        if verb == "set" and len(text) > RULES_LIMIT:
            raise _usage(
                locale, "rules", "The rules can be at most {most} characters.", most=RULES_LIMIT
            )
        if verb not in ("set", "clear"):
            raise _usage(locale, "rules", "Say “/rules set <text>” or “/rules clear”.")
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    await moderation.set_rules(chat_id, text if verb == "set" else None, caller(message))
    answer = (
        _(locale, "📜 Rules saved: /rules shows them.")
        if verb == "set"
        else _(locale, "📜 Rules cleared.")
    )
    await reply(message, gateway, answer)


DEFAULT_WELCOME = "👋 Welcome, {names}!"


async def welcome_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    chat_id = message.chat.id
    verb, text = _subcommand(command.args)
    try:
        await _admin_or_stop(message, admins, "welcome")
        if verb == "set" and not text:
            raise _usage(locale, "welcome", "Write the welcome after “/welcome set”.")
        if verb == "set" and len(text) > WELCOME_LIMIT:
            raise _usage(
                locale, "welcome", "A welcome can be at most {most} characters.", most=WELCOME_LIMIT
            )
        if verb not in ("", "set", "on", "off"):
            raise _usage(locale, "welcome", "Say “set”, “on” or “off”.")
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    settings = await moderation.settings(chat_id)
    if verb == "off":
        await moderation.set_welcome(chat_id, None, caller(message))
        await reply(message, gateway, _(locale, "👋 The welcome is off."))
        return
    if verb in ("set", "on"):
        chosen = text if verb == "set" else settings.welcome or _(locale, DEFAULT_WELCOME)
        await moderation.set_welcome(chat_id, chosen, caller(message))
        current: str | None = chosen
    else:
        current = settings.welcome
    if current is None:
        answer = _(locale, "👋 No welcome is set. Use: {form}", form=FORMS["welcome"])
    else:
        preview = welcome_text(
            current,
            [display(message.from_user)] if message.from_user else [],
            settings.rules is not None,
            locale,
        )
        answer = _(locale, "👋 New members are welcomed like this:") + "\n\n" + preview
    await reply(message, gateway, answer)


def welcome_text(template: str, names: Sequence[str], has_rules: bool, language: str) -> str:
    """The welcome: the group's text with {names}, a pointer to the rules, and what is recorded
    and how to opt out (in the group's language)."""
    locale = pick_locale(language)
    shown = list(names[:10])
    joined = ", ".join(shown)
    if len(names) > len(shown):
        joined = _(locale, "{names} and {n} more", names=joined, n=number(locale, len(names) - 10))
    text = template.replace("{names}", joined) if "{names}" in template else f"{joined}: {template}"
    lines = [text]
    if has_rules:
        lines.append(_(locale, "📜 Please read the rules: /rules"))
    lines.append(_(locale, PRIVACY_NOTE))
    return "\n\n".join(lines)


# --- the log ------------------------------------------------------------------------------------


async def modlog_command(
    message: Message,
    command: CommandObject,
    moderation: ModerationService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    try:
        await _admin_or_stop(message, admins, "modlog")
        target = None
        if command.args or _replied(message) is not None:
            args = _args(locale, "modlog", message, command)
            target = await _whom(locale, "modlog", message, args, moderation)
    except _Stop as stop:
        await reply(message, gateway, stop.text)
        return
    found = await moderation.entries(message.chat.id, target.user_id if target else None)
    await reply(message, gateway, modlog_text(locale, found, target))


def modlog_text(locale: str, entries: list[LogEntry], target: Person | None) -> str:
    if not entries:
        return _(locale, "🛡 Nothing in the moderation log yet.")
    if target is None:
        lines = [_(locale, "🛡 Moderation log, latest first:")]
    else:
        lines = [_(locale, "🛡 Moderation log for {name}, latest first:", name=target.name)]
    for entry in entries:
        if entry.action in (ModAction.LOCK, ModAction.UNLOCK):
            whom = ", ".join(
                _(locale, _LOCK_NAMES[LockKind(k)])
                for k in entry.reason.split(", ")
                if k in _LOCK_VALUES
            )
        else:
            whom = entry.target.name if entry.target and entry.target.name else _(locale, "someone")
        who = entry.actor.name or _(locale, "someone")
        changed = _CHANGED.get((entry.action, entry.reason))
        if changed is not None:
            lines.append(f"• {_until(locale, entry.at)} · {who} {_(locale, changed)}")
            continue
        what = _(locale, _DONE[entry.action], whom=whom)
        line = f"• {_until(locale, entry.at)} · {who} {what}"
        if entry.until is not None:
            line += " " + _(locale, "until {until}", until=_until(locale, entry.until))
        if entry.action is ModAction.PURGE and entry.count:
            line += " " + ngettext(locale, "({n} message)", "({n} messages)", entry.count)
        if entry.reason and entry.action not in (ModAction.LOCK, ModAction.UNLOCK):
            line += " — " + entry.reason
        lines.append(line)
    return "\n".join(lines)


async def outside_group(message: Message, command: CommandObject, gateway: ChatGateway) -> None:
    await gateway.send_message(
        message.chat.id, render.group_only(locale_of(message), command.command)
    )


def warnings_text(found: Sequence[tuple[str, WarningRecord, bool]], locale: str) -> str:
    """For /mydata: every warning stored about the person, group by group, oldest first."""
    lines = [_(locale, "⚠️ Warnings given to you:")]
    for title, warning, cleared in found:
        line = _(
            locale,
            "• {group}, {day}: {reason}",
            group=title,
            day=day(locale, warning.given_at),
            reason=warning.reason or _(locale, "no reason given"),
        )
        lines.append(f"{line} ({_(locale, 'cleared')})" if cleared else line)
    return "\n".join(lines)
