"""The ad-share cap through the simulator, on SQLite and PostgreSQL: member promos under the cap,
new members' promos, admins' promos, /notpromo restoring, /adcap for admins only, restarts."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import ColumnElement, Table, func, select

from simulator import BotAccount, Simulator, UserAccount
from storage.engine import create_engine
from storage.models import events_table, removed_promos_table
from tests.e2e.conftest import count_events, eventually, polling_bot, settings_for

SUBJECTS = ["the meetup", "our workshop", "the talk", "lunch", "the build", "the demo", "the hike"]
SUBJECTS += ["the quiz", "the review"]
ENDINGS = ["starts late", "went well", "needs chairs", "moved upstairs", "was fun", "is at noon"]
ENDINGS += ["needs a host", "got cancelled", "looks fine", "ran long", "is on", "is full"]
# Promos by the rules alone (invite link, contact, phone, discount, call to action), so they are
# promos whether or not the model has finished loading.
PROMOS = [
    "Big sale today: 50% off all sneakers, order now at t.me/+AbCdEf, DM me on WhatsApp "
    "+1 555 123 4567",
    "Mega discount 70% off watches, buy now t.me/+Watch42, contact WhatsApp +44 7700 900123",
]


def chat_lines(count: int) -> list[str]:
    """Ordinary chat, each line different (copies across members would look like spam)."""
    pairs = itertools.product(SUBJECTS, ENDINGS)
    return [f"{subject} {ending}, I think" for subject, ending in itertools.islice(pairs, count)]


@dataclass
class Group:
    sim: Simulator
    bot: BotAccount
    owner: UserAccount
    members: list[UserAccount]  # there before the bot: they have standing once they wrote
    chat_id: int


@pytest.fixture
def group(sim: Simulator) -> Group:
    owner = sim.create_user(first_name="Olga", username="olga", language_code="en")
    chat_id = sim.create_group(title="Makers", creator_id=owner.id)
    members = [
        sim.create_user(first_name=f"Member{i}", username=f"member{i}", language_code="en")
        for i in range(3)
    ]
    for member in members:
        sim.join(chat_id, member.id)
    bot = sim.create_bot(username="groupops_adcap_bot", can_read_all_group_messages=True)
    sim.add_bot(chat_id, bot.id, admin=True)
    return Group(sim, bot, owner, members, chat_id)


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


def _visible_share(sim: Simulator, chat_id: int) -> float:
    """Promos ÷ members' messages in what the group sees now (the bot's own notes left out)."""
    visible = [m for m in sim.history(chat_id) if "text" in m and not m["from"]["is_bot"]]
    promos = sum(m["text"] in PROMOS for m in visible)
    return promos / len(visible)


async def _chat(group: Group, lines: list[str]) -> None:
    for i, line in enumerate(lines):
        group.sim.post(group.chat_id, group.members[i % len(group.members)].id, text=line)


async def test_a_group_at_14_percent_gets_promos_until_the_cap(group: Group, db_url: str) -> None:
    sim, chat_id = group.sim, group.chat_id
    async with polling_bot(settings_for(sim, group.bot, db_url), sim):
        await _chat(group, chat_lines(86))
        for i in range(14):
            sim.post(chat_id, group.members[i % 3].id, text=PROMOS[i % 2])
        await eventually(lambda: _counted(db_url, chat_id, 100), within=30)
        assert _visible_share(sim, chat_id) == pytest.approx(0.14)
        for i in range(5):
            sim.post(chat_id, group.members[i % 3].id, text=PROMOS[i % 2])
        # The removals and their notices are separate calls: wait for both (under load a
        # notice can land before the deletion it explains).
        await eventually(
            lambda: (
                _texts(sim, chat_id).count(OVER_BUDGET) == 4
                and sum(m.get("text") in PROMOS for m in sim.history(chat_id)) == 15
            ),
            within=30,
        )
        # 15 of 101 fits under 15%; the 16th would not, whatever follows it.
        assert _visible_share(sim, chat_id) <= 0.15
        sim.post(chat_id, group.owner.id, text="/adcap")
        await eventually(lambda: any("Ad share" in t for t in _texts(sim, chat_id)))
    report = next(t for t in _texts(sim, chat_id) if "Ad share" in t)
    assert "(15 of 101 messages)" in report  # /adcap is a command, not a message
    assert "Budget: none now" in report


OVER_BUDGET = "🚫 Removed: this group has had its share of promotions for now."
NEW_MEMBER = "🚫 Removed: new members cannot post promotions here yet."


async def _rows(db_url: str, table: Table, *where: ColumnElement[bool]) -> int:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            query = select(func.count()).select_from(table).where(*where)
            return int(await connection.scalar(query) or 0)
    finally:
        await engine.dispose()


async def _judged_promos(db_url: str, chat_id: int, promos: int) -> bool:
    e = events_table.c
    return (
        await _rows(db_url, events_table, e.chat_id == chat_id, e.promo_score.is_not(None))
        == promos
    )


async def _kept_with_notice(db_url: str, notice_id: int) -> bool:
    return (
        await _rows(db_url, removed_promos_table, removed_promos_table.c.notice_id == notice_id)
        == 1
    )


async def _counted(db_url: str, chat_id: int, messages: int) -> bool:
    return await count_events(db_url, chat_id=chat_id, kind="message") >= messages


async def test_a_new_members_promo_goes_and_an_admins_stays_and_counts(
    group: Group, db_url: str
) -> None:
    sim, chat_id = group.sim, group.chat_id
    newcomer = sim.create_user(first_name="Nina", username="nina", language_code="en")
    async with polling_bot(settings_for(sim, group.bot, db_url), sim):
        await _chat(group, chat_lines(20))
        sim.join(chat_id, newcomer.id)
        spam = sim.post(chat_id, newcomer.id, text=PROMOS[0])
        await eventually(lambda: NEW_MEMBER in _texts(sim, chat_id))
        owners = sim.post(chat_id, group.owner.id, text=PROMOS[1])
        # The top sources are read from the database, where decisions land once applied.
        await eventually(lambda: _judged_promos(db_url, chat_id, 2))
        sim.post(chat_id, group.owner.id, text="/adcap")
        await eventually(lambda: any("Ad share" in t for t in _texts(sim, chat_id)))
    visible = {m["message_id"] for m in sim.history(chat_id)}
    assert spam["message_id"] not in visible
    assert owners["message_id"] in visible
    report = next(t for t in _texts(sim, chat_id) if "Ad share" in t)
    # 20 lines and the owner's promo: the removed promo left the count.
    assert "(1 of 21 messages)" in report
    assert "Top promotion sources: Olga (@olga) (1), Nina (@nina) (1)" in report


async def test_notpromo_restores_a_removed_message_and_the_share_corrects(
    group: Group, db_url: str
) -> None:
    sim, chat_id = group.sim, group.chat_id
    newcomer = sim.create_user(first_name="Nina", username="nina", language_code="en")
    async with polling_bot(settings_for(sim, group.bot, db_url), sim):
        await _chat(group, chat_lines(10))
        sim.join(chat_id, newcomer.id)
        sim.post(chat_id, newcomer.id, text=PROMOS[0])
        await eventually(lambda: NEW_MEMBER in _texts(sim, chat_id))
        notice = next(m for m in sim.sent(chat_id) if m.get("text") == NEW_MEMBER)
        # The bot learns its note's id from Telegram's answer, just after the test sees it.
        await eventually(lambda: _kept_with_notice(db_url, notice["message_id"]))
        sim.post(chat_id, group.owner.id, text="/notpromo", reply_to=notice["message_id"])
        await eventually(lambda: any("Restored" in t for t in _texts(sim, chat_id)))
        sim.post(chat_id, group.owner.id, text="/adcap")
        await eventually(lambda: any("Ad share" in t for t in _texts(sim, chat_id)))
    restored = next(t for t in _texts(sim, chat_id) if "Restored" in t)
    assert "Nina wrote:" in restored and PROMOS[0] in restored
    report = next(t for t in _texts(sim, chat_id) if "Ad share" in t)
    # 10 lines and the promo (a message again, not a promo).
    assert "(0 of 11 messages)" in report


async def test_only_admins_change_the_cap_and_wrong_forms_get_the_right_one(
    group: Group, db_url: str
) -> None:
    sim, chat_id = group.sim, group.chat_id
    member = group.members[0]
    async with polling_bot(settings_for(sim, group.bot, db_url), sim):
        sim.post(chat_id, member.id, text="/adcap 50%")
        await eventually(lambda: any("only the group's admins" in t for t in _texts(sim, chat_id)))
        for wrong in ("/adcap 200%", "/adcap window forever", "/adcap policy shout"):
            sim.post(chat_id, group.owner.id, text=wrong)
        await eventually(lambda: sum("Use: /adcap" in t for t in _texts(sim, chat_id)) == 3)
        sim.post(chat_id, group.owner.id, text="/adcap 12%")
        await eventually(lambda: any("cap 12%" in t for t in _texts(sim, chat_id)))
        sim.post(chat_id, group.owner.id, text="/adcap window 3d")
        await eventually(lambda: any("over 3d" in t for t in _texts(sim, chat_id)))
        sim.post(chat_id, group.owner.id, text="/adcap policy mute 2h")
        await eventually(lambda: any("mute for 2h" in t for t in _texts(sim, chat_id)))
    assert "cap 15%" not in _texts(sim, chat_id)[-1]
    assert any("The cap must be from 1% to 90%, not 200%." in t for t in _texts(sim, chat_id))


async def test_a_restart_keeps_the_share(group: Group, db_url: str) -> None:
    sim, chat_id = group.sim, group.chat_id
    settings = settings_for(sim, group.bot, db_url)
    async with polling_bot(settings, sim):
        await _chat(group, chat_lines(18))
        sim.post(chat_id, group.members[0].id, text=PROMOS[0])
        sim.post(chat_id, group.members[1].id, text=PROMOS[1])
        await eventually(lambda: _counted(db_url, chat_id, 20))
    async with polling_bot(settings, sim):
        sim.post(chat_id, group.owner.id, text="/adcap")
        await eventually(lambda: any("Ad share" in t for t in _texts(sim, chat_id)))
    report = next(t for t in _texts(sim, chat_id) if "Ad share" in t)
    assert "(2 of 20 messages)" in report


async def test_a_removed_promo_shows_in_mydata_and_goes_with_forgetme(
    group: Group, db_url: str
) -> None:
    sim, chat_id = group.sim, group.chat_id
    newcomer = sim.create_user(first_name="Nina", username="nina", language_code="en")
    async with polling_bot(settings_for(sim, group.bot, db_url), sim):
        sim.join(chat_id, newcomer.id)
        sim.post(chat_id, newcomer.id, text=PROMOS[0])
        await eventually(lambda: NEW_MEMBER in _texts(sim, chat_id))
        notice = next(m for m in sim.sent(chat_id) if m.get("text") == NEW_MEMBER)
        await eventually(lambda: _kept_with_notice(db_url, notice["message_id"]))
        sim.start_private(newcomer.id, text="/mydata")
        await eventually(lambda: any("kept 48 hours" in t for t in _texts(sim, newcomer.id)))
        shown = next(t for t in _texts(sim, newcomer.id) if "kept 48 hours" in t)
        assert "from new members: " + PROMOS[0] in shown
        sim.start_private(newcomer.id, text="/forgetme")
        await eventually(lambda: any("Erase?" in t for t in _texts(sim, newcomer.id)))
        question = next(m for m in sim.sent(newcomer.id) if "Erase?" in m.get("text", ""))
        sim.press_button(newcomer.id, question["message_id"], newcomer.id, data="forgetme:erase")
        await eventually(lambda: _erased(sim, newcomer.id, question["message_id"]))
    assert not await _kept_with_notice(db_url, notice["message_id"])


def _erased(sim: Simulator, chat_id: int, message_id: int) -> bool:
    shown = [m for m in sim.history(chat_id) if m["message_id"] == message_id]
    return bool(shown) and "Erased" in shown[0].get("text", "")


async def test_over_the_budget_the_policy_warns_or_mutes(group: Group, sqlite_url: str) -> None:
    sim, chat_id = group.sim, group.chat_id
    async with polling_bot(settings_for(sim, group.bot, sqlite_url), sim):
        await _chat(group, chat_lines(9))
        sim.post(chat_id, group.owner.id, text="/adcap policy warn")
        await eventually(lambda: any("Over the budget: warn" in t for t in _texts(sim, chat_id)))
        first = sim.post(chat_id, group.members[0].id, text=PROMOS[0])  # the one that fits
        warned = sim.post(chat_id, group.members[1].id, text=PROMOS[1])
        await eventually(lambda: any("hold promotions" in t for t in _texts(sim, chat_id)))
        sim.post(chat_id, group.owner.id, text="/adcap policy mute 2h")
        await eventually(lambda: any("mute for 2h" in t for t in _texts(sim, chat_id)))
        muted = sim.post(chat_id, group.members[2].id, text=PROMOS[0])
        await eventually(lambda: sim.member_status(chat_id, group.members[2].id) == "restricted")
        await eventually(lambda: any("muted for a while" in t for t in _texts(sim, chat_id)))
    visible = {m["message_id"] for m in sim.history(chat_id)}
    assert first["message_id"] in visible and warned["message_id"] in visible
    assert muted["message_id"] not in visible
    assert sim.member_status(chat_id, group.members[1].id) == "member"


async def test_the_ops_chat_gets_one_summary_not_an_alert_per_removal(
    group: Group, sqlite_url: str
) -> None:
    sim, chat_id = group.sim, group.chat_id
    ops = sim.create_group(title="Mods", creator_id=group.owner.id)
    sim.add_bot(ops, group.bot.id, admin=True)
    newcomers = [sim.create_user(first_name=f"New{i}", language_code="en") for i in range(3)]
    settings = settings_for(sim, group.bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim) as app:
        for newcomer in newcomers:
            sim.join(chat_id, newcomer.id)
            sim.post(chat_id, newcomer.id, text=PROMOS[0])
        await eventually(lambda: _texts(sim, chat_id).count(NEW_MEMBER) == 3)
        (tick,) = next(f for f in app.features if f.name == "adcap").ticks
        assert tick.every == timedelta(minutes=10)
        told = len(_texts(sim, ops))
        await tick.job()
        await tick.job()  # nothing new since: nothing sent
        await eventually(lambda: len(_texts(sim, ops)) > told)
    summaries = [t for t in _texts(sim, ops)[told:] if "Promotions since" in t]
    assert summaries == [
        "📣 Promotions since the last summary:\n• Makers: from new members 3 · ad share 0% of 15%"
    ]


async def test_promo_marks_a_message_and_it_counts(group: Group, sqlite_url: str) -> None:
    sim, chat_id = group.sim, group.chat_id
    async with polling_bot(settings_for(sim, group.bot, sqlite_url), sim):
        await _chat(group, chat_lines(9))
        sneaky = sim.post(chat_id, group.members[0].id, text="my cousin's shop has nice shoes")
        sim.post(chat_id, group.owner.id, text="/promo")
        await eventually(lambda: any("Use: /promo" in t for t in _texts(sim, chat_id)))
        sim.post(chat_id, group.owner.id, text="/promo", reply_to=sneaky["message_id"])
        await eventually(lambda: any("Marked as a promotion" in t for t in _texts(sim, chat_id)))
        sim.post(chat_id, group.owner.id, text="/adcap")
        await eventually(lambda: any("Ad share" in t for t in _texts(sim, chat_id)))
    report = next(t for t in _texts(sim, chat_id) if "Ad share" in t)
    assert "(1 of 10 messages)" in report
