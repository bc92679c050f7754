"""Moderation through the simulator, on SQLite and PostgreSQL: warnings up to the limit (a
restriction with the right until_date) and their expiry, mutes, bans, kicks, deletions, reports,
locks, rules, the welcome and the log; refusals for members, admin targets and missing rights;
and the right form for every wrong one.

The bot's clock is a `FakeClock` at the simulator's time, so until_dates are exact and a test
can move past a warning's expiry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app import GroupOps
from bot.delivery.limits import DeliveryLimits
from bot.domain.group_settings import USAGE as SETTINGS_USAGE
from bot.services.moderation import ModerationService
from handlers.i18n import day as format_day
from simulator import BotAccount, Simulator, UserAccount
from tests.e2e.conftest import eventually, polling_bot, settings_for
from tests.fakes import FakeClock

DAY = 86_400
# Moderation is not about Telegram's pace: the bot replies ten times faster than its real limit
# of one message a second in a chat (delivery's own tests hold the real limits).
FAST = DeliveryLimits().scaled(10)
ADMINS_ONLY = "only the group's admins"


@dataclass
class Group:
    sim: Simulator
    bot: BotAccount
    owner: UserAccount  # the creator: an admin
    mod: UserAccount  # a promoted admin
    ann: UserAccount
    max: UserAccount
    chat_id: int
    ops: int


@pytest.fixture
def group(sim: Simulator) -> Group:
    owner = sim.create_user(first_name="Olga", username="olga", language_code="en")
    mod = sim.create_user(first_name="Mo", username="mo", language_code="en")
    ann = sim.create_user(first_name="Ann", username="ann", language_code="en")
    max_ = sim.create_user(first_name="Max", username="max", language_code="en")
    chat_id = sim.create_group(title="Makers", creator_id=owner.id)
    ops = sim.create_group(title="Makers mods", creator_id=owner.id)
    for user in (mod, ann, max_):
        sim.join(chat_id, user.id)
    sim.promote(chat_id, mod.id)
    bot = sim.create_bot(username="groupops_mod_bot", can_read_all_group_messages=True)
    sim.add_bot(chat_id, bot.id, admin=True)
    sim.add_bot(ops, bot.id, admin=True)
    return Group(sim, bot, owner, mod, ann, max_, chat_id, ops)


def _clock(g: Group) -> FakeClock:
    return FakeClock(datetime.fromtimestamp(int(g.sim.now()), UTC))


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


def _has(sim: Simulator, chat_id: int, part: str, times: int = 1) -> Callable[[], bool]:
    def check() -> bool:
        texts = _texts(sim, chat_id)
        check.__name__ = f"{times}× {part!r} in the chat (last: {texts[-2:]!r})"
        return sum(part in t for t in texts) >= times

    return check


def _calls(sim: Simulator, method: str) -> list[dict[str, Any]]:
    return [c.params for c in sim.calls() if c.method == method and c.ok]


def _service(app: GroupOps) -> ModerationService:
    service = app.services["moderation"]
    assert isinstance(service, ModerationService)
    return service


async def _introduced(g: Group, app: GroupOps) -> None:
    """Everyone writes once, so the bot has seen their @usernames."""
    for user in (g.owner, g.mod, g.ann, g.max):
        g.sim.post(g.chat_id, user.id, text=f"hi, I am {user.first_name}")

    async def seen() -> bool:
        async with app.uow_factory() as uow:
            return await uow.moderation.member_named(g.chat_id, "max") is not None

    await eventually(seen)


async def _said(g: Group, user: UserAccount, text: str, part: str, **post: Any) -> str:
    """`user` posts `text`; wait for the bot's answer containing `part` and return it."""
    before = sum(part in t for t in _texts(g.sim, g.chat_id))
    g.sim.post(g.chat_id, user.id, text=text, **post)
    await eventually(_has(g.sim, g.chat_id, part, before + 1), within=40)
    return [t for t in _texts(g.sim, g.chat_id) if part in t][-1]


