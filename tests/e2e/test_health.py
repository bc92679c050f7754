"""/health: a group's admins read that group's figures in plain words; the whole bot's counters
go only to the ops chat (a group, or an operator's private chat), through the simulator."""

from __future__ import annotations

from simulator import Simulator
from tests.e2e.conftest import Community, count_events, eventually, polling_bot, settings_for

WHOLE_BOT = "🩺 Ingest:"  # the whole bot's counters begin so
GROUP_REPORT = "🩺 How groupops is doing in this group"


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


def _report(sim: Simulator, chat_id: int, head: str) -> str:
    return next(t for t in _texts(sim, chat_id) if t.startswith(head))


async def test_a_group_reads_its_own_figures_not_another_groups(
    community: Community, db_url: str
) -> None:
    sim, busy, owner = community.sim, community.group, community.owner
    quiet = sim.create_group(title="Quiet", creator_id=owner.id)
    sim.add_bot(quiet, community.bot.id, admin=True)
    member = community.members[0]
    for group in (busy, quiet):
        sim.join(group, member.id)
    async with polling_bot(settings_for(sim, community.bot, db_url), sim):
        for n in range(5):
            sim.post(busy, member.id, text=f"busy chat {n}")
        sim.post(quiet, member.id, text="the one message here")

        async def written() -> bool:
            return await count_events(db_url, kind="message") == 6

        await eventually(written)
        sim.post(quiet, owner.id, text="/health")
        await eventually(lambda: any(t.startswith(GROUP_REPORT) for t in _texts(sim, quiet)))
        sim.post(busy, owner.id, text="/health")
        await eventually(lambda: any(t.startswith(GROUP_REPORT) for t in _texts(sim, busy)))
    here = _report(sim, quiet, GROUP_REPORT)
    assert "Messages recorded: 1 today · 1 in the last 7 days" in here
    assert "Messages recorded: 5 today · 5 in the last 7 days" in _report(sim, busy, GROUP_REPORT)
    assert "Replies waiting to be sent here: none" in here
    assert "Messages waiting for their checks: none" in here
    assert "Admin rights: I have everything I need here." in here
    # Each feature's own line about this group: its ad share, its questions.
    assert "Ad share:" in here
    assert "Questions waiting for an answer: 0 (0 with the moderators)" in here
    # No whole-bot counters in a community.
    assert "Ingest" not in here and "Delivery" not in here and "updates" not in here
    assert all(not t.startswith(WHOLE_BOT) for c in (busy, quiet) for t in _texts(sim, c))


async def test_a_member_is_told_it_is_for_admins(community: Community, sqlite_url: str) -> None:
    sim, group = community.sim, community.group
    member = community.members[0]
    sim.join(group, member.id)
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post(group, member.id, text="/health")
        await eventually(lambda: any("only the group's admins" in t for t in _texts(sim, group)))
    assert not any("🩺" in t for t in _texts(sim, group))


async def test_what_the_bot_lacks_in_the_group_is_in_its_report(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_lacking_bot")  # privacy mode on
    owner = sim.create_user(first_name="Owner", language_code="en")
    group = sim.create_group(title="Plain", creator_id=owner.id)
    sim.add_bot(group, bot.id, admin=False)
    async with polling_bot(settings_for(sim, bot, sqlite_url), sim):
        sim.post(group, owner.id, text="/health")
        await eventually(lambda: any(t.startswith(GROUP_REPORT) for t in _texts(sim, group)))
    report = _report(sim, group, GROUP_REPORT)
    assert "I need a hand here:" in report
    assert "I am not an admin here" in report and "Privacy mode is on" in report


async def test_the_ops_chat_reads_the_whole_bots_counters(
    community: Community, sqlite_url: str
) -> None:
    sim, owner = community.sim, community.owner
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    moderator = sim.create_user(first_name="Mod", language_code="en")
    sim.join(ops, moderator.id)
    sim.add_bot(ops, community.bot.id, admin=True)
    settings = settings_for(sim, community.bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.post(ops, moderator.id, text="/health")  # a moderator there, not its admin
        await eventually(lambda: any(t.startswith(WHOLE_BOT) for t in _texts(sim, ops)))
    report = _report(sim, ops, WHOLE_BOT)
    assert "📤 Delivery: queued" in report and "👀 Watchers:" in report
    assert not any(t.startswith(GROUP_REPORT) for t in _texts(sim, ops))


async def test_an_ops_chat_that_is_an_operators_private_chat(
    community: Community, sqlite_url: str
) -> None:
    sim, bot, owner = community.sim, community.bot, community.owner
    stranger = community.members[1]
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=owner.id)
    async with polling_bot(settings, sim):
        sim.start_private(owner.id, text="/health")
        sim.start_private(stranger.id, text="/health")

        def answered() -> bool:
            chats = [sim.private_chat(bot.id, user.id) for user in (owner, stranger)]
            return all(chat is not None and _texts(sim, chat.id) for chat in chats)

        await eventually(answered)
    ops_chat, other = (sim.private_chat(bot.id, user.id) for user in (owner, stranger))
    assert ops_chat is not None and other is not None
    assert any(t.startswith(WHOLE_BOT) for t in _texts(sim, ops_chat.id))
    # Anyone else's private chat hears what the bot does in private, not the counters.
    assert _texts(sim, other.id) and not any("🩺" in t for t in _texts(sim, other.id))


async def test_the_group_report_in_russian(sim: Simulator, sqlite_url: str) -> None:
    bot = sim.create_bot(username="groupops_ru_health_bot")
    owner = sim.create_user(first_name="Ольга", language_code="ru")
    group = sim.create_group(title="Клуб", creator_id=owner.id)
    sim.add_bot(group, bot.id, admin=True)
    async with polling_bot(settings_for(sim, bot, sqlite_url), sim):
        sim.post(group, owner.id, text="/health")
        await eventually(lambda: any("🩺" in t for t in _texts(sim, group)))
    report = next(t for t in _texts(sim, group) if "🩺" in t)
    assert report.startswith("🩺 Как groupops работает в этой группе")
    assert "Записано сообщений: 0 сегодня" in report
    assert "Вопросов ждут ответа: 0" in report
