"""The ad-share cap in the bot: the promo watcher's feature, /adcap, /promo and /notpromo.

The promo model is trained at start-up from the shipped corpus and the moderators' /promo and
/notpromo marks (the next retrain is the next start), which takes seconds (the scikit-learn
import alone is most of a second). The feature trains it in a thread and judges by the rules
alone until it is ready, so neither the bot's start nor any test that builds the app waits for
it (`PromoModelLoader`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.detectors.promo import PromoDetector
from bot.detectors.promo_model import LabelledText, shipped_model, train
from bot.domain.adcap_args import (
    USAGE,
    AdCapInputError,
    Exempt,
    SetCap,
    SetPolicy,
    SetWindow,
    ShowAdCap,
    parse_adcap,
)
from bot.domain.adshare import PromoRuling, ShareLevel
from bot.domain.durations import format_duration
from bot.domain.promo import PromoInput, PromoVerdict, RepeatedTexts
from bot.domain.rights import Gap
from bot.features import Feature, GroupHealthLine, HealthLine, MenuEntry, Runtime, Tick
from bot.ports import AdCapPolicyName, ChatGateway, Priority, RemovedPromo
from bot.services.admins import AdminDirectory
from bot.services.adshare import COUNT, REMOVE, AdCapReport, AdShareService, MarkOutcome
from handlers import render
from handlers.filters import in_group
from handlers.i18n import day, ngettext, number, pick_locale
from handlers.i18n import gettext as _
from handlers.replies import locale_of, reply, sent_by_admin

SUMMARY_EVERY = timedelta(minutes=10)  # the ops chat hears of removals at most this often


class PromoModelLoader:
    """The promo detector: rules alone until the model, trained in a thread, is ready."""

    def __init__(self) -> None:
        self._repeats = RepeatedTexts()
        self._detector = PromoDetector(None, self._repeats)
        self.ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, marks: Sequence[tuple[str, bool]] = ()) -> None:
        """Train the model off the event loop: the shipped corpus (cached for the process) and,
        when moderators marked messages with /promo and /notpromo, those marks too."""
        if self._thread is None:
            examples = [LabelledText(text, is_promo) for text, is_promo in marks]
            self._thread = threading.Thread(
                target=self._load, args=(examples,), name="promo-model", daemon=True
            )
            self._thread.start()

    def _load(self, marks: list[LabelledText]) -> None:
        model = train(marks) if marks else shipped_model()
        # One assignment: the watcher reads either detector whole.
        self._detector = PromoDetector(model, self._repeats)
        self.ready.set()

    def judge(self, message: PromoInput) -> PromoVerdict:
        return self._detector.judge(message)


def adcap_feature(runtime: Runtime) -> Feature:
    """The promo watcher, its actions, /adcap, /promo, /notpromo, the ops summary, /health."""
    loader = PromoModelLoader()
    service = AdShareService(
        runtime.uow_factory,
        runtime.clock,
        runtime.recorder,
        runtime.admins,
        runtime.gateway,
        judge=loader.judge,
        notice=notice,
    )
    ops_chat_id = runtime.settings.ops_chat_id

    async def start() -> None:
        loader.start(await service.feedback())
        await service.erase_expired()

    async def share_here(chat_id: int, locale: str) -> str:
        """/health in a group: its ad share, over its window and 24 hours, against its cap."""
        return report_text(await service.report(chat_id), locale).split("\n")[0]

    async def every_ten_minutes() -> None:
        await service.erase_expired()
        if ops_chat_id is not None:
            await send_summaries(service, runtime.gateway, ops_chat_id)

    return Feature(
        name="adcap",
        routers=[router],
        watchers=[service],
        actions={COUNT: service.apply_count, REMOVE: service.apply_remove},
        writes={COUNT: service.write_counts},
        services={"adshare": service},
        ticks=[Tick("adcap-summary", SUMMARY_EVERY, every_ten_minutes)],
        on_start=[start],
        # Removing promos is its default policy; muting (a group's choice) is refused and the
        # ops chat told when the right is missing, so groups are not asked for it up front.
        rights=[Gap.CANNOT_DELETE],
        group_health=[GroupHealthLine("ad-share", share_here)],
        health=[
            HealthLine("Promos judged · found · removed", lambda: _judged(service)),
            HealthLine(
                "Highest ad share (7 days)", lambda: _percent("en", service.highest_share())
            ),
        ],
        menu=[
            MenuEntry("all_group_chats", "adcap", "Ad share, cap and budget (admins)"),
            MenuEntry("all_group_chats", "promo", "Reply: mark a message as a promo (admins)"),
            MenuEntry("all_group_chats", "notpromo", "Reply: not a promo; restores it (admins)"),
        ],
    )


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands through)."""
    adcap = Router(name="adcap")
    adcap.message.register(adcap_command, Command("adcap"), in_group)
    adcap.message.register(mark_command, Command("promo", "notpromo"), in_group)
    adcap.message.register(outside_group, Command("adcap", "promo", "notpromo"))
    return adcap


