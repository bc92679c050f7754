"""The bot joining or leaving groups and members changing status (a group becoming a supergroup
is read by the intake from the raw service message)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import IS_MEMBER, JOIN_TRANSITION, LEAVE_TRANSITION, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.domain.rights import ADMIN_STATUSES
from bot.ports import ChatGateway, Priority
from bot.services.admins import AdminDirectory
from bot.services.readiness import ReadinessService
from handlers import render
from handlers.filters import in_group
from handlers.i18n import pick_locale

log = logging.getLogger(__name__)


def router() -> Router:
    """A fresh router (a router can belong to one dispatcher only)."""
    return register(Router(name="membership"))


def register(target: Router) -> Router:
    """Add the membership handlers to `target` (the dispatcher itself, in `bot.app`).

    Their filters sit on each handler, not on the observers, so that other routers under
    `target` still see the updates these handlers leave.
    """
    target.my_chat_member.register(bot_added, in_group, ChatMemberUpdatedFilter(JOIN_TRANSITION))
    target.my_chat_member.register(
        bot_rights_changed, in_group, ChatMemberUpdatedFilter(IS_MEMBER >> IS_MEMBER)
    )
    target.my_chat_member.register(bot_removed, in_group, ChatMemberUpdatedFilter(LEAVE_TRANSITION))
    target.chat_member.register(member_changed, in_group)
    return target


async def bot_added(
    update: ChatMemberUpdated,
    gateway: ChatGateway,
    readiness: ReadinessService,
    ops_chat_id: int | None,
) -> None:
    """Say hello (and what is recorded), then tell the ops chat what rights are missing."""
    locale = pick_locale(update.from_user.language_code)
    title = update.chat.title or str(update.chat.id)
    log.info("added to group %s (%s) by %s", update.chat.id, title, update.from_user.id)
    if update.chat.id == ops_chat_id:
        return  # the moderators' own chat is no community: no welcome, no readiness list
    await gateway.send_message(update.chat.id, render.welcome(locale), priority=Priority.REPLY)
    await _report_readiness(update, gateway, readiness, ops_chat_id, locale, title)


async def bot_rights_changed(
    update: ChatMemberUpdated,
    gateway: ChatGateway,
    readiness: ReadinessService,
    admins: AdminDirectory,
    ops_chat_id: int | None,
) -> None:
    """The bot was promoted or demoted: check again what it can do."""
    admins.forget(update.chat.id)
    locale = pick_locale(update.from_user.language_code)
    title = update.chat.title or str(update.chat.id)
    await _report_readiness(update, gateway, readiness, ops_chat_id, locale, title)


async def bot_removed(update: ChatMemberUpdated, admins: AdminDirectory) -> None:
    admins.forget(update.chat.id)
    log.warning("removed from group %s (%s)", update.chat.id, update.chat.title)


async def member_changed(update: ChatMemberUpdated, admins: AdminDirectory) -> None:
    """Someone became or stopped being an admin: drop the cached list. Members joining and
    leaving, the bulk of these updates, leave it alone (each drop costs a call to Telegram)."""
    if {update.old_chat_member.status, update.new_chat_member.status} & ADMIN_STATUSES:
        admins.forget(update.chat.id)


async def _report_readiness(
    update: ChatMemberUpdated,
    gateway: ChatGateway,
    readiness: ReadinessService,
    ops_chat_id: int | None,
    locale: str,
    title: str,
) -> None:
    if update.chat.id == ops_chat_id:
        return
    report = await readiness.check(update.chat.id)
    if report is None:
        return
    # A report about the group is in the group's language; a new group's is the adder's.
    locale = pick_locale(await readiness.group_language(update.chat.id), fallback=locale)
    target = ops_chat_id if ops_chat_id is not None else update.chat.id
    if report.ready and ops_chat_id is None:
        return  # nothing to fix and nowhere private to say so: stay quiet in the group
    await gateway.send_message(target, render.readiness(report, title, locale))
