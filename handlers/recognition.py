"""Recognition in the bot: /rank, /leaderboard, /invite, /invites in a group; /optout and /optin
in a private chat; the points watcher, the badge and invite ticks, and their texts.

Ordinary chat earns points through the watcher (`RecognitionService.watch`), never a router here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.domain.recognition import Badge, Standing
from bot.domain.rights import Gap
from bot.features import Feature, GroupHealthLine, HealthLine, MenuEntry, Runtime, Tick
from bot.ports import ChatGateway, Priority, RecognitionFootprint
from bot.services.admins import AdminDirectory
from bot.services.recognition import (
    AWARD,
    Board,
    GroupChoice,
    InviteRefusal,
    InviteSummary,
    Rank,
    RecognitionService,
)
from handlers import render
from handlers.filters import in_group, in_private
from handlers.i18n import gettext as _
from handlers.i18n import number, pick_locale
from handlers.replies import locale_of, point_to_private_chat, reply, sent_by_admin

BADGE_TICK = timedelta(minutes=10)  # badges earned, then announced where a day has passed
INVITE_TICK = timedelta(hours=1)  # invites that reached 7 days and a post are credited
OUT, IN = "rc:out:", "rc:in:"  # button data: opt out of / back into a group
PRIVATE = ("optout", "optin")  # commands answered in a private chat only

BADGES = {
    Badge.FIRST_ANSWER: "💡 First answer",
    Badge.STREAK: "🔥 7-day streak",
    Badge.HELPFUL: "🤝 Helpful answerer",
    Badge.TOP_INVITER: "📨 Top inviter",
}
REFUSALS = {
    InviteRefusal.OPTED_OUT: (
        "You opted out of recording in this group, so joins cannot be credited to you. "
        "Send /optin in a private chat with me to take part again."
    ),
    InviteRefusal.MISSING_RIGHTS: (
        "I need the admin right to invite users via link to make your link. "
        "An admin of the group can grant it."
    ),
    InviteRefusal.FAILED: "Telegram did not make the link. Please try again later.",
}


class Wording:
    """Recognition's texts the service sends itself (the `RecognitionWording` it asks for)."""

    def announcement(self, badges: Sequence[tuple[str, Badge]], language: str) -> str:
        locale = pick_locale(language)  # the group's language, as /settings stored it
        lines = [_(locale, "🎉 New badges in this group:")]
        lines += [f"• {name} — {_(locale, BADGES[badge])}" for name, badge in badges]
        lines.append(_(locale, "See your own standing with /rank."))
        return "\n".join(lines)


def recognition_feature(runtime: Runtime) -> Feature:
    """The points watcher, its award, the badge and invite ticks, the commands and buttons."""
    service = RecognitionService(
        runtime.uow_factory,
        runtime.clock,
        runtime.gateway,
        runtime.recorder,
        Wording(),
        runtime.settings.default_timezone,
    )

    async def badges() -> None:
        await service.award_badges()
        await service.announce_badges()

    return Feature(
        name="recognition",
        routers=[router],
        watchers=[service],
        actions={AWARD: service.apply_award},
        writes={AWARD: service.write_awards},
        services={"recognition": service},
        on_start=[service.load],
        ticks=[
            Tick("recognition-badges", BADGE_TICK, badges),
            Tick("recognition-invites", INVITE_TICK, service.credit_invites),
        ],
        health=[
            HealthLine("Points awarded · badges · invites credited", lambda: _counts(service)),
        ],
        group_health=[GroupHealthLine("recognition", partial(_group_line, service))],
        rights=(Gap.CANNOT_INVITE,),
        menu=[
            MenuEntry("all_group_chats", "rank", "Your points, rank and badges here"),
            MenuEntry("all_group_chats", "leaderboard", "This week's and all-time top members"),
            MenuEntry("all_group_chats", "invite", "Your personal invite link"),
            MenuEntry("all_group_chats", "invites", "Who joined through your link"),
            MenuEntry("all_private_chats", "optout", "Stop recording your activity in a group"),
            MenuEntry("all_private_chats", "optin", "Record your activity in a group again"),
        ],
    )


