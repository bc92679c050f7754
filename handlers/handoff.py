"""The question hand-off in the bot: its watcher, deadline tick, buttons, /faq, /handoff,
/oncall and /sla, and the texts the hand-off messages carry.

Ordinary chat reaches the feature through its watcher (`HandoffService.watch`), never through a
router here: routers are for commands and the hand-off buttons only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.detectors.faq import FaqEntry, FaqMatcher
from bot.domain.durations import DurationInputError, format_duration, parse_duration
from bot.domain.handoff import (
    SHIFT_USAGE,
    HandoffState,
    Refusal,
    ShiftInputError,
    next_on_call,
    on_call,
    parse_shift,
)
from bot.features import Feature, GroupHealthLine, HealthLine, MenuEntry, Runtime, Tick
from bot.ports import (
    ChatGateway,
    FaqRecord,
    HandoffSettings,
    Priority,
    QuestionRecord,
    ShiftRecord,
)
from bot.services.admins import AdminDirectory
from bot.services.handoff import (
    ANSWER,
    ANSWERED,
    CLAIM,
    CREDIT,
    FOLLOW_UP,
    HELPFUL,
    NOT_A_QUESTION,
    NOT_WHAT_I_ASKED,
    NOTIFY,
    OPEN,
    SEND_ESCALATION,
    SEND_HANDOFF,
    SHOW,
    Defaults,
    HandoffService,
    Measures,
    QuestionView,
    parse_callback,
)
from handlers import render
from handlers.filters import in_group
from handlers.i18n import day, number, pick_locale
from handlers.i18n import gettext as _
from handlers.replies import locale_of, reply, sent_by_admin

DEADLINE_TICK = timedelta(seconds=1)  # hand-offs go out within 5 s of their deadline
UPKEEP = timedelta(minutes=10)  # texts 48 hours past closing erased; /health's measures
FAQ_USAGE = "/faq add question | answer · /faq list · /faq remove N"
HANDOFF_USAGE = "/handoff after 10m · sla 30m · ops <chat id> · link <group id> · hours on|off"
ONCALL_USAGE = f"/oncall add @mod {SHIFT_USAGE} · /oncall remove @mod"
SLA_PERIODS = {"": 7, "7d": 7, "30d": 30}

_BUTTONS = {
    CLAIM: "Claim",
    ANSWERED: "Answered",
    NOT_A_QUESTION: "Not a question",
    HELPFUL: "Helpful 👍",
    NOT_WHAT_I_ASKED: "Not what I asked",
}
_STATES = {
    HandoffState.OPEN: "open",
    HandoffState.HANDED_OFF: "waiting for a moderator",
    HandoffState.CLAIMED: "claimed",
    HandoffState.ESCALATED: "past the SLA",
    HandoffState.ANSWERED: "answered",
    HandoffState.NOT_A_QUESTION: "not a question",
}
REFUSALS = {
    Refusal.NOT_A_MODERATOR: "Only the group's moderators can do that.",
    Refusal.NOT_THE_ASKER: "Only the member who asked can reopen the question.",
    Refusal.ALREADY_CLAIMED: "Another moderator has already claimed this question.",
    Refusal.ALREADY_CLOSED: "This question is already closed.",
    Refusal.NOT_ANSWERED_BY_FAQ: "This question was not answered by the FAQ.",
}


class _FaqIndex:
    """A group's FAQ as the service matches it: the entries' position or None."""

    def __init__(self, entries: Sequence[FaqRecord]) -> None:
        self._matcher = FaqMatcher([FaqEntry(e.question, e.answer) for e in entries])

    def match(self, question: str) -> int | None:
        found = self._matcher.match(question)
        return found.index if found is not None else None


class Wording:
    """The hand-off's texts, translated (the `HandoffWording` the service asks for)."""

    def handoff(self, view: QuestionView, locale: str) -> str:
        record = view.record
        lines = [
            _(
                locale,
                "❓ Unanswered question in {group} from {asker}:",
                group=view.group_title,
                asker=record.asker_name or _(locale, "a member"),
            ),
            record.text or _(locale, "(text erased)"),
        ]
        if view.link:
            lines.append(view.link)
        lines.append(_(locale, "State: {state}", state=_(locale, _STATES[record.handoff.state])))
        return "\n".join(lines)

    def escalation(self, view: QuestionView, locale: str) -> str:
        sla = view.record.handoff.deadlines.sla_at - view.record.handoff.asked_at
        return "\n".join(
            (
                _(
                    locale,
                    "🚨 SLA breached: no human answer within {sla}.",
                    sla=format_duration(int(sla.total_seconds())),
                ),
                self.handoff(view, locale),
            )
        )

    def faq_answer(self, answer: str, locale: str) -> str:
        return _(locale, "💡 From this group's FAQ:\n{answer}", answer=answer)

    def outside_hours(self, until: datetime, timezone: str, locale: str) -> str:
        local = until.astimezone(ZoneInfo(timezone))
        return _(
            locale,
            "Thanks for your question. Our moderators are away now; one will answer by "
            "{time} ({zone}).",
            time=local.strftime("%a %H:%M"),
            zone=timezone,
        )

    def buttons(self, verbs: Sequence[str], locale: str) -> list[str]:
        return [_(locale, _BUTTONS[verb]) for verb in verbs]


