"""Content on the PDCA loop in the bot: operators plan in a private chat with the bot.

/content [group id]   choose the group (or, in a group, plan this one) and list its items
/idea <text>          record an idea           /draft [N]   the next message is N's body
/approve N · /reject N · /schedule N <when> · /schedule (what is coming)
/pause N · /resume N · /cancel N · /move N <when> · /preview N · /review N
/experiment slots N 08:00 20:00 · /experiment variants N · /experiment N
/operators add @user · /operators remove @user · /operators (list)

Item numbers are global, so a command on item N needs no chosen group: the caller's right is
checked against N's group (its admins, and the operators they named). The service does the
work (`bot/services/content.py`); this module reads words, checks, calls and renders.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.domain.content import WHEN_FORMS, ContentKind, ContentState, StepRefused, WhenError
from bot.domain.experiments import ExperimentKind
from bot.experiment_stats import compare
from bot.features import Feature, HealthLine, MenuEntry, Runtime, Tick
from bot.ports import ChatGateway, ContentBody, ContentItem, DurableSender
from bot.recurrence import next_run
from bot.services.admins import AdminsUnknown
from bot.services.content import (
    ContentError,
    ContentService,
    ExperimentReport,
    PromoBudget,
    Review,
    Scheduled,
    WeeklySummary,
)
from handlers import render
from handlers.filters import first_delivery, in_group, in_private
from handlers.i18n import gettext as _
from handlers.i18n import pick_locale
from handlers.replies import locale_of, reply

PUBLISH_TICK = timedelta(seconds=1)  # posts go out within 2 s of their time
MEASURE_TICK = timedelta(seconds=30)
_BUTTON_LINE = re.compile(r"^\[(.+?)\]\((https?://\S+)\)$")

FORMS = {
    "content": "/content · /content <group id>",
    "idea": "/idea <text>",
    "draft": "/draft · /draft N",
    "approve": "/approve N",
    "reject": "/reject N",
    "schedule": f"/schedule N <when>: {WHEN_FORMS}",
    "move": f"/move N <when>: {WHEN_FORMS}",
    "pause": "/pause N",
    "resume": "/resume N",
    "cancel": "/cancel N",
    "preview": "/preview N",
    "kind": "/kind N organic|announcement|promo",
    "review": "/review N",
    "experiment": "/experiment slots N 08:00 20:00 · /experiment variants N · /experiment N",
    "operators": "/operators add @user · /operators remove @user · /operators",
}
_STATE_NAMES = {
    ContentState.IDEA: "Ideas",
    ContentState.DRAFT: "Drafts",
    ContentState.APPROVED: "Approved",
    ContentState.SCHEDULED: "Scheduled",
    ContentState.PAUSED: "Paused",
    ContentState.DEFERRED: "Deferred (ad cap)",
    ContentState.PUBLISHED: "Published",
    ContentState.MEASURED: "Measured",
    ContentState.REVIEWED: "Reviewed",
    ContentState.MISSED: "Missed",
    ContentState.FAILED: "Failed",
    ContentState.REJECTED: "Rejected",
    ContentState.CANCELLED: "Cancelled",
}
_MEASURE_NAMES = {
    "replies": "replies",
    "reactions": "reactions",
    "responders": "members responding",
    "lift": "group activity vs. usual",
    "leaves": "leaves",
}


class Wording:
    """What the bot tells an item's owner, in their language."""

    def missed(self, item: ContentItem, planned: datetime, timezone: str, locale: str) -> str:
        return _(
            locale,
            "⚠️ Post #{item} “{title}” was due at {at} while I was down, past the grace "
            "period, so it was not published. /schedule {item} <when> to post it again.",
            item=item.id,
            title=item.title,
            at=when_text(planned, timezone),
        )

    def deferred(self, item: ContentItem, at: datetime, timezone: str, locale: str) -> str:
        return _(
            locale,
            "⏸ Promo #{item} “{title}” would take the group over its ad-share cap, so it is "
            "deferred to {at}, when it fits.",
            item=item.id,
            title=item.title,
            at=when_text(at, timezone),
        )

    def failed(self, item: ContentItem, reason: str, locale: str) -> str:
        return _(
            locale,
            "❌ Post #{item} “{title}” could not be published: Telegram refused it ({reason}).",
            item=item.id,
            title=item.title,
            reason=reason,
        )