async def _group_line(service: RecognitionService, chat_id: int, locale: str) -> str:
    """/health in a group: who earned points this week, and badges still to announce."""
    earners, waiting = await service.week_summary(chat_id)
    return _(
        locale,
        "Members with points in the last 7 days: {members} · badges to announce: {badges}",
        members=number(locale, earners),
        badges=number(locale, waiting),
    )


def _counts(service: RecognitionService) -> str:
    m = service.metrics
    return f"{m.awarded} · {m.badges} · {m.invites_credited}"


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands and buttons through)."""
    recognition = Router(name="recognition")
    recognition.message.register(rank_command, Command("rank"), in_group)
    recognition.message.register(leaderboard_command, Command("leaderboard"), in_group)
    recognition.message.register(invite_command, Command("invite"), in_group)
    recognition.message.register(invites_command, Command("invites"), in_group)
    recognition.message.register(private_pointer, Command(*PRIVATE), in_group)
    recognition.message.register(choose_command, Command(*PRIVATE), in_private)
    recognition.message.register(
        group_only, Command("rank", "leaderboard", "invite", "invites"), in_private
    )
    recognition.callback_query.register(button, _is_recognition_button)
    return recognition


# --- /rank and /leaderboard ------------------------------------------------------------------


def _anonymous(message: Message, locale: str) -> str | None:
    """A member posting as the group (an anonymous admin) or a channel has no standing."""
    if message.sender_chat is None:
        return None
    return _(
        locale,
        "You are posting as {chat}, so I cannot tell who you are. Post as yourself and ask again.",
        chat=message.sender_chat.title or "",
    )


def _no_arguments(locale: str, command: CommandObject) -> str | None:
    if not (command.args or "").strip():
        return None
    return render.usage(
        locale, command.command, f"/{command.command}", "/{command} takes no words."
    )


async def rank_command(
    message: Message, command: CommandObject, recognition: RecognitionService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    wrong = _no_arguments(locale, command) or _anonymous(message, locale)
    if wrong is not None or message.from_user is None:
        await reply(message, gateway, wrong or "")
        return
    user_id = message.from_user.id
    if recognition.is_opted_out(message.chat.id, user_id):
        await reply(message, gateway, _(locale, _OPTED_OUT_HERE))
        return
    found = await recognition.rank(message.chat.id, user_id)
    await reply(message, gateway, rank_text(found, message.chat.title or "", locale))


_OPTED_OUT_HERE = (
    "You opted out of recording in this group, so you have no standing here. "
    "Send /optin in a private chat with me to join the boards again."
)


def rank_text(found: Rank, title: str, locale: str) -> str:
    """A member's own standing."""
    standing = found.all_time
    if standing is None:
        return _(
            locale,
            "You have no points in {group} yet. Points come from taking part: messages (at most "
            "one a minute counts), answering others' questions and reactions to what you post.",
            group=title,
        )
    c = standing.contribution
    lines = [
        _(locale, "🏅 Your standing in {group}", group=title),
        _(
            locale,
            "All time: #{rank} of {members} · {points} points",
            rank=standing.rank,
            members=number(locale, found.ranked),
            points=number(locale, standing.points),
        ),
    ]
    weekly = found.weekly
    if weekly is not None:
        lines.append(
            _(
                locale,
                "Last 7 days: #{rank} · {points} points",
                rank=weekly.rank,
                points=number(locale, weekly.points),
            )
        )
    else:
        lines.append(_(locale, "Last 7 days: no points yet"))
    lines.append(
        _(
            locale,
            "From {messages} messages, {answers} answers and {reactions} reactions.",
            messages=number(locale, c.messages),
            answers=number(locale, c.answers),
            reactions=number(locale, c.reactions),
        )
    )
    if found.badges:
        names = ", ".join(_(locale, BADGES[b]) for b in sorted(found.badges))
        lines.append(_(locale, "Badges: {badges}", badges=names))
    return "\n".join(lines)


BOARDS = {"": ("week", "all"), "week": ("week",), "all": ("all",)}
BOARD_FORM = "/leaderboard [week|all]"


