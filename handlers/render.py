"""Words people read: reports, refusals and readiness notes, in their language."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.group_settings import USAGE as SETTINGS_USAGE
from bot.domain.rights import Gap, Readiness
from bot.ports import Erasure, Footprint
from bot.services.group_settings import SettingsResult
from bot.services.health import GroupHealthReport, HealthReport
from bot.services.stats import StatsReport
from handlers.i18n import NATIVE_NAMES, day, ngettext, number, pick_locale
from handlers.i18n import gettext as _

_WINDOW_NAMES = {1: "Today", 7: "7 days", 30: "30 days"}

_STATUS = {"member": "member", "left": "left", "kicked": "removed"}

_GAP_FIX = {
    Gap.NOT_ADMIN: "I am not an admin here. Fix: promote me to admin in the group's settings.",
    Gap.PRIVACY_MODE: (
        "Privacy mode is on, so I only see commands. Fix: in @BotFather send /setprivacy, "
        "choose this bot, then Disable — or make me an admin."
    ),
    Gap.CANNOT_DELETE: "I cannot delete messages. Fix: give me the “Delete messages” right.",
    Gap.CANNOT_RESTRICT: "I cannot restrict members. Fix: give me the “Ban users” right.",
    Gap.CANNOT_PIN: "I cannot pin messages. Fix: give me the “Pin messages” right.",
    Gap.CANNOT_INVITE: "I cannot manage invite links. Fix: give me the “Invite users” right.",
}


def stats_report(report: StatsReport, locale: str) -> str:
    lines = [_(locale, "📊 Activity in this group (time zone {tz})", tz=report.timezone)]
    for days, stats in report.windows:
        lines.append(
            _(
                locale,
                "{window} — messages: {messages} · active members: {active} · new members: {new}",
                window=_(locale, _WINDOW_NAMES.get(days, "{days} days")).format(days=days),
                messages=number(locale, stats.messages),
                active=number(locale, stats.active_members),
                new=number(locale, stats.new_members),
            )
        )
    return "\n".join(lines)


def health(report: HealthReport, locale: str) -> str:
    return "\n".join(
        [
            _(
                locale,
                "🩺 Ingest: {accepted} updates, {skipped} skipped · events written {written}, "
                "duplicates {duplicates}, waiting {buffered}, failed writes {failed_writes}",
                accepted=number(locale, report.updates_accepted),
                skipped=number(locale, report.updates_skipped),
                written=number(locale, report.events_written),
                duplicates=number(locale, report.events_duplicate),
                buffered=number(locale, report.events_buffered),
                failed_writes=number(locale, report.failed_flushes),
            ),
            _(
                locale,
                "📤 Delivery: queued {queued}, sent {sent}, retried {retried}, dropped {shed}, "
                "failed {failed}, longest wait {wait}s, chats closed {closed}",
                queued=number(locale, report.queued),
                sent=number(locale, report.sent),
                retried=number(locale, report.retried),
                shed=number(locale, report.shed),
                failed=number(locale, report.failed),
                wait=number(locale, round(report.longest_wait, 1)),
                closed=number(locale, report.closed_chats),
            ),
            _(
                locale,
                "👀 Watchers: {judged} messages judged, {judging} waiting (oldest {lag}s), "
                "{decisions} decisions, {errors} errors",
                judged=number(locale, report.judged),
                judging=number(locale, report.judging),
                lag=number(locale, round(report.judge_lag, 1)),
                decisions=number(locale, report.decisions),
                errors=number(locale, report.watcher_errors),
            ),
            *(f"{_(locale, label)}: {_value(locale, value)}" for label, value in report.lines),
        ]
    )


def group_health(report: GroupHealthReport, locale: str) -> str:
    """/health in a group: that group's figures, in words its moderators read."""
    lines = [
        _(locale, "🩺 How groupops is doing in this group"),
        _(
            locale,
            "Messages recorded: {today} today · {week} in the last 7 days",
            today=number(locale, report.messages_today),
            week=number(locale, report.messages_week),
        ),
    ]
    if report.replies_waiting:
        lines.append(
            ngettext(
                locale,
                "{n} reply waiting to be sent here",
                "{n} replies waiting to be sent here",
                report.replies_waiting,
            )
        )
    else:
        lines.append(_(locale, "Replies waiting to be sent here: none"))
    if report.reply_wait >= 1:
        lines.append(
            ngettext(
                locale,
                "Telegram's limit (20 messages a minute in a group) holds a new reply for "
                "about {n} second",
                "Telegram's limit (20 messages a minute in a group) holds a new reply for "
                "about {n} seconds",
                round(report.reply_wait),
            )
        )
    if report.judging:
        lines.append(
            ngettext(
                locale,
                "{n} message waiting for its checks (the oldest for {seconds} s)",
                "{n} messages waiting for their checks (the oldest for {seconds} s)",
                report.judging,
                seconds=number(locale, round(report.judge_lag, 1)),
            )
        )
    else:
        lines.append(_(locale, "Messages waiting for their checks: none"))
    standing = report.standing
    if standing is None:
        lines.append(_(locale, "I could not ask Telegram what I may do here."))
    elif standing.ready:
        lines.append(_(locale, "Admin rights: I have everything I need here."))
    else:
        lines.append(_(locale, "I need a hand here:"))
        lines.extend(f"• {_(locale, _GAP_FIX[gap])}" for gap in standing.gaps)
    lines.extend(report.lines)
    return "\n".join(lines)