def handoff_feature(runtime: Runtime) -> Feature:
    """The question watcher, its actions, the deadline tick, the commands and buttons."""
    settings = runtime.settings
    service = HandoffService(
        runtime.uow_factory,
        runtime.clock,
        runtime.admins,
        runtime.gateway,
        defaults=Defaults(
            handoff_after=settings.handoff_after_seconds,
            sla=settings.handoff_sla_seconds,
            ops_chat_id=settings.ops_chat_id,
            timezone=settings.default_timezone,
        ),
        faq_index=_FaqIndex,
        wording=Wording(),
    )
    return Feature(
        name="handoff",
        routers=[router],
        watchers=[service],
        actions={
            OPEN: service.apply_open,
            ANSWER: service.apply_answer,
            FOLLOW_UP: service.apply_follow_up,
            NOTIFY: service.apply_notify,
            CREDIT: service.apply_credit,
            SHOW: service.apply_show,
            SEND_HANDOFF: service.apply_send,
            SEND_ESCALATION: service.apply_send,
        },
        # In this order: a question is stored before follow-ups join it and answers close it.
        writes={
            OPEN: service.write_open,
            FOLLOW_UP: service.write_follow_ups,
            ANSWER: service.write_answers,
        },
        services={"handoff": service},
        on_start=[service.refresh_measures],
        ticks=[
            Tick("handoff-deadlines", DEADLINE_TICK, service.run_due),
            Tick("handoff-upkeep", UPKEEP, lambda: _upkeep(service)),
        ],
        health=[
            HealthLine("Questions · FAQ answers", lambda: _questions(service)),
            HealthLine("Hand-offs · SLA breaches", lambda: _handoffs(service)),
            HealthLine("Hand-off lag p99 (s)", lambda: round(service.lag_p99(), 2)),
            HealthLine("Questions (7 days) · breaches", lambda: _last_week(service)),
            HealthLine("First answer (7 days): median · p90", lambda: _waits(service)),
        ],
        group_health=[GroupHealthLine("questions", partial(_group_questions, service))],
        menu=[
            MenuEntry("all_group_chats", "faq", "The group's FAQ: list, add, remove"),
            MenuEntry("all_group_chats", "handoff", "When questions go to moderators (admins)"),
            MenuEntry("all_group_chats", "oncall", "Who is on call, and office hours"),
            MenuEntry("all_group_chats", "sla", "Questions answered and how fast"),
        ],
    )


def router() -> Router:
    """A fresh router, for `handlers.commands` (which lets only commands and buttons through)."""
    handoff = Router(name="handoff")
    handoff.message.register(partial(answer_command, _faq_answer), Command("faq"), in_group)
    handoff.message.register(partial(answer_command, _oncall_answer), Command("oncall"), in_group)
    handoff.message.register(partial(answer_command, _handoff_answer), Command("handoff"), in_group)
    handoff.message.register(sla_command, Command("sla"), in_group)
    handoff.message.register(outside_group, Command("faq", "sla", "oncall", "handoff"))
    handoff.callback_query.register(button, _is_handoff_button)
    return handoff