async def test_the_warn_limit_mutes_with_the_right_until_date_and_starts_again(
    group: Group, db_url: str
) -> None:
    g, clock = group, _clock(group)
    async with polling_bot(settings_for(g.sim, g.bot, db_url), g.sim, clock, limits=FAST) as app:
        await _introduced(g, app)
        spam = g.sim.post(g.chat_id, g.ann.id, text="buy my stuff")
        said = await _said(g, g.owner, "/warn spam", "is warned", reply_to=spam["message_id"])
        assert said == "⚠️ Ann (@ann) is warned (1/3).\nReason: spam"
        await _said(g, g.mod, "/warn @ann flooding", "is warned (2/3)")
        await _said(g, g.owner, f"/warn {g.ann.id}", "is warned (3/3)")
        # The third warning reaches the limit: a notice of its own follows the warning's.
        await eventually(_has(g.sim, g.chat_id, "reached 3 warnings"))
        limit = next(t for t in _texts(g.sim, g.chat_id) if "reached 3 warnings" in t)
        await _said(g, g.owner, "/warns @ann", "has no warnings that count")
    mutes = _calls(g.sim, "restrictChatMember")
    assert len(mutes) == 1
    assert mutes[0]["user_id"] == g.ann.id
    assert mutes[0]["until_date"] == int(clock.now().timestamp()) + DAY
    assert g.sim.member_status(g.chat_id, g.ann.id) == "restricted"
    assert "muted until" in limit
    # The limit spent the warnings: the count starts again.
    assert any("Ann (@ann) has no warnings that count." in t for t in _texts(g.sim, g.chat_id))


async def test_a_member_sees_their_warnings_in_mydata(group: Group, db_url: str) -> None:
    g, clock = group, _clock(group)
    async with polling_bot(settings_for(g.sim, g.bot, db_url), g.sim, clock, limits=FAST) as app:
        await _introduced(g, app)
        await _said(g, g.owner, "/warn @ann flooding", "is warned (1/3)")
        await _said(g, g.mod, "/warn @ann", "is warned (2/3)")
        await _said(g, g.mod, "/unwarn @ann", "Took back")
        g.sim.start_private(g.ann.id, text="/mydata")
        await eventually(_has(g.sim, g.ann.id, "Warnings given to you"))
        g.sim.start_private(g.max.id, text="/mydata")
        await eventually(lambda: len(g.sim.sent(g.max.id)) > 0)
        await app.intake.drain()
    (told,) = [t for t in _texts(g.sim, g.ann.id) if "Warnings given to you" in t]
    day = format_day("en", clock.now())
    assert told.splitlines()[1:] == [
        f"• Makers, {day}: flooding",
        f"• Makers, {day}: no reason given (cleared)",  # /unwarn clears the latest
    ]
    # Only one's own: Max was never warned.
    assert not any("Warnings given to you" in t for t in _texts(g.sim, g.max.id))


async def test_an_expired_warning_no_longer_counts(group: Group, db_url: str) -> None:
    g, clock = group, _clock(group)
    async with polling_bot(settings_for(g.sim, g.bot, db_url), g.sim, clock, limits=FAST) as app:
        await _introduced(g, app)
        await _said(g, g.owner, "/warn @max rude", "is warned (1/3)")
        clock.advance(30 * DAY + 1)
        await _said(g, g.owner, "/warn @max rude again", "is warned (1/3)")
        await _said(g, g.owner, "/warn @max and again", "is warned (2/3)")
        shown = await _said(g, g.max, "/warns", "of 3 warnings")  # a member sees their own
        took = await _said(g, g.owner, "/unwarn @max", "Took back")
        # Counted for 60 days, the first warning counts again: with the new one, 3 of 3.
        await _said(g, g.owner, "/settings warnexpiry 60d", "counts for 60 days")
        await _said(g, g.owner, "/warn @max", "reached 3 warnings")
    assert "Max (@max): 2 of 3 warnings (each counts for 30 days)." in shown
    assert "by Olga (@olga): and again" in shown and "rude again" in shown
    assert took == "↩️ Took back 1 warning of Max (@max)."
    assert _calls(g.sim, "restrictChatMember")[0]["user_id"] == g.max.id