async def leaderboard_command(
    message: Message, command: CommandObject, recognition: RecognitionService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    which = BOARDS.get((command.args or "").strip().lower())
    if which is None:
        await reply(
            message,
            gateway,
            render.usage(locale, "leaderboard", BOARD_FORM, "Choose week or all."),
        )
        return
    board = await recognition.leaderboard(message.chat.id)
    await reply(message, gateway, leaderboard_text(board, which, locale))


def leaderboard_text(board: Board, which: Sequence[str], locale: str) -> str:
    parts = []
    for name in which:
        standings = board.weekly if name == "week" else board.all_time
        heading = _(locale, "🏆 Last 7 days") if name == "week" else _(locale, "🏆 All time")
        parts.append("\n".join([heading, *_board_lines(standings, board.names, locale)]))
    return "\n\n".join(parts)


def _board_lines(standings: Sequence[Standing], names: dict[int, str], locale: str) -> list[str]:
    if not standings:
        return [_(locale, "No points yet.")]
    return [
        _(
            locale,
            "{rank}. {name} — {points}",
            rank=s.rank,
            name=names.get(s.user_id) or _(locale, "a member"),
            points=number(locale, s.points),
        )
        for s in standings
    ]


# --- /invite and /invites --------------------------------------------------------------------


async def invite_command(
    message: Message, command: CommandObject, recognition: RecognitionService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    wrong = _no_arguments(locale, command) or _anonymous(message, locale)
    if wrong is not None or message.from_user is None:
        await reply(message, gateway, wrong or "")
        return
    user = message.from_user
    outcome = await recognition.invite_link(message.chat.id, user.id, user.full_name)
    if outcome.refusal is not None:
        await reply(message, gateway, _(locale, REFUSALS[outcome.refusal]))
        return
    await reply(
        message,
        gateway,
        _(
            locale,
            "🔗 Your personal invite link to {group}:\n{link}\nEveryone who joins through it, "
            "stays 7 days and posts counts for you. /invites shows how it is going.",
            group=message.chat.title or "",
            link=outcome.link,
        ),
    )


async def invites_command(
    message: Message,
    command: CommandObject,
    recognition: RecognitionService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    wrong = _no_arguments(locale, command)
    if wrong is not None or message.from_user is None:
        await reply(message, gateway, wrong or "")
        return
    chat_id = message.chat.id
    anonymous = _anonymous(message, locale)
    parts = []
    if anonymous is None and recognition.is_opted_out(chat_id, message.from_user.id):
        parts.append(_(locale, _OPTED_OUT_HERE))
    elif anonymous is None:
        summary = await recognition.invites(chat_id, message.from_user.id)
        parts.append(invites_text(summary, locale))
    if await sent_by_admin(message, admins):
        parts.append(top_inviters_text(await recognition.top_inviters(chat_id), locale))
    await reply(message, gateway, "\n\n".join(parts) or anonymous or "")


def invites_text(summary: InviteSummary, locale: str) -> str:
    if summary.link is None:
        return _(locale, "You have no personal invite link here yet: /invite makes one.")
    return "\n".join(
        [
            _(locale, "📨 Your invite link: {link}", link=summary.link),
            _(
                locale,
                "Joined: {joined} · counted: {credited} · waiting: {pending} · left: {left}",
                joined=number(locale, summary.joined),
                credited=number(locale, summary.credited),
                pending=number(locale, summary.pending),
                left=number(locale, summary.left),
            ),
            _(locale, "A join counts once the newcomer has stayed 7 days and posted."),
        ]
    )


def top_inviters_text(top: Sequence[tuple[str, int]], locale: str) -> str:
    if not top:
        return _(locale, "Top inviters: no invite has counted yet.")
    lines = [_(locale, "Top inviters (joins that counted):")]
    lines += [
        f"{i}. {name or _(locale, 'a member')} — {number(locale, n)}"
        for i, (name, n) in enumerate(top, start=1)
    ]
    return "\n".join(lines)


async def group_only(message: Message, command: CommandObject, gateway: ChatGateway) -> None:
    await reply(message, gateway, render.group_only(locale_of(message), command.command))


# --- /optout and /optin ----------------------------------------------------------------------


async def private_pointer(
    message: Message, command: CommandObject, gateway: ChatGateway, bot_username: str = ""
) -> None:
    """/optout and /optin in a group: point to the private chat, with a button that opens it.

    The button opens the chat without a start parameter: /start is /help's there, and the
    member's menu in the private chat lists /optout and /optin.
    """
    locale = locale_of(message)
    text = render.private_only(locale, command.command)
    if not bot_username:
        await reply(message, gateway, text)
        return
    url = f"https://t.me/{bot_username}"
    await point_to_private_chat(message, gateway, text, render.open_private_chat(locale), url)


async def choose_command(
    message: Message, command: CommandObject, recognition: RecognitionService, gateway: ChatGateway
) -> None:
    await _choose(message, command.command, recognition, gateway)


async def _choose(
    message: Message, verb: str, recognition: RecognitionService, gateway: ChatGateway
) -> None:
    """The groups to opt out of (or back into), one button each."""
    if message.from_user is None:
        return
    locale = locale_of(message)
    leaving = verb == "optout"
    groups = [c for c in await recognition.choices(message.from_user.id) if c.opted_out != leaving]
    if not groups:
        text = (
            _(locale, "I record your activity in no group, so there is nothing to opt out of.")
            if leaving
            else _(locale, "You have not opted out of any group.")
        )
        await reply(message, gateway, text)
        return
    await gateway.call(
        "sendMessage",
        {
            "chat_id": message.chat.id,
            "text": choice_text(leaving, locale),
            "reply_markup": {"inline_keyboard": _buttons(groups, leaving)},
        },
        priority=Priority.REPLY,
    )


def choice_text(leaving: bool, locale: str) -> str:
    if leaving:
        return _(
            locale,
            "Choose the group where I should stop recording your activity. You will still "
            "count in the group's totals, without your name; your points, badges and invite "
            "link there are deleted.",
        )
    return _(locale, "Choose the group where your activity should count for you again.")


def _buttons(groups: Sequence[GroupChoice], leaving: bool) -> list[list[dict[str, str]]]:
    prefix = OUT if leaving else IN
    return [[{"text": g.title[:60], "callback_data": f"{prefix}{g.chat_id}"}] for g in groups]


async def _is_recognition_button(query: CallbackQuery) -> bool:
    return _parse(query.data or "") is not None


def _parse(data: str) -> tuple[bool, int] | None:
    for prefix, leaving in ((OUT, True), (IN, False)):
        if data.startswith(prefix):
            try:
                return leaving, int(data[len(prefix) :])
            except ValueError:
                return None
    return None


async def button(
    query: CallbackQuery, recognition: RecognitionService, gateway: ChatGateway
) -> None:
    parsed = _parse(query.data or "")
    assert parsed is not None
    leaving, chat_id = parsed
    locale = pick_locale(query.from_user.language_code)
    message = query.message
    await gateway.call("answerCallbackQuery", {"callback_query_id": query.id})
    # Only the person asked, in their own private chat, decides for themselves.
    if message is None or message.chat.id != query.from_user.id:
        return
    user_id = query.from_user.id
    titles = {c.chat_id: c.title for c in await recognition.choices(user_id)}
    title = titles.get(chat_id, str(chat_id))
    if leaving:
        new = await recognition.opt_out(chat_id, user_id)
        text = (
            _(
                locale,
                "Done: I no longer record your activity in {group}, and what I held there no "
                "longer names you. /optin undoes it.",
                group=title,
            )
            if new
            else _(locale, "You had already opted out of {group}.", group=title)
        )
    else:
        await recognition.opt_in(chat_id, user_id)
        text = _(
            locale, "Done: from now on your activity in {group} counts for you again.", group=title
        )
    await gateway.call(
        "editMessageText",
        {"chat_id": message.chat.id, "message_id": message.message_id, "text": text},
        priority=Priority.REPLY,
    )


# --- /mydata -----------------------------------------------------------------------------------


def footprint_text(found: Sequence[RecognitionFootprint], locale: str) -> str:
    """What recognition keeps about a person, for /mydata."""
    lines = [_(locale, "🏅 Points, badges and invites:")]
    for f in found:
        parts = []
        if f.opted_out:
            parts.append(_(locale, "opted out"))
        if f.points_messages:
            parts.append(
                _(locale, "{n} messages earned points", n=number(locale, f.points_messages))
            )
        if f.badges:
            parts.append(", ".join(_(locale, BADGES[b]) for b in f.badges))
        if f.invite_link:
            parts.append(_(locale, "invite link {link}", link=f.invite_link))
        if f.invites_credited:
            parts.append(_(locale, "{n} invites counted", n=number(locale, f.invites_credited)))
        lines.append(f"• {f.title}: {'; '.join(parts)}")
    return "\n".join(lines)