async def _is_handoff_button(query: CallbackQuery) -> bool:
    return parse_callback(query.data or "") is not None


Answer = Callable[[Message, CommandObject, HandoffService, AdminDirectory, str], Awaitable[str]]


async def answer_command(
    answer: Answer,
    message: Message,
    command: CommandObject,
    handoff: HandoffService,
    admins: AdminDirectory,
    gateway: ChatGateway,
) -> None:
    """/faq, /handoff and /oncall: work out the answer, reply with it."""
    locale = locale_of(message)
    await reply(message, gateway, await answer(message, command, handoff, admins, locale))


# --- buttons --------------------------------------------------------------------------------


async def button(query: CallbackQuery, handoff: HandoffService, gateway: ChatGateway) -> None:
    parsed = parse_callback(query.data or "")
    assert parsed is not None
    verb, chat_id, message_id = parsed
    locale = pick_locale(query.from_user.language_code)
    pressed = await handoff.press(chat_id, message_id, verb, query.from_user.id)
    answer: dict[str, object] = {"callback_query_id": query.id}
    if pressed.refusal is not None:
        answer.update(text=_(locale, REFUSALS[pressed.refusal]), show_alert=True)
    elif verb == HELPFUL:
        answer["text"] = _(locale, "Thanks for telling us.")
    elif verb == NOT_WHAT_I_ASKED:
        answer["text"] = _(locale, "Sorry. A moderator will answer your question.")
    elif pressed.state is not None:
        answer["text"] = _(locale, "Done: {state}.", state=_(locale, _STATES[pressed.state]))
    await gateway.call("answerCallbackQuery", answer, priority=Priority.REPLY)


# --- /faq -----------------------------------------------------------------------------------


async def _faq_answer(
    message: Message,
    command: CommandObject,
    handoff: HandoffService,
    admins: AdminDirectory,
    locale: str,
) -> str:
    verb, _sep, rest = (command.args or "").strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    chat_id = message.chat.id
    if verb in ("", "list"):
        return faq_list(await handoff.faq(chat_id), locale)
    if verb not in ("add", "remove"):
        return render.usage(
            locale, "faq", FAQ_USAGE, "Unknown /{command} action “{verb}”.", verb=verb
        )
    if not await sent_by_admin(message, admins):
        return render.admins_only(locale, "faq")
    if verb == "remove":
        if not (rest.isascii() and rest.isdigit() and len(rest) < 6):
            return render.usage(locale, "faq", FAQ_USAGE, "Give the entry's number from /faq list.")
        if not await handoff.remove_faq(chat_id, int(rest)):
            return _(locale, "There is no entry {n} in the FAQ.", n=rest)
        return _(locale, "Removed entry {n} from the FAQ.", n=rest)
    question, bar, answer = rest.partition("|")
    target = message.reply_to_message
    if not bar and target is not None:
        answer = target.text or target.caption or ""
    if not question.strip() or not answer.strip():
        return render.usage(
            locale,
            "faq",
            FAQ_USAGE,
            "Write the question and the answer, or reply to the answer with /faq add question.",
        )
    by = message.from_user.id if message.from_user else None
    await handoff.add_faq(chat_id, question.strip(), answer.strip(), by)
    return _(locale, "Added to the FAQ: questions like this are answered at once.")


def faq_list(entries: list[FaqRecord], locale: str) -> str:
    if not entries:
        return _(locale, "The FAQ is empty. Moderators add entries with {form}.", form=FAQ_USAGE)
    lines = [_(locale, "📚 FAQ:")]
    for position, entry in enumerate(entries, 1):
        lines.append(f"{position}. {entry.question} → {entry.answer}")
    return "\n".join(lines)


# --- /handoff -------------------------------------------------------------------------------