async def test_the_warn_limit_follows_the_settings(group: Group, db_url: str) -> None:
    g, clock = group, _clock(group)
    async with polling_bot(settings_for(g.sim, g.bot, db_url), g.sim, clock, limits=FAST) as app:
        await _introduced(g, app)
        shown = await _said(g, g.owner, "/settings", "Settings of this group")
        assert shown.splitlines()[-2:] == [
            "⚠️ Warn limit: 3 warnings, then a mute for 1d. A warning counts for 30 days.",
            "Change with: " + SETTINGS_USAGE,
        ]
        said = await _said(g, g.owner, "/settings warnlimit 2 ban 2h", "Warn limit")
        assert said == "⚠️ Warn limit: 2 warnings, then a ban for 2h. A warning counts for 30 days."
        await _said(g, g.owner, "/warn @max", "(1/2)")
        await _said(g, g.owner, "/warn @max", "reached 2 warnings: banned until")
        await _said(g, g.owner, "/settings warnlimit 1 kick", "then a kick")
        await _said(g, g.owner, "/warn @ann", "reached 1 warnings: removed from the group")
    bans = _calls(g.sim, "banChatMember")
    assert bans[0] == {
        "chat_id": g.chat_id,
        "user_id": g.max.id,
        "until_date": int(clock.now().timestamp()) + 7_200,
    }
    assert g.sim.member_status(g.chat_id, g.max.id) == "kicked"
    assert g.sim.member_status(g.chat_id, g.ann.id) == "left"  # kicked: free to come back


async def test_mute_unmute_ban_unban_kick(group: Group, db_url: str) -> None:
    g, clock = group, _clock(group)
    sim, chat_id = g.sim, g.chat_id
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, clock, limits=FAST) as app:
        await _introduced(g, app)
        said = await _said(g, g.owner, "/mute @ann 1d12h shouting", "is muted")
        assert "🔇 Ann (@ann) is muted until" in said and "Reason: shouting" in said
        assert sim.member_status(chat_id, g.ann.id) == "restricted"
        await _said(g, g.owner, "/unmute @ann", "may write again")
        assert sim.member_status(chat_id, g.ann.id) == "member"
        sim.post(chat_id, g.ann.id, text="thanks")  # she can write again
        await _said(g, g.mod, "/mute @max", "🔇 Max (@max) is muted.")
        await _said(g, g.owner, "/ban @max 10m", "is banned until")
        assert sim.member_status(chat_id, g.max.id) == "kicked"
        await _said(g, g.owner, "/unban @max", "no longer banned")
        assert sim.member_status(chat_id, g.max.id) == "left"
        await _said(g, g.owner, "/kick @ann", "was removed from the group")
        assert sim.member_status(chat_id, g.ann.id) == "left"
        log = await _said(g, g.owner, "/modlog", "Moderation log")
    mutes = _calls(sim, "restrictChatMember")
    assert mutes[0]["until_date"] == int(clock.now().timestamp()) + DAY + DAY // 2
    assert mutes[2]["until_date"] == 0  # no duration: for ever
    lines = log.splitlines()
    assert "Olga (@olga) kicked Ann (@ann)" in lines[1]
    assert any("Mo (@mo) muted Max (@max)" in line for line in lines)
    assert any(
        "Olga (@olga) muted Ann (@ann) until" in line and "— shouting" in line for line in lines
    )


# Telegram lets a bot post 20 messages a minute in a group: each test stays under that.
MEMBER_COMMANDS = [
    [
        "/warn @max",
        "/unwarn @max",
        "/warns @max",
        "/mute @max",
        "/unmute @max",
        "/ban @max",
        "/unban @max",
        "/kick @max",
    ],
    [
        "/purge @max",
        "/lock links",
        "/unlock links",
        "/rules set be nice",
        "/welcome on",
        "/modlog",
        "/settings warnlimit 2",
    ],
]


@pytest.mark.parametrize("commands", MEMBER_COMMANDS, ids=["restrictions", "the rest"])
async def test_members_are_refused(group: Group, db_url: str, commands: list[str]) -> None:
    g, clock = group, _clock(group)
    sim, chat_id = g.sim, g.chat_id
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, clock, limits=FAST) as app:
        await _introduced(g, app)
        for i, command in enumerate(commands):
            await _said(g, g.ann if i % 2 else g.max, command, ADMINS_ONLY)
            clock.advance(15)  # past the members' command rate
        target = sim.post(chat_id, g.max.id, text="hello")
        await _said(g, g.ann, "/del", ADMINS_ONLY, reply_to=target["message_id"])
    assert _calls(sim, "restrictChatMember") == _calls(sim, "banChatMember") == []
    assert target["message_id"] in {m["message_id"] for m in sim.history(chat_id)}
    assert sum(ADMINS_ONLY in t for t in _texts(sim, chat_id)) == len(commands) + 1