def _value(locale: str, value: int | float | str) -> str:
    return value if isinstance(value, str) else number(locale, value)


def admins_only(locale: str, command: str) -> str:
    return _(locale, "Sorry, only the group's admins can use /{command}.", command=command)


def group_only(locale: str, command: str) -> str:
    return _(locale, "/{command} works in a group: send it there.", command=command)


def usage(locale: str, command: str, form: str, problem: str, **values: object) -> str:
    """`problem` (an English template, filled with `command` and `values`) and the right form."""
    return _(
        locale,
        "{problem} Use: {form}",
        problem=_(locale, problem, command=command, **values),
        form=form,
    )


def group_settings(result: SettingsResult, locale: str) -> str:
    settings = result.settings
    if settings.store_text:
        text = _(
            locale,
            "Message text: stored, each erased after {days} days",
            days=number(locale, settings.text_retention_days),
        )
    else:
        text = _(locale, "Message text: not stored (only who posted, replied or reacted, and when)")
    lines = [
        _(locale, "⚙️ Settings of this group"),
        _(locale, "Time zone: {tz}", tz=result.timezone)
        if settings.timezone
        else _(locale, "Time zone: {tz} (the bot's default)", tz=result.timezone),
        _(
            locale,
            "Language of notices to the group: {language}",
            language=NATIVE_NAMES[pick_locale(settings.language)],
        ),
        text,
    ]
    if result.erased:
        lines.append(
            ngettext(
                locale,
                "Erased the stored text of {n} message.",
                "Erased the stored text of {n} messages.",
                result.erased,
            )
        )
    lines.append(_(locale, "Change with: {form}", form=SETTINGS_USAGE))
    return "\n".join(lines)


def readiness(report: Readiness, title: str, locale: str) -> str:
    if report.ready:
        return _(locale, "✅ groupops is ready in “{title}”.", title=title)
    lines = [_(locale, "⚠️ groupops needs a hand in “{title}”:", title=title)]
    lines.extend(f"• {_(locale, _GAP_FIX[gap])}" for gap in report.gaps)
    return "\n".join(lines)


# What the ops chat reads when Telegram refuses the bot in a group, by notice topic
# (bot.services.ops_notices).
_REFUSALS = {
    "bot_removed": (
        "⚠️ groupops is no longer in “{title}” (removed, or the group is gone). It will not "
        "check that group again until someone adds it back."
    ),
    "missing_rights": (
        "⚠️ Telegram refused what groupops tried in “{title}”: it lacks a right there. Fix: {fix}"
    ),
}

# The admin rights as Telegram's group settings name them.
_RIGHT_NAMES = {
    Gap.CANNOT_DELETE: "Delete messages",
    Gap.CANNOT_RESTRICT: "Ban users",
    Gap.CANNOT_PIN: "Pin messages",
    Gap.CANNOT_INVITE: "Invite users via link",
}