async def _handoff_answer(
    message: Message,
    command: CommandObject,
    handoff: HandoffService,
    admins: AdminDirectory,
    locale: str,
) -> str:
    if not await sent_by_admin(message, admins):
        return render.admins_only(locale, "handoff")
    verb, _sep, rest = (command.args or "").strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    chat_id = message.chat.id
    try:
        if verb in ("after", "sla"):
            seconds = parse_duration(rest)
            key = "handoff_after" if verb == "after" else "sla"
            await handoff.configure(chat_id, **{key: seconds})
        elif verb == "ops":
            await handoff.configure(chat_id, ops_chat_id=_chat_id(rest))
        elif verb == "hours":
            if rest.lower() not in ("on", "off"):
                raise ValueError
            await handoff.configure(chat_id, sla_follows_hours=rest.lower() == "on")
        elif verb == "link":
            group_id = _chat_id(rest)
            user_id = message.from_user.id if message.from_user else None
            if not await admins.is_admin(group_id, user_id, None):
                return _(locale, "Only an admin of that group can link it to this chat.")
            await handoff.configure(group_id, ops_chat_id=chat_id)
            return _(locale, "Hand-offs from group {group} now come to this chat.", group=group_id)
        elif verb:
            raise ValueError
    except DurationInputError as error:
        return render.usage(locale, "handoff", HANDOFF_USAGE, error.problem, **error.values)
    except ValueError:
        return render.usage(locale, "handoff", HANDOFF_USAGE, "That is not a /{command} setting.")
    return handoff_settings_text(handoff, await handoff.settings(chat_id), locale)


def _chat_id(text: str) -> int:
    """A chat id as typed ("-1001234567890"); ValueError otherwise."""
    digits = text.removeprefix("-")
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 16):
        raise ValueError(text)
    return int(text)


def handoff_settings_text(handoff: HandoffService, settings: HandoffSettings, locale: str) -> str:
    after, sla, ops = handoff.effective(settings)
    return "\n".join(
        (
            _(
                locale,
                "Unanswered questions go to the moderators after {after}; the SLA is {sla}.",
                after=format_duration(after),
                sla=format_duration(sla),
            ),
            _(locale, "Ops chat: {chat}", chat=ops if ops is not None else _(locale, "this group")),
            _(
                locale,
                "The SLA clock counts only office hours."
                if settings.sla_follows_hours
                else "The SLA clock runs day and night.",
            ),
            _(locale, "Change with: {form}", form=HANDOFF_USAGE),
        )
    )


# --- /oncall --------------------------------------------------------------------------------


async def _oncall_answer(
    message: Message,
    command: CommandObject,
    handoff: HandoffService,
    admins: AdminDirectory,
    locale: str,
) -> str:
    words = (command.args or "").split()
    chat_id = message.chat.id
    if words and words[0].lower() in ("add", "remove"):
        if not await sent_by_admin(message, admins):
            return render.admins_only(locale, "oncall")
        if len(words) < 2 or not words[1].startswith("@"):
            return render.usage(locale, "oncall", ONCALL_USAGE, "Name the moderator as @username.")
        username = words[1][1:]
        moderator_id = await handoff.user_named(chat_id, username)
        if moderator_id is None:
            return _(
                locale,
                "I have not seen @{username} in this group: they need to have written here.",
                username=username,
            )
        if words[0].lower() == "remove":
            await handoff.remove_shifts(chat_id, moderator_id)
        else:
            try:
                shift = parse_shift(" ".join(words[2:]))
            except ShiftInputError as error:
                return render.usage(locale, "oncall", ONCALL_USAGE, error.problem, **error.values)
            await handoff.add_shift(chat_id, ShiftRecord(moderator_id, "@" + username, str(shift)))
    elif words:
        return render.usage(locale, "oncall", ONCALL_USAGE, "Unknown /{command} action.")
    rota, shifts = await handoff.rota(chat_id)
    if not shifts:
        return _(
            locale,
            "No on-call rota: questions go to the ops chat at any hour. Add one with {form}",
            form=ONCALL_USAGE,
        )
    now = handoff.now()
    present = set(on_call(rota, now))
    lines = [_(locale, "On call ({zone}):", zone=rota.timezone)]
    for entry in shifts:
        mark = "🟢" if entry.moderator_id in present else "⚪"
        lines.append(f"{mark} {entry.moderator_name or entry.moderator_id}: {entry.shift}")
    if not present:
        until = next_on_call(rota, now)
        if until is not None:
            local = until.astimezone(ZoneInfo(rota.timezone))
            lines.append(_(locale, "Next on call: {time}", time=local.strftime("%a %H:%M")))
    return "\n".join(lines)