async def test_admins_the_bot_and_channels_are_not_targets(group: Group, db_url: str) -> None:
    g = group
    sim, chat_id = g.sim, g.chat_id
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, _clock(g), limits=FAST) as app:
        await _introduced(g, app)
        await _said(g, g.mod, "/ban @olga", "I won't do that to an admin")
        await _said(g, g.owner, "/mute @mo", "I won't do that to an admin")
        anonymous = sim.post_as_chat(chat_id, text="as the group")
        await _said(
            g, g.owner, "/warn", "I won't do that to an admin", reply_to=anonymous["message_id"]
        )
        await _said(g, g.owner, f"/kick {g.bot.id}", "I won't do that to myself.")
        await _said(g, g.owner, "/warn @nobody", "I have not seen @nobody in this group")
        news = sim.post_from_channel(chat_id, sim.create_channel("Makers news"), text="news")
        await _said(g, g.owner, "/ban", "sent on behalf of a channel", reply_to=news["message_id"])
    assert _calls(sim, "restrictChatMember") == _calls(sim, "banChatMember") == []


async def test_an_anonymous_admin_moderates_as_the_group(group: Group, db_url: str) -> None:
    g = group
    sim, chat_id = g.sim, g.chat_id
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, _clock(g), limits=FAST) as app:
        await _introduced(g, app)
        sim.post_as_chat(chat_id, text="/mute @ann 2h flooding")
        await eventually(_has(sim, chat_id, "🔇 Ann (@ann) is muted until"))
        old = sim.post(chat_id, g.max.id, text="last week", date=sim.now() - 49 * 3600)
        sim.post_as_chat(chat_id, text="/del", reply_to=old["message_id"])
        await eventually(_has(sim, chat_id, "older than 48 hours"))
        sim.post_as_chat(chat_id, text="/modlog @ann")
        await eventually(_has(sim, chat_id, "Moderation log for Ann"))
    log = _texts(sim, chat_id)[-1]
    assert "Makers muted Ann (@ann) until" in log and "— flooding" in log
    assert sim.member_status(chat_id, g.ann.id) == "restricted"


async def test_a_bot_without_the_right_names_it(group: Group, db_url: str) -> None:
    g = group
    sim, chat_id = g.sim, g.chat_id
    sim.promote(chat_id, g.bot.id, rights=["can_delete_messages"])
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, _clock(g), limits=FAST) as app:
        await _introduced(g, app)
        said = await _said(g, g.owner, "/mute @ann", "I can't do that")
        assert "I need the “Ban users” admin right here." in said
        locked = await _said(g, g.owner, "/lock links", "Locked: links")
        assert "I need the “Delete messages” admin right here." not in locked  # it has that one
        await _said(g, g.owner, "/warns @ann", "no warnings")
    assert sim.member_status(chat_id, g.ann.id) == "member"


async def test_a_lock_warns_when_the_bot_cannot_delete(group: Group, db_url: str) -> None:
    g = group
    g.sim.promote(g.chat_id, g.bot.id, rights=["can_restrict_members"])
    async with polling_bot(settings_for(g.sim, g.bot, db_url), g.sim, _clock(g), limits=FAST):
        said = await _said(g, g.owner, "/lock stickers", "Locked: stickers")
    assert said.endswith(
        "I need the “Delete messages” admin right here. Give it to me in the "
        "group's admin settings."
    )


