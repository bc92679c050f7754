"""/settings: a group's time zone and whether message text is stored, for its admins."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain.content import parse_quiet
from bot.domain.group_settings import (
    DIGEST_USAGE,
    QUIET_USAGE,
    USAGE,
    WARN_USAGE,
    SetDigest,
    SetQuietHours,
    SettingsInputError,
    SetWarnExpiry,
    SetWarnLimit,
    ShowSettings,
    parse_settings,
)
from bot.domain.moderation import WarnPunishment
from bot.ports import ChatGateway
from bot.services.admins import AdminDirectory
from bot.services.content import ContentService
from bot.services.digest import DIGEST_HOUR, DigestService
from bot.services.group_settings import GroupSettingsService
from bot.services.moderation import ModerationService
from handlers import render
from handlers.filters import in_group
from handlers.i18n import gettext as _
from handlers.moderation import warn_policy_text
from handlers.replies import locale_of, reply, sent_by_admin

# The form that fits the setting an admin tried (a wrong zone needs the time zone form, not all
# five); an unknown setting gets them all.
_FORMS = {
    "timezone": "/settings timezone Europe/Berlin",
    "tz": "/settings timezone Europe/Berlin",
    "language": "/settings language zh",
    "lang": "/settings language zh",
    "text": "/settings text on 30 · /settings text off",
    "warnlimit": WARN_USAGE,
    "warnexpiry": WARN_USAGE,
    "digest": DIGEST_USAGE,
    "quiet": QUIET_USAGE,
}


def _form_for(args: str | None) -> str:
    words = (args or "").split()
    return _FORMS.get(words[0].lower(), USAGE) if words else USAGE


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    settings = Router(name="settings")
    settings.message.register(settings_command, Command("settings"), in_group)
    settings.message.register(settings_outside_group, Command("settings"))
    return settings


async def settings_command(
    message: Message,
    command: CommandObject,
    group_settings: GroupSettingsService,
    admins: AdminDirectory,
    gateway: ChatGateway,
    moderation: ModerationService | None = None,
    digest: DigestService | None = None,
    content: ContentService | None = None,
) -> None:
    locale = locale_of(message)
    if not await sent_by_admin(message, admins):
        text = render.admins_only(locale, "settings")
    else:
        try:
            change = parse_settings(command.args)
        except SettingsInputError as error:
            form = _form_for(command.args)
            text = render.usage(locale, "settings", form, error.problem, **error.values)
        else:
            if isinstance(change, SetQuietHours):
                text = await _quiet_setting(message.chat.id, change, content, locale)
            elif isinstance(change, SetDigest) and digest is not None:
                text = await _digest_setting(message.chat.id, change, digest, locale)
            elif isinstance(change, SetWarnLimit | SetWarnExpiry) and moderation is not None:
                text = await _warn_settings(message.chat.id, change, moderation, locale)
            elif isinstance(change, SetWarnLimit | SetWarnExpiry | SetDigest):
                text = render.usage(
                    locale,
                    "settings",
                    USAGE,
                    "There is no setting “{name}”.",
                    name=(command.args or "").split()[0],
                )
            else:
                result = await group_settings.apply(
                    message.chat.id, message.chat.title or "", change
                )
                text = render.group_settings(result, locale)
                if isinstance(change, ShowSettings) and moderation is not None:
                    policy = await moderation.warn_policy(message.chat.id)
                    # Above the closing "Change with: …" line.
                    *shown, change_with = text.split("\n")
                    text = "\n".join([*shown, warn_policy_text(locale, policy), change_with])
    await reply(message, gateway, text)


async def settings_outside_group(message: Message, gateway: ChatGateway) -> None:
    await gateway.send_message(message.chat.id, render.group_only(locale_of(message), "settings"))


async def _warn_settings(
    chat_id: int, change: SetWarnLimit | SetWarnExpiry, moderation: ModerationService, locale: str
) -> str:
    """The warn limit and expiry belong to moderation (issue 13)."""
    if isinstance(change, SetWarnLimit):
        policy = await moderation.configure_warns(
            chat_id,
            limit=change.limit,
            punishment=WarnPunishment(change.punishment),
            seconds=change.seconds,
        )
    else:
        policy = await moderation.configure_warns(chat_id, expiry_days=change.days)
    return warn_policy_text(locale, policy)


async def _digest_setting(
    chat_id: int, change: SetDigest, digest: DigestService, locale: str
) -> str:
    """The weekly digest belongs to analytics (issue 12)."""
    ops_chat = await digest.set_enabled(chat_id, change.enabled)
    if not change.enabled:
        return _(locale, "Weekly digest off.")
    if ops_chat is None:
        return _(
            locale,
            "Weekly digest on, but there is no ops chat to send it to: run /handoff link in "
            "the moderators' chat, or set OPS_CHAT_ID.",
        )
    return _(
        locale,
        "Weekly digest on: every Monday from {hour}:00 (the group's time), the week's changes "
        "and the members at risk go to the ops chat.",
        hour=DIGEST_HOUR,
    )


async def _quiet_setting(
    chat_id: int, change: SetQuietHours, content: ContentService | None, locale: str
) -> str:
    """Quiet hours belong to scheduled content (issue 11)."""
    if content is None:
        return _(locale, "Scheduled content is not running here.")
    if change.start is None or change.end is None:
        await content.set_quiet(chat_id, None)
        return _(locale, "Quiet hours off: scheduled posts go out at their time.")
    await content.set_quiet(chat_id, parse_quiet(f"{change.start}-{change.end}"))
    return _(
        locale,
        "Quiet hours {start}–{end} (the group's time): a post due then goes out at {end}, "
        "and whoever scheduled it is told when they schedule it.",
        start=change.start,
        end=change.end,
    )