def when_text(at: datetime, timezone: str) -> str:
    """An instant as the group's wall time, with its zone."""
    return f"{at.astimezone(ZoneInfo(timezone)):%a %Y-%m-%d %H:%M} ({timezone})"


def content_feature(runtime: Runtime) -> Feature:
    """The content service, its publishing and measuring ticks, and the operators' commands."""
    settings = runtime.settings
    service = ContentService(
        runtime.uow_factory,
        runtime.clock,
        runtime.admins,
        runtime.gateway,
        cast(DurableSender, runtime.gateway),  # delivery: the outbox path
        next_run=next_run,
        compare=compare,
        wording=Wording(),
        default_timezone=settings.default_timezone,
        budget=lambda: cast(PromoBudget | None, runtime.services.get("adshare")),
        ops_chat_id=settings.ops_chat_id,
    )

    async def digest_section(
        chat_id: int, since: datetime, until: datetime, language: str
    ) -> str | None:
        summary = await service.weekly_summary(chat_id, since, until)
        return weekly_text(summary, pick_locale(language)) if summary.posts else None

    runtime.digest_sections.append(digest_section)
    return Feature(
        name="content",
        routers=[router],
        services={"content": service},
        ticks=[
            Tick("content-publish", PUBLISH_TICK, service.run_due),
            Tick("content-measures", MEASURE_TICK, service.run_measures),
        ],
        health=[
            HealthLine("Posts published · missed · deferred", lambda: _published(service)),
            HealthLine("Post lag p99 (s)", lambda: round(_p99(service.metrics.lag), 2)),
        ],
        menu=[
            MenuEntry("all_private_chats", "content", "Plan a group's content: items by state"),
            MenuEntry("all_private_chats", "idea", "Record a content idea"),
            MenuEntry("all_private_chats", "draft", "Write a post (the next message is its body)"),
            MenuEntry("all_private_chats", "schedule", "Schedule a post, or see what is coming"),
            MenuEntry("all_private_chats", "review", "A post's measures against the usual"),
            MenuEntry("all_private_chats", "experiment", "Compare slots or texts"),
        ],
    )


def body_feature(runtime: Runtime) -> Feature:
    """The private message that is a post's body: listed before help, whose private-chat
    router answers every plain private message (it uses the "content" service)."""
    return Feature(name="content-body", chat_routers=[body_router])


def _published(service: ContentService) -> str:
    m = service.metrics
    return f"{m.published} · {m.missed} · {m.deferred}"