async def test_wrong_words_get_the_right_form(group: Group, db_url: str) -> None:
    g = group
    wrong = {
        "/warn": "Reply to the member's message, or name them: @username or their numeric id. "
        "Use: /warn (reply) [reason] · /warn @username [reason] · /warn 123456789 [reason]",
        "/mute @ann 10x": "“10x” is not a duration",
        "/mute @ann 10s": "A mute or ban lasts at least 30 seconds",
        "/ban ann": "“ann” is not a member",
        "/unwarn @ann twice": "Say “all” to take back every warning",
        "/lock everything": "“everything” cannot be locked: choose links, forwards, media or "
        "stickers. Use: /lock links|forwards|media|stickers",
        "/del": "Reply with /del to the message to delete. Use: /del (as a reply)",
        "/report": "Reply with /report to the message the moderators should see.",
        "/rules set": "Write the rules after “/rules set”.",
        "/welcome hello": "Say “set”, “on” or “off”.",
        "/settings warnlimit 0": "The warn limit is a number from 1 to 20",
        "/settings warnlimit 3 mute forever": "“forever” is not a duration",
        "/settings warnlimit 3 kick 1d": "A kick takes no duration.",
    }
    async with polling_bot(
        settings_for(g.sim, g.bot, db_url), g.sim, _clock(g), limits=FAST
    ) as app:
        await _introduced(g, app)
        for text, part in wrong.items():
            said = await _said(g, g.owner, text, part)
            assert "Use: " in said, said


async def test_del_and_purge_delete_by_the_recorded_ids(group: Group, db_url: str) -> None:
    g = group
    sim, chat_id = g.sim, g.chat_id
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, _clock(g), limits=FAST) as app:
        await _introduced(g, app)
        old = sim.post(chat_id, g.max.id, text="yesterday's", date=sim.now() - 50 * 3600)
        posted = [sim.post(chat_id, g.max.id, text=f"spam {i}") for i in range(3)]
        kept = sim.post(chat_id, g.ann.id, text="not spam")
        said = await _said(g, g.owner, "/purge @max", "Deleted")
        assert (
            said == "🧹 Deleted 4 messages of Max (@max) from the last 48 hours."
        )  # and his hello
        one = sim.post(chat_id, g.ann.id, text="oops")
        command = sim.post(chat_id, g.mod.id, text="/del", reply_to=one["message_id"])

        def gone() -> bool:
            visible = {m["message_id"] for m in sim.history(chat_id)}
            return one["message_id"] not in visible and command["message_id"] not in visible

        await eventually(gone)
        log = await _said(g, g.owner, "/modlog @max", "Moderation log for Max")
    visible = {m["message_id"] for m in sim.history(chat_id)}
    assert not visible & {m["message_id"] for m in posted}
    assert {old["message_id"], kept["message_id"]} <= visible  # too old for Telegram; not his
    assert "deleted recent messages of Max (@max) (4 messages)" in log


async def test_a_report_reaches_the_ops_chat_and_the_reporter_is_thanked_privately(
    group: Group, db_url: str
) -> None:
    g = group
    sim, chat_id = g.sim, g.chat_id
    sim.start_private(g.ann.id)
    settings = settings_for(sim, g.bot, db_url, ops_chat_id=g.ops)
    async with polling_bot(settings, sim, _clock(g), limits=FAST) as app:
        await _introduced(g, app)
        bad = sim.post(chat_id, g.max.id, text="rude words")
        sim.post(chat_id, g.ann.id, text="/report insulting", reply_to=bad["message_id"])
        await eventually(_has(sim, g.ops, "🚩 Report in Makers"))
        await eventually(_has(sim, g.ann.id, "Thank you for the report"))
        sim.post(chat_id, g.ann.id, text="/report", reply_to=bad["message_id"])
        await eventually(_has(sim, g.ann.id, "you can report again in"))
    report = _texts(sim, g.ops)[-1]
    internal = str(chat_id)[4:]
    assert report == (
        "🚩 Report in Makers: Ann (@ann) reported a message by Max (@max).\n“rude words”\n"
        f"Reason: insulting\nhttps://t.me/c/{internal}/{bad['message_id']}"
    )
    assert len([t for t in _texts(sim, g.ops) if t.startswith("🚩")]) == 1
    assert not any("report" in t.lower() for t in _texts(sim, chat_id))  # nothing in the group