async def adcap_command(
    message: Message,
    command: CommandObject,
    adshare: AdShareService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    await reply(message, gateway, await _adcap_answer(message, command, adshare, admins, locale))


async def _adcap_answer(
    message: Message,
    command: CommandObject,
    adshare: AdShareService,
    admins: AdminDirectory,
    locale: str,
) -> str:
    if not await sent_by_admin(message, admins):
        return render.admins_only(locale, "adcap")
    try:
        change = parse_adcap(command.args)
    except AdCapInputError as error:
        return render.usage(locale, "adcap", USAGE, error.problem, **error.values)
    chat_id = message.chat.id
    if isinstance(change, SetCap):
        await adshare.configure(chat_id, cap=change.cap)
    elif isinstance(change, SetWindow):
        await adshare.configure(chat_id, window=change.window)
    elif isinstance(change, SetPolicy):
        await adshare.configure(chat_id, policy=AdCapPolicyName(change.policy), mute=change.mute)
    elif isinstance(change, Exempt):
        if await adshare.exempt(chat_id, change.username, change.exempt) is None:
            return _(
                locale,
                "I have not seen @{username} in this group: they need to have written here.",
                username=change.username,
            )
    else:
        assert isinstance(change, ShowAdCap)
    return report_text(await adshare.report(chat_id), locale)


async def mark_command(
    message: Message,
    command: CommandObject,
    adshare: AdShareService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    name = command.command.lower()
    target = message.reply_to_message
    if not await sent_by_admin(message, admins):
        await reply(message, gateway, render.admins_only(locale, name))
        return
    if target is None:
        problem = "Reply with /{command} to the message (or to my note about a removed one)."
        await reply(message, gateway, render.usage(locale, name, f"/{name}", problem))
        return
    mark = await adshare.mark(
        message.chat.id,
        target.message_id,
        is_promo=name == "promo",
        text=target.text or target.caption or "",
        marked_by=message.from_user.id if message.from_user else None,
    )
    if mark.outcome == MarkOutcome.RESTORED and mark.restored is not None:
        restored = _(
            locale,
            "♻️ Restored (not a promotion). {author} wrote:",
            author=mark.restored.author or _(locale, "a member"),
        )
        await gateway.send_message(
            message.chat.id, f"{restored}\n{mark.restored.text}", priority=Priority.REPLY
        )
        return
    if mark.outcome == MarkOutcome.NOT_RECORDED:
        text = _(locale, "I have no record of that message, so there is nothing to mark.")
    elif name == "promo":
        text = _(locale, "Marked as a promotion: it counts, and the next training learns from it.")
    else:
        text = _(locale, "Marked as not a promotion: the next training learns from it.")
    await reply(message, gateway, text)


async def outside_group(message: Message, command: CommandObject, gateway: ChatGateway) -> None:
    await gateway.send_message(
        message.chat.id, render.group_only(locale_of(message), command.command)
    )


async def send_summaries(service: AdShareService, gateway: ChatGateway, ops_chat_id: int) -> None:
    """One compact message to the ops chat: a line per group with promos acted on since the
    last summary (not one alert per removal)."""
    summaries = service.take_summaries()
    if not summaries:
        return
    locale = "en"
    lines = [_(locale, "📣 Promotions since the last summary:")]
    for chat_id, rulings in sorted(summaries.items()):
        report = await service.report(chat_id)
        lines.append(summary_line(rulings, report, locale))
    await gateway.send_message(ops_chat_id, "\n".join(lines), priority=Priority.REPLY)


# --- rendering --------------------------------------------------------------------------------


def notice(ruling: PromoRuling, policy: AdCapPolicyName, language_code: str | None) -> str:
    """The short reply to a member's promo that is removed or warned, naming the reason."""
    locale = pick_locale(language_code)
    if ruling is PromoRuling.NO_STANDING:
        return _(locale, "🚫 Removed: new members cannot post promotions here yet.")
    if policy is AdCapPolicyName.WARN:
        return _(locale, "⚠️ Please hold promotions for now: this group has had its share of them.")
    if policy is AdCapPolicyName.MUTE:
        return _(
            locale, "🚫 Removed, and muted for a while: this group has had its share of promotions."
        )
    return _(locale, "🚫 Removed: this group has had its share of promotions for now.")


def _percent(locale: str, share: float) -> str:
    return f"{number(locale, round(100 * share, 1))}%"


def _judged(service: AdShareService) -> str:
    m = service.metrics
    return f"{m.judged} · {m.promos} · {m.removed}"


_LEVELS = {ShareLevel.OK: "🟢", ShareLevel.WARNING: "🟡", ShareLevel.AT_CAP: "🔴"}
_POLICY_NAMES = {
    AdCapPolicyName.DELETE: "delete, with a short reply",
    AdCapPolicyName.WARN: "warn",
    AdCapPolicyName.MUTE: "delete and mute for {mute}",
    AdCapPolicyName.REPORT: "report to the ops chat",
}
_RULING_NAMES = {
    PromoRuling.NO_STANDING.value: "from new members",
    PromoRuling.OVER_BUDGET.value: "over the budget",
    "reported": "reported",
}


def report_text(report: AdCapReport, locale: str) -> str:
    settings, budget = report.settings, report.budget
    share = budget.share
    window = format_duration(int(settings.window.total_seconds()))
    lines = [
        _(
            locale,
            "{level} Ad share: {share} over {window} ({promos} of {messages} messages), "
            "{day_share} over 24h · cap {cap}",
            level=_LEVELS[budget.level],
            share=_percent(locale, share.share),
            window=window,
            promos=number(locale, share.promos),
            messages=number(locale, share.messages),
            day_share=_percent(locale, report.last_day.share),
            cap=_percent(locale, settings.cap),
        )
    ]
    if budget.promos_that_fit > 0:
        lines.append(
            ngettext(
                locale,
                "Budget: {n} more promotion fits now.",
                "Budget: {n} more promotions fit now.",
                budget.promos_that_fit,
            )
        )
    else:
        lines.append(
            _(
                locale,
                "Budget: none now; the next promotion fits on {day} at {time} UTC "
                "if no one else writes (more chat brings it sooner).",
                day=day(locale, budget.next_fit),
                time=budget.next_fit.strftime("%H:%M"),
            )
        )
    lines.append(
        _(
            locale,
            "Over the budget: {policy}",
            policy=_(
                locale,
                _POLICY_NAMES[settings.policy],
                mute=format_duration(int(settings.mute.total_seconds())),
            ),
        )
    )
    if report.top_sources:
        sources = ", ".join(f"{name} ({number(locale, n)})" for name, n in report.top_sources)
        lines.append(_(locale, "Top promotion sources: {sources}", sources=sources))
    if report.exempt:
        lines.append(_(locale, "Exempt partners: {names}", names=", ".join(report.exempt)))
    lines.append(_(locale, "Change with: {form}", form=USAGE))
    return "\n".join(lines)


def summary_line(rulings: Counter[str], report: AdCapReport, locale: str) -> str:
    acted = ", ".join(
        f"{_(locale, _RULING_NAMES[name])} {number(locale, n)}"
        for name, n in sorted(rulings.items())
        if name in _RULING_NAMES
    )
    return _(
        locale,
        "• {title}: {acted} · ad share {share} of {cap}",
        title=report.title,
        acted=acted,
        share=_percent(locale, report.budget.share.share),
        cap=_percent(locale, report.settings.cap),
    )


def removed_promos_text(promos: list[RemovedPromo], locale: str) -> str:
    """For /mydata: the person's removed promos, kept 48 hours from removal, with their text."""
    lines = [_(locale, "🗑 Promotions of yours I removed, kept 48 hours so they can be restored:")]
    for promo in promos:
        lines.append(
            _(
                locale,
                "• {day} {time} UTC, {reason}: {text}",
                day=day(locale, promo.removed_at),
                time=promo.removed_at.strftime("%H:%M"),
                reason=_(locale, _RULING_NAMES.get(promo.reason, promo.reason)),
                text=promo.text,
            )
        )
    return "\n".join(lines)