def _p99(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    content = Router(name="content")
    content.message.register(content_in_group, Command("content"), in_group)
    content.message.register(content_command, Command("content"), in_private)
    content.message.register(idea_command, Command("idea"), in_private)
    content.message.register(draft_command, Command("draft"), in_private)
    content.message.register(
        item_command, Command("approve", "reject", "pause", "resume", "cancel"), in_private
    )
    content.message.register(schedule_command, Command("schedule", "move"), in_private)
    content.message.register(kind_command, Command("kind"), in_private)
    content.message.register(preview_command, Command("preview"), in_private)
    content.message.register(review_command, Command("review"), in_private)
    content.message.register(experiment_command, Command("experiment"), in_private)
    content.message.register(operators_command, Command("operators"), in_private)
    content.message.register(operators_command, Command("operators"), in_group)
    return content


async def _awaiting_body(message: Message, content: ContentService) -> bool:
    if message.from_user is None or (message.text or "").startswith("/"):
        return False
    return (await content.focus(message.from_user.id)).awaiting is not None


def body_router() -> Router:
    """A private message after /draft (or /experiment variants): the item's body."""
    body = Router(name="content-body")
    body.message.register(body_message, in_private, _awaiting_body, first_delivery)
    return body


# --- handlers ------------------------------------------------------------------------------------


async def content_in_group(
    message: Message, content: ContentService, gateway: ChatGateway, bot_username: str = ""
) -> None:
    """In a group: its admins and operators plan it from now on in their private chat."""
    locale = locale_of(message)
    user = message.from_user
    if user is None or not await _may(message, content, gateway, message.chat.id):
        return
    await content.set_focus(user.id, message.chat.id)
    link = f" https://t.me/{bot_username}" if bot_username else ""
    await reply(
        message,
        gateway,
        _(
            locale,
            "Plan this group's content in a private chat with me: /content, /idea, /draft.{link}",
            link=link,
        ),
    )


async def content_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    assert message.from_user is not None
    user_id = message.from_user.id
    if command.args:
        chat_id = _int(command.args.strip())
        if chat_id is None:
            await _usage(message, gateway, "content", "Give the group's id, like -1001234567890.")
            return
        if not await _may(message, content, gateway, chat_id):
            return
        await content.set_focus(user_id, chat_id)
    else:
        chat_id = (await content.focus(user_id)).chat_id
    if chat_id is None:
        groups = await content.groups_for(user_id)
        if not groups:
            text = _(
                locale,
                "You plan no group yet. Send /content in a group where you are an admin, or "
                "ask its admins to name you: /operators add @you.",
            )
        else:
            lines = [f"/content {gid} — {title}" for gid, title in groups]
            text = _(locale, "Choose a group:") + "\n" + "\n".join(lines)
        await reply(message, gateway, text)
        return
    items = await content.items(chat_id)
    tz = await content.timezone_of(chat_id)
    title = await content.title_of(chat_id)
    await reply(message, gateway, listing_text(title, items, tz, locale))


async def idea_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    chat_id = await _focused(message, content, gateway)
    if chat_id is None:
        return
    if not (command.args or "").strip():
        await _usage(message, gateway, "idea", "Write the idea after the command.")
        return
    assert message.from_user is not None
    item = await content.idea(chat_id, command.args or "", message.from_user.id, _code(message))
    await reply(
        message,
        gateway,
        _(locale, "💡 Idea #{item} recorded. /draft {item} to write it.", item=item.id),
    )


async def draft_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    assert message.from_user is not None
    args = (command.args or "").strip()
    if args:
        item_id = _int(args.lstrip("#"))
        if item_id is None:
            await _usage(message, gateway, "draft", "“{value}” is not an item number.", value=args)
            return
        item = await _item_for(message, content, gateway, item_id)
        if item is None:
            return
        chat_id = item.chat_id
    else:
        focused = await _focused(message, content, gateway)
        if focused is None:
            return
        chat_id, item_id = focused, None
    try:
        item = await content.start_draft(message.from_user.id, chat_id, item_id, _code(message))
    except StepRefused as refused:
        await reply(message, gateway, _(locale, refused.refusal.reason))
        return
    await reply(
        message,
        gateway,
        _(
            locale,
            "✍️ Send the post for #{item} as your next message: text with formatting, a photo "
            "or a document with a caption. End it with lines like [Sign up](https://example.org) "
            "for buttons.",
            item=item.id,
        ),
    )


async def body_message(message: Message, content: ContentService, gateway: ChatGateway) -> None:
    locale = locale_of(message)
    assert message.from_user is not None
    item = await content.write_body(message.from_user.id, body_of(message))
    if item is None:
        return
    if item.variant is not None and item.experiment == ExperimentKind.VARIANTS.value:
        text = _(
            locale,
            "🧪 Variant B of #{item} saved: its posts now alternate between the two texts. "
            "/experiment {item} shows how they compare.",
            item=item.id,
        )
    else:
        text = _(
            locale,
            "📝 Draft #{item} saved. /preview {item} to see it, /approve {item} when it is ready.",
            item=item.id,
        )
    await reply(message, gateway, text)


async def item_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    name = command.command
    item_id = await _item_number(message, command, gateway)
    if item_id is None:
        return
    item = await _item_for(message, content, gateway, item_id)
    if item is None:
        return
    by = message.from_user.id if message.from_user else None
    act = {
        "approve": content.approve,
        "reject": content.reject,
        "pause": content.pause,
        "resume": content.resume,
        "cancel": content.cancel,
    }[name]
    try:
        done = await act(item_id, by)
    except StepRefused as refused:
        await reply(message, gateway, _(locale, refused.refusal.reason))
        return
    state = _(locale, _STATE_NAMES[done.state])
    text = _(locale, "#{item} “{title}”: {state}.", item=done.id, title=done.title, state=state)
    if done.state is ContentState.APPROVED:
        text += " " + _(locale, "/schedule {item} <when> to plan it.", item=done.id)
    await reply(message, gateway, text)


async def schedule_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    name = command.command
    assert message.from_user is not None
    words = (command.args or "").split(maxsplit=1)
    if not words and name == "schedule":
        await reply(message, gateway, await _coming(message.from_user.id, content, locale))
        return
    item_id = _int(words[0].lstrip("#")) if words else None
    if item_id is None or len(words) < 2:
        await _usage(message, gateway, name, "Give the item's number and when.")
        return
    item = await _item_for(message, content, gateway, item_id)
    if item is None:
        return
    try:
        if name == "move":
            done = await content.move(item_id, words[1], message.from_user.id)
        else:
            done = await content.schedule(item_id, words[1], message.from_user.id)
    except WhenError as error:
        await _usage(message, gateway, name, error.problem, **error.values)
        return
    except StepRefused as refused:
        await reply(message, gateway, _(locale, refused.refusal.reason))
        return
    await reply(message, gateway, scheduled_text(done, locale))


async def kind_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    words = (command.args or "").split()
    item_id = _int(words[0].lstrip("#")) if words else None
    kinds = {k.value: k for k in ContentKind}
    if item_id is None or len(words) != 2 or words[1].lower() not in kinds:
        await _usage(message, gateway, "kind", "Give the item's number and its kind.")
        return
    if await _item_for(message, content, gateway, item_id) is None:
        return
    by = message.from_user.id if message.from_user else None
    try:
        item = await content.set_kind(item_id, kinds[words[1].lower()], by)
    except ContentError as error:
        await reply(message, gateway, _(locale, error.problem, **error.values))
        return
    await reply(
        message, gateway, _(locale, "#{item} is now {kind}.", item=item.id, kind=item.kind.value)
    )


async def preview_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    item_id = await _item_number(message, command, gateway)
    if item_id is None:
        return
    item = await _item_for(message, content, gateway, item_id)
    if item is None:
        return
    try:
        method, params = content.preview(item, message.chat.id)
    except ContentError as error:
        await reply(message, gateway, _(locale_of(message), error.problem, **error.values))
        return
    await gateway.call(method, params, chat_id=message.chat.id)
    if item.variant is not None:
        method, params = content.preview(item, message.chat.id, variant=True)
        await gateway.call(method, params, chat_id=message.chat.id)


async def review_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    item_id = await _item_number(message, command, gateway)
    if item_id is None:
        return
    item = await _item_for(message, content, gateway, item_id)
    if item is None:
        return
    review = await content.review(item_id, message.from_user.id if message.from_user else None)
    await reply(message, gateway, review_text(review, locale_of(message)))


async def experiment_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    locale = locale_of(message)
    words = (command.args or "").split()
    kind = words[0].lower() if words else ""
    number = (
        words[1]
        if kind in ("slots", "variants") and len(words) > 1
        else (words[0] if words else "")
    )
    item_id = _int(number.lstrip("#"))
    if item_id is None:
        await _usage(message, gateway, "experiment", "Give the item's number.")
        return
    item = await _item_for(message, content, gateway, item_id)
    if item is None:
        return
    by = message.from_user.id if message.from_user else None
    try:
        if kind == "slots":
            started = await content.start_experiment(item_id, ExperimentKind.SLOTS, words[2:], by)
            text = _(
                locale,
                "🧪 #{item} now alternates between {a} and {b}. /experiment {item} reports "
                "which slot members respond to more, once there are enough posts.",
                item=item_id,
                a=started.slots[0],
                b=started.slots[1],
            )
        elif kind == "variants":
            await content.start_experiment(item_id, ExperimentKind.VARIANTS, (), by)
            text = _(
                locale,
                "🧪 Send the second text for #{item} as your next message; its posts will "
                "alternate between the two.",
                item=item_id,
            )
        else:
            text = experiment_text(await content.experiment(item_id), locale)
    except (ContentError, WhenError) as error:
        await _usage(message, gateway, "experiment", error.problem, **_values(error))
        return
    await reply(message, gateway, text)


async def operators_command(
    message: Message, command: CommandObject, content: ContentService, gateway: ChatGateway
) -> None:
    """Operators are named by a group's admins only (not by operators)."""
    locale = locale_of(message)
    assert message.from_user is not None
    if message.chat.type == "private":
        chat_id = (await content.focus(message.from_user.id)).chat_id
        if chat_id is None:
            await reply(message, gateway, _(locale, "Choose a group first: /content."))
            return
    else:
        chat_id = message.chat.id
    try:
        admin = await content.is_admin(chat_id, message.from_user.id)
    except AdminsUnknown:
        await reply(message, gateway, _(locale, "I cannot check the group's admins right now."))
        return
    words = (command.args or "").split()
    if not words or words[0].lower() == "list":
        names = await content.operators(chat_id)
        if not names:
            text = _(locale, "No operators yet; admins name them with /operators add @user.")
        else:
            text = _(locale, "Operators:") + "\n" + "\n".join(f"• {n}" for _id, n in names)
        await reply(message, gateway, text)
        return
    if not admin:
        await reply(message, gateway, render.admins_only(locale, "operators"))
        return
    if words[0].lower() not in ("add", "remove") or len(words) != 2 or not words[1].startswith("@"):
        await _usage(message, gateway, "operators", "Say add or remove, and the @username.")
        return
    if words[0].lower() == "add":
        found = await content.add_operator(chat_id, words[1])
        done = "✅ {name} can now plan this group's content."
    else:
        found = await content.remove_operator(chat_id, words[1])
        done = "{name} no longer plans this group's content."
    if found is None:
        text = _(
            locale,
            "I do not know {user} yet: they need to have written in the group.",
            user=words[1],
        )
    else:
        text = _(locale, done, name=found[1] or words[1])
    await reply(message, gateway, text)


# --- helpers ------------------------------------------------------------------------------------


def body_of(message: Message) -> ContentBody:
    """A post's body from an operator's message: text or caption with its formatting, a photo
    or document, and URL buttons from trailing `[label](url)` lines."""
    text = message.text if message.text is not None else (message.caption or "")
    raw_entities = message.entities if message.text is not None else message.caption_entities
    lines = text.split("\n")
    buttons: list[tuple[str, str]] = []
    while lines and (match := _BUTTON_LINE.match(lines[-1].strip())) is not None:
        buttons.insert(0, (match.group(1), match.group(2)))
        lines.pop()
    kept = "\n".join(lines).rstrip()
    limit = len(kept.encode("utf-16-le")) // 2
    entities = tuple(
        e.model_dump(exclude_none=True) for e in raw_entities or () if e.offset + e.length <= limit
    )
    media_kind = media_id = None
    if message.photo:
        media_kind, media_id = "photo", message.photo[-1].file_id
    elif message.document is not None:
        media_kind, media_id = "document", message.document.file_id
    return ContentBody(kept, entities, media_kind, media_id, tuple(buttons))


def listing_text(title: str, items: Sequence[ContentItem], tz: str, locale: str) -> str:
    if not items:
        return _(locale, "Nothing planned for {group} yet: /idea <text> or /draft.", group=title)
    lines = [_(locale, "Content for {group}:", group=title)]
    for state, name in _STATE_NAMES.items():
        mine = [i for i in items if i.state is state]
        if not mine:
            continue
        lines.append(f"\n{_(locale, name)} ({len(mine)})")
        for item in mine[-20:]:
            line = f"#{item.id} {item.title or '—'}"
            if item.due_at is not None:
                line += f" · {when_text(item.due_at, tz)}"
            if item.rule:
                line += f" · {item.rule}"
            if item.kind.value != "organic":
                line += f" · {item.kind.value}"
            lines.append(line)
    return "\n".join(lines)


def scheduled_text(done: Scheduled, locale: str) -> str:
    item = done.item
    text = _(
        locale,
        "🗓 #{item} “{title}” goes out {at}.",
        item=item.id,
        title=item.title,
        at=when_text(done.at, done.timezone),
    )
    if item.rule:
        text += " " + _(locale, "It repeats: {rule}.", rule=item.rule)
    if done.quiet_from is not None:
        text += " " + _(
            locale,
            "{asked} falls in the group's quiet hours, so it moves to their end.",
            asked=when_text(done.quiet_from, done.timezone),
        )
    return text


def review_text(review: Review, locale: str) -> str:
    item, post = review.item, review.post
    if post is None or post.published_at is None:
        return _(locale, "#{item} has not been published yet.", item=item.id)
    lines = [_(locale, "📊 #{item} “{title}”", item=item.id, title=item.title)]
    for label in ("1h", "6h", "24h"):
        figures = post.measures.get(label)
        if figures is None:
            lines.append(_(locale, "{h}: not measured yet", h=label))
            continue
        typical = review.typical.get(label, {})
        parts = []
        for name, words in _MEASURE_NAMES.items():
            value = _figure(figures.get(name))
            usual = typical.get(name)
            if usual is not None:
                parts.append(f"{_(locale, words)} {value} ({_(locale, 'usual')} {_figure(usual)})")
            else:
                parts.append(f"{_(locale, words)} {value}")
        lines.append(f"{label}: " + " · ".join(parts))
    if review.typical_posts:
        lines.append(
            _(locale, "Usual: the median of the group's {n} other posts.", n=review.typical_posts)
        )
    else:
        lines.append(_(locale, "No other measured posts to compare with yet."))
    return "\n".join(lines)


def experiment_text(report: ExperimentReport, locale: str) -> str:
    v = report.verdict
    a, b = report.labels
    lines = [
        _(
            locale,
            "🧪 #{item}: {a} vs {b} — replies and reactions within 24 h per post.",
            item=report.item.id,
            a=a,
            b=b,
        )
    ]
    c = v.comparison
    if c is not None:
        lines.append(
            _(
                locale,
                "{a}: {na} posts, mean {ma}. {b}: {nb} posts, mean {mb}.",
                a=a,
                b=b,
                na=c.counts[0],
                nb=c.counts[1],
                ma=f"{c.means[0]:.1f}",
                mb=f"{c.means[1]:.1f}",
            )
        )
        lines.append(
            _(
                locale,
                "Difference ({b} − {a}): {d}, 95% interval {low} to {high}; rank test p = {p}.",
                a=a,
                b=b,
                d=f"{c.difference:+.1f}",
                low=f"{c.low:+.1f}",
                high=f"{c.high:+.1f}",
                p=f"{c.p_value:.3f}",
            )
        )
    if v.recommended is not None:
        lines.append(
            _(locale, "✅ Recommendation: {arm}. The evidence supports it.", arm=v.recommended)
        )
    elif v.alike:
        lines.append(
            _(
                locale,
                "No recommendation: the two look alike; even {n} more posts each might not "
                "tell them apart.",
                n=v.more_posts,
            )
        )
    else:
        lines.append(
            _(
                locale,
                "No recommendation yet: about {n} more posts for each would be needed to tell.",
                n=v.more_posts,
            )
        )
    return "\n".join(lines)


def weekly_text(summary: WeeklySummary, locale: str) -> str:
    """The content section of the weekly digest: what went out, what worked, what to try."""
    published = [p for p in summary.posts if p.state not in ("missed", "failed", "sending")]
    lines = [_(locale, "📅 Content: {n} posts went out.", n=len(published))]
    missed = [p for p in summary.posts if p.state in ("missed", "failed")]
    if missed:
        lines.append(_(locale, "{n} did not (missed or refused).", n=len(missed)))
    if summary.best is not None:
        lines.append(
            _(
                locale,
                "Best: #{item} “{title}” ({n} replies and reactions).",
                item=summary.best.item_id,
                title=summary.best.title,
                n=summary.best.responses,
            )
        )
    for report in summary.experiments:
        lines.append(experiment_text(report, locale).split("\n")[-1])
    hints = {
        "try_slots": "Next: try /experiment slots on a recurring post.",
        "check_missed": "Next: check why posts were missed (was the bot down?).",
    }
    lines.extend(_(locale, hints[s]) for s in summary.suggestions if s in hints)
    return "\n".join(lines)


async def _coming(user_id: int, content: ContentService, locale: str) -> str:
    focus = (await content.focus(user_id)).chat_id
    chat_ids = [focus] if focus is not None else [c for c, _t in await content.groups_for(user_id)]
    items = await content.upcoming(chat_ids)
    if not items:
        return _(locale, "Nothing is scheduled.")
    lines = [_(locale, "Coming up:")]
    for item in items:
        assert item.due_at is not None
        tz = await content.timezone_of(item.chat_id)
        lines.append(
            f"#{item.id} {item.title} · {when_text(item.due_at, tz)}"
            + (f" · {item.rule}" if item.rule else "")
        )
    return "\n".join(lines)


async def _may(
    message: Message, content: ContentService, gateway: ChatGateway, chat_id: int
) -> bool:
    locale = locale_of(message)
    assert message.from_user is not None
    try:
        allowed = await content.may_plan(chat_id, message.from_user.id)
    except AdminsUnknown:
        await reply(message, gateway, _(locale, "I cannot check the group's admins right now."))
        return False
    if not allowed:
        await reply(
            message,
            gateway,
            _(locale, "Only the group's admins and the operators they name can plan its content."),
        )
    return allowed


async def _focused(message: Message, content: ContentService, gateway: ChatGateway) -> int | None:
    assert message.from_user is not None
    chat_id = (await content.focus(message.from_user.id)).chat_id
    if chat_id is None:
        groups = await content.groups_for(message.from_user.id)
        if len(groups) == 1:
            chat_id = groups[0][0]
            await content.set_focus(message.from_user.id, chat_id)
        else:
            await reply(message, gateway, _(locale_of(message), "Choose a group first: /content."))
            return None
    return chat_id if await _may(message, content, gateway, chat_id) else None


async def _item_number(
    message: Message, command: CommandObject, gateway: ChatGateway
) -> int | None:
    args = (command.args or "").strip()
    item_id = _int(args.lstrip("#")) if args else None
    if item_id is None:
        await _usage(message, gateway, command.command, "Give the item's number.")
    return item_id


async def _item_for(
    message: Message, content: ContentService, gateway: ChatGateway, item_id: int
) -> ContentItem | None:
    try:
        item = await content.get(item_id)
    except ContentError as error:
        await reply(message, gateway, _(locale_of(message), error.problem, **error.values))
        return None
    return item if await _may(message, content, gateway, item.chat_id) else None


async def _usage(
    message: Message, gateway: ChatGateway, command: str, problem: str, **values: object
) -> None:
    text = render.usage(locale_of(message), command, FORMS[command], problem, **values)
    await reply(message, gateway, text)


def _values(error: ContentError | WhenError) -> dict[str, Any]:
    return dict(error.values)


def _int(text: str) -> int | None:
    body = text[1:] if text.startswith("-") else text
    if body.isascii() and body.isdecimal() and len(body) <= 20:
        return int(text)
    return None


def _figure(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def _code(message: Message) -> str:
    return locale_of(message)