async def test_locks_delete_members_locked_kinds_with_one_notice(group: Group, db_url: str) -> None:
    g = group
    sim, chat_id = g.sim, g.chat_id
    channel = sim.create_channel("Makers news")
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, _clock(g), limits=FAST) as app:
        await _introduced(g, app)
        said = await _said(g, g.owner, "/lock links stickers", "Locked")
        assert (
            said
            == "🔒 Locked: links, stickers. Such messages from members (not admins) are deleted."
        )
        first = sim.post(chat_id, g.ann.id, text="see https://example.com")
        second = sim.post(chat_id, g.max.id, text="and www.example.org")
        sticker = sim.post(chat_id, g.max.id, text="😀", kind="sticker")
        plain = sim.post(chat_id, g.max.id, text="just words")
        admins = sim.post(chat_id, g.mod.id, text="docs at https://example.com/docs")
        anonymous = sim.post_as_chat(chat_id, text="rules at https://example.com/rules")
        linked = sim.post_from_channel(chat_id, channel, text="news https://example.com/news")

        def removed() -> bool:
            visible = {m["message_id"] for m in sim.history(chat_id)}
            return not visible & {first["message_id"], second["message_id"], sticker["message_id"]}

        await eventually(removed)
        await eventually(_has(sim, chat_id, "🔒 Links are locked in this group"))
        await _said(g, g.owner, "/unlock links", "Locked: stickers")
        after = sim.post(chat_id, g.ann.id, text="https://example.com again")
        await _said(g, g.owner, "/locks", "Locked: stickers")
    visible = {m["message_id"] for m in sim.history(chat_id)}
    for kept in (plain, admins, anonymous, linked, after):
        assert kept["message_id"] in visible
    notices = [t for t in _texts(sim, chat_id) if t.startswith("🔒") and "removed" in t]
    assert len(notices) == 1  # rate-limited: one a minute per group


async def test_rules_and_a_batched_welcome_with_the_privacy_note(group: Group, db_url: str) -> None:
    g, clock = group, _clock(group)
    sim, chat_id = g.sim, g.chat_id
    newcomers = [
        sim.create_user(first_name=name, language_code="en") for name in ("Nina", "Oleg", "Pia")
    ]
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, clock, limits=FAST) as app:
        await _said(g, g.owner, "/rules set Be kind. No spam.", "Rules saved")
        rules = await _said(g, g.ann, "/rules", "Rules of Makers")
        assert rules == "📜 Rules of Makers:\nBe kind. No spam."
        await _said(g, g.owner, "/welcome set Hello {names}, glad you came!", "welcomed like this")
        for user in newcomers:
            sim.join(chat_id, user.id)
        service = _service(app)

        async def joins_recorded() -> bool:
            async with app.uow_factory() as uow:
                joins = await uow.moderation.joins_after(chat_id, 0, 50)
            return len(joins) >= 3

        await eventually(joins_recorded)
        clock.advance(1)
        assert await service.send_welcomes() == 0  # still joining: wait for the pause
        clock.advance(60)
        assert await service.send_welcomes() == 1
        assert await service.send_welcomes() == 0  # once
        await _said(g, g.owner, "/welcome off", "welcome is off")
        log = await _said(g, g.owner, "/modlog", "Moderation log")
    assert [line.split(" · ")[1] for line in log.splitlines()[1:]] == [
        "Olga (@olga) turned the welcome off",
        "Olga (@olga) set the welcome",
        "Olga (@olga) set the rules",
    ]
    welcomes = [t for t in _texts(sim, chat_id) if t.startswith("Hello Nina")]
    assert welcomes == [
        "Hello Nina, Oleg, Pia, glad you came!\n\n📜 Please read the rules: /rules\n\n"
        "ℹ️ I record who posts, replies and reacts here, and when — not what you write, unless "
        "the admins turn that on. Send me /optout in private to stop it, or /mydata to see what "
        "I keep."
    ]


async def test_a_mute_in_a_basic_group_says_why_not(sim: Simulator, db_url: str) -> None:
    owner = sim.create_user(first_name="Olga", username="olga", language_code="en")
    ann = sim.create_user(first_name="Ann", username="ann", language_code="en")
    chat_id = sim.create_group(title="Old school", creator_id=owner.id, type="group")
    sim.join(chat_id, ann.id)
    bot = sim.create_bot(username="groupops_basic_bot", can_read_all_group_messages=True)
    sim.add_bot(chat_id, bot.id, admin=True)
    async with polling_bot(settings_for(sim, bot, db_url), sim, limits=FAST):
        message = sim.post(chat_id, ann.id, text="hello")
        sim.post(chat_id, owner.id, text="/mute 1h", reply_to=message["message_id"])
        await eventually(_has(sim, chat_id, "only in supergroups"))
    assert sim.member_status(chat_id, ann.id) == "member"