# --- /sla -----------------------------------------------------------------------------------


async def sla_command(
    message: Message,
    command: CommandObject,
    handoff: HandoffService,
    gateway: ChatGateway,
) -> None:
    locale = locale_of(message)
    period = (command.args or "").strip().lower()
    if period not in SLA_PERIODS:
        await reply(
            message, gateway, render.usage(locale, "sla", "/sla [7d|30d]", "Choose 7d or 30d.")
        )
        return
    days = SLA_PERIODS[period]
    measures = await handoff.measures(message.chat.id, timedelta(days=days))
    names = await handoff.names([m for m, _c, _a in measures.per_moderator])
    await reply(message, gateway, sla_text(measures, days, names, locale))


def sla_text(measures: Measures, days: int, names: dict[int, str], locale: str) -> str:
    def wait(seconds: float | None) -> str:
        return format_duration(round(seconds)) if seconds else "—"

    lines = [
        _(locale, "Questions over {days} days: {n}", days=days, n=number(locale, measures.asked)),
        _(
            locale,
            "Answered by members {members}, the FAQ {faq}, moderators {mods}; "
            "solved by the asker {asker}",
            members=number(locale, measures.by_member),
            faq=number(locale, measures.by_faq),
            mods=number(locale, measures.by_moderator),
            asker=number(locale, measures.by_asker),
        ),
        _(
            locale,
            "Time to first answer: median {median}, p90 {p90}",
            median=wait(measures.median_seconds),
            p90=wait(measures.p90_seconds),
        ),
        _(locale, "SLA breaches: {n}", n=number(locale, measures.breaches)),
    ]
    for moderator, claims, answers in measures.per_moderator:
        lines.append(
            _(
                locale,
                "• {name}: {claims} claimed, {answers} answered",
                name=names.get(moderator, str(moderator)),
                claims=number(locale, claims),
                answers=number(locale, answers),
            )
        )
    return "\n".join(lines)


async def outside_group(message: Message, command: CommandObject, gateway: ChatGateway) -> None:
    await gateway.send_message(
        message.chat.id, render.group_only(locale_of(message), command.command)
    )


def questions_text(questions: list[QuestionRecord], locale: str) -> str:
    """For /mydata: the person's questions whose text is kept, open and 48 hours after."""
    lines = [_(locale, "❓ Your questions, kept while open and 48 hours after:")]
    for question in questions:
        asked_at = question.handoff.asked_at
        lines.append(
            _(
                locale,
                "• {day} {time} UTC ({state}): {text}",
                day=day(locale, asked_at),
                time=asked_at.strftime("%H:%M"),
                state=_(locale, _STATES[question.handoff.state]),
                text=question.text or "",
            )
        )
    return "\n".join(lines)


async def _upkeep(service: HandoffService) -> None:
    await service.erase_expired()
    await service.refresh_measures()


async def _group_questions(service: HandoffService, chat_id: int, locale: str) -> str:
    """/health in a group: its questions waiting for an answer, and its last 7 days."""
    waiting, with_moderators = await service.waiting(chat_id)
    week = await service.measures(chat_id, timedelta(days=7))
    return "\n".join(
        [
            _(
                locale,
                "Questions waiting for an answer: {waiting} ({moderators} with the moderators)",
                waiting=number(locale, waiting),
                moderators=number(locale, with_moderators),
            ),
            _(
                locale,
                "Questions in the last 7 days: {asked} · past the SLA: {breaches}",
                asked=number(locale, week.asked),
                breaches=number(locale, week.breaches),
            ),
        ]
    )


def _last_week(service: HandoffService) -> str:
    week = service.last_week
    return f"{week.asked} · {week.breaches}"


def _waits(service: HandoffService) -> str:
    week = service.last_week
    return " · ".join(
        format_duration(round(s)) if s else "—" for s in (week.median_seconds, week.p90_seconds)
    )


def _questions(service: HandoffService) -> str:
    m = service.metrics
    return f"{m.questions} · {m.faq_answers}"


def _handoffs(service: HandoffService) -> str:
    m = service.metrics
    return f"{m.handoffs} · {m.escalations}"