def refusal(topic: str, title: str, locale: str, rights: Sequence[Gap] = ()) -> str:
    """The ops chat's note about a group that refused the bot (`topic` of an ops notice);
    a missing right is fixed by the rights the features need (`rights`)."""
    if rights:
        names = ", ".join(f"“{_(locale, _RIGHT_NAMES[gap])}”" for gap in rights)
        fix = _(
            locale,
            "in the group's settings, make it an admin with these rights: {rights}.",
            rights=names,
        )
    else:
        fix = _(locale, "in the group's settings, make it an admin.")
    return _(locale, _REFUSALS[topic], title=title, fix=fix)


def welcome(locale: str) -> str:
    return _(
        locale,
        "Hello! I help the admins run this group. I record who posts, replies, reacts, joins "
        "and leaves, and when — not what you write, unless the admins turn that on. "
        "Admins: /stats shows activity, /settings what is recorded. Everyone: send me /mydata "
        "in private to see what I keep about you, /forgetme to erase it, /optout to stop me "
        "recording what you do here (you then count without your name).",
    )


def private_intro(locale: str) -> str:
    return _(
        locale,
        "Hello! I help admins run their groups. In the groups I am in, I record who posts, "
        "replies, reacts, joins and leaves, and when — not what you write, unless a group's "
        "admins turn that on.\n/mydata — what I have stored about you\n/forgetme — erase it\n"
        "/optout — stop recording what you do in a group",
    )


def private_only(locale: str, command: str) -> str:
    return _(
        locale,
        "/{command} works in a private chat with me, so your data is not shown here. "
        "Open a chat with me and send it there.",
        command=command,
    )


def counts_only_what_it_sees(locale: str) -> str:
    return _(
        locale,
        "ℹ️ With privacy mode on and no admin rights here, I see only commands: these figures "
        "count only what I can see. Make me an admin to count everything.",
    )


def open_private_chat(locale: str) -> str:
    return _(locale, "Open my private chat")


def nothing_stored(locale: str) -> str:
    return _(locale, "I have stored nothing about you.")


def footprint(groups: list[Footprint], locale: str) -> str:
    if not groups:
        return nothing_stored(locale)
    lines = [_(locale, "🗂 What I have stored about you:")]
    for group in groups:
        lines.append(
            "• "
            + _(
                locale,
                "{title} ({status}): {events}, {messages} of them messages, "
                "{texts} with their text; first seen {first}, last seen {last}",
                title=group.title,
                status=_(locale, _STATUS.get(group.status, group.status)),
                events=_events(locale, group.events),
                messages=number(locale, group.messages),
                texts=number(locale, group.stored_texts),
                first=day(locale, group.first_seen_at),
                last=day(locale, group.last_seen_at),
            )
        )
    lines.append(
        _(
            locale,
            "Also your name, username and language as Telegram shows them. /forgetme erases "
            "all of it.",
        )
    )
    return "\n".join(lines)


def erase_question(groups: list[Footprint], locale: str) -> str:
    return _(
        locale,
        "This erases everything I have stored about you in {groups}: your profile, your "
        "memberships and {events}. Your messages stay in the groups; only my records go. "
        "Erase?",
        groups=_groups(locale, len(groups)),
        events=_events(locale, sum(group.events for group in groups)),
    )


# Counted nouns inside longer sentences, each in the form its count takes (Babel's ngettext).
def _groups(locale: str, count: int) -> str:
    return ngettext(locale, "{n} group", "{n} groups", count)


def _events(locale: str, count: int) -> str:
    return ngettext(locale, "{n} event", "{n} events", count)


def erase_buttons(locale: str) -> tuple[str, str]:
    return _(locale, "Erase my data"), _(locale, "Cancel")


def erased(erasure: Erasure, locale: str) -> str:
    return _(
        locale,
        "Erased {events} in {groups}, with your profile and memberships. What you do in these "
        "groups from now on is recorded again, as for every member.",
        events=_events(locale, erasure.events),
        groups=_groups(locale, erasure.groups),
    )


def erase_cancelled(locale: str) -> str:
    return _(locale, "Nothing was erased.")


def group_help(locale: str) -> str:
    return "\n".join(
        [
            _(
                locale,
                "What I do here: I record activity (not what you write, unless the admins "
                "turn that on).",
            ),
            _(
                locale,
                "For admins: /stats activity · /settings time zone and text storage · "
                "/health how I am doing",
            ),
            _(
                locale,
                "For everyone, in a private chat with me: /mydata what I keep about you · "
                "/forgetme erase it",
            ),
        ]
    )
