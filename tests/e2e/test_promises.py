"""What README and DESIGN promise, checked through the simulator: what the bot sent, what the
database holds. Nothing here looks at the intake's insides, so the tests outlive its rewrites."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.domain.events import EventKind
from bot.domain.rights import Gap
from bot.services.ops_notices import MISSING_RIGHTS
from handlers import render
from simulator import BotAccount, FaultKind, Simulator
from storage.engine import create_engine
from storage.models import events_table, members_table
from tests.e2e.conftest import Community, count_events, eventually, polling_bot, settings_for
from tests.fakes import FakeClock

HELD = "no answer (injected timeout)"  # how the simulator records a getUpdates it holds


def _replies(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


def _stats_reports(sim: Simulator, chat_id: int) -> int:
    return sum("📊" in text for text in _replies(sim, chat_id))


async def test_a_channel_posting_in_the_group_is_not_an_admin(
    community: Community, sqlite_url: str
) -> None:
    sim, group = community.sim, community.group
    channel = sim.create_channel(title="Outside news")
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post_from_channel(group, channel, text="/stats")
        await eventually(lambda: any("only the group's admins" in t for t in _replies(sim, group)))
    assert _stats_reports(sim, group) == 0


async def test_a_promotion_reaches_the_admin_cache_before_it_expires(
    community: Community, sqlite_url: str
) -> None:
    sim, group = community.sim, community.group
    member = community.members[0]
    sim.join(group, member.id)
    clock = FakeClock()  # stands still: only the chat_member update can refresh the cache
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim, clock):
        sim.post(group, member.id, text="/stats")
        await eventually(lambda: any("only the group's admins" in t for t in _replies(sim, group)))
        sim.promote(group, member.id)
        await eventually(lambda: sim.updates_pending(community.bot.id) == 0)
        sim.post(group, member.id, text="/stats")
        await eventually(lambda: _stats_reports(sim, group) == 1)


async def test_forgetme_in_a_group_points_to_the_private_chat_and_erases_nothing(
    community: Community, sqlite_url: str
) -> None:
    sim, group = community.sim, community.group
    member = community.members[0]
    sim.join(group, member.id)
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post(group, member.id, text="hello")
        asked = sim.post(group, member.id, text="/forgetme")
        await eventually(lambda: any("private chat" in t for t in _replies(sim, group)))
    pointer = next(m for m in sim.sent(group) if "private chat" in m.get("text", ""))
    assert "/forgetme" in pointer["text"]
    assert pointer["reply_to_message"]["message_id"] == asked["message_id"]
    assert sim.private_chat(community.bot.id, member.id) is None  # nothing sent in private
    # "hello" and the /forgetme itself (a command) are both kept: nothing was erased.
    assert await count_events(sqlite_url, user_id=member.id, kind=EventKind.MESSAGE.value) == 1
    assert await count_events(sqlite_url, user_id=member.id, kind=EventKind.COMMAND.value) == 1


def _bot_with_an_ops_chat(sim: Simulator, username: str, title: str) -> tuple[BotAccount, int, int]:
    """A bot that is an admin of its ops chat, and a group of `title` it is not in yet."""
    bot = sim.create_bot(username=username)
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    return bot, ops, sim.create_group(title=title, creator_id=owner.id)


async def test_rights_taken_while_running_are_reported_to_the_ops_chat(
    sim: Simulator, sqlite_url: str
) -> None:
    bot, ops, group = _bot_with_an_ops_chat(sim, "groupops_rights_bot", "Public")
    sim.add_bot(group, bot.id, admin=True)  # every right, before the bot runs
    async with polling_bot(settings_for(sim, bot, sqlite_url, ops_chat_id=ops), sim) as app:
        needed = app.rights
        # The start-up readiness note ("ready in Public") first: it may come after the bot
        # starts, and must not be taken for the note about the rights taken below.
        await eventually(lambda: any("ready" in t and "Public" in t for t in _replies(sim, ops)))
        before = len(_replies(sim, ops))
        sim.promote(group, bot.id, rights={"can_restrict_members", "can_invite_users"})
        await eventually(lambda: any("Public" in t for t in _replies(sim, ops)[before:]))
    note = next(t for t in _replies(sim, ops)[before:] if "Public" in t)
    assert "Delete messages" in note
    assert "Ban users" not in note and "Invite users" not in note  # still held
    assert ("Pin messages" in note) == (Gap.CANNOT_PIN in needed)  # asked only if a feature pins


async def test_a_refused_send_is_reported_to_the_ops_chat(sim: Simulator, sqlite_url: str) -> None:
    bot, ops, group = _bot_with_an_ops_chat(sim, "groupops_refused_bot", "Muted")
    async with polling_bot(settings_for(sim, bot, sqlite_url, ops_chat_id=ops), sim) as app:
        # Added as a plain member and muted before it can say hello: the welcome is refused.
        sim.add_bot(group, bot.id, admin=False)
        sim.restrict(group, bot.id)
        # The group by its title, not its id; the fix names the rights the features need.
        note = render.refusal(MISSING_RIGHTS, "Muted", "en", app.rights)
        await eventually(lambda: note in _replies(sim, ops))
    assert "make it an admin with these rights: “Delete messages”" in note
    assert "/help" not in note  # /help lists no rights
    refused = [c for c in sim.calls(bot.id) if c.method == "sendMessage" and c.error_code == 400]
    assert refused and all(c.params["chat_id"] == group for c in refused)
    assert _replies(sim, group) == []


async def test_polling_skips_a_malformed_update_and_goes_on(
    community: Community, sqlite_url: str
) -> None:
    sim, group = community.sim, community.group
    member = community.members[0]
    sim.join(group, member.id)
    queue = sim.bot_state(community.bot.id).queue
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post(group, member.id, text="before")
        queue.push("message", {"message_id": "not a number", "chat": "nowhere"})
        sim.post(group, member.id, text="after")
        sim.post(group, community.owner.id, text="/stats")
        await eventually(lambda: _stats_reports(sim, group) == 1)
        await eventually(lambda: sim.updates_pending(community.bot.id) == 0)
    assert await count_events(sqlite_url, user_id=member.id, kind=EventKind.MESSAGE.value) == 2


async def test_the_tick_erases_text_past_its_retention(
    community: Community, sqlite_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    clock = FakeClock(datetime.fromtimestamp(sim.now(), UTC))  # messages carry the sim's time
    settings = settings_for(sim, community.bot, sqlite_url)
    async with polling_bot(settings, sim, clock) as app:
        sim.post(group, owner.id, text="/settings text on 1")
        await eventually(lambda: any("erased after 1 days" in t for t in _replies(sim, group)))
        sim.post(group, owner.id, text="kept for a day")

        async def kept() -> bool:
            return await _stored_texts(sqlite_url, group) == ["kept for a day"]

        await eventually(kept)
        (sweep,) = [t for f in app.features for t in f.ticks if t.name == "text-retention"]
        assert sweep.every == timedelta(minutes=settings.text_retention_sweep_minutes)
        await sweep.job()
        assert await _stored_texts(sqlite_url, group) == ["kept for a day"]  # not yet a day old
        clock.advance(timedelta(days=2).total_seconds())
        await sweep.job()
        assert await _stored_texts(sqlite_url, group) == []


async def _stored_texts(db_url: str, chat_id: int) -> list[str]:
    e = events_table.c
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            query = select(e.text).where(e.chat_id == chat_id, e.text.is_not(None))
            return list((await connection.execute(query)).scalars())
    finally:
        await engine.dispose()


async def test_a_batch_redelivered_after_a_crash_acts_and_counts_once(
    community: Community, db_url: str
) -> None:
    """The crash falls between the commit and Telegram's confirmation, so Telegram really
    sends the batch again: the command in it is answered once, its messages counted once."""
    sim, group, owner = community.sim, community.group, community.owner
    bot = community.bot.id
    members = community.members
    for member in members:
        sim.join(group, member.id)
    settings = settings_for(sim, community.bot, db_url)
    async with polling_bot(settings, sim):
        sim.inject_fault("getUpdates", FaultKind.TIMEOUT, bot_id=bot)  # the confirming poll
        for i in range(10):
            sim.post(group, members[i % len(members)].id, text=f"message {i}")
        sim.post(group, owner.id, text="/stats")
        await eventually(lambda: any(c.description == HELD for c in sim.calls(bot)))
        await eventually(lambda: _stats_reports(sim, group) == 1)
        # The shutdown's own confirmation is lost too: the process is as good as dead.
        sim.inject_fault("getUpdates", FaultKind.DROP, bot_id=bot)
    assert await count_events(db_url, kind=EventKind.MESSAGE.value) == 10
    assert await count_events(db_url, kind=EventKind.COMMAND.value) == 1
    assert sim.updates_pending(bot) >= 11  # committed, never confirmed: Telegram sends it again

    async with polling_bot(settings, sim):
        await eventually(lambda: sim.updates_pending(bot) == 0)
        sim.post(group, owner.id, text="/stats")  # a new command is answered as usual
        await eventually(lambda: _stats_reports(sim, group) == 2)
    assert _stats_reports(sim, group) == 2  # the redelivered /stats was not answered again
    assert await count_events(db_url, kind=EventKind.MESSAGE.value) == 10
    assert await count_events(db_url, kind=EventKind.COMMAND.value) == 2  # the two /stats
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            counted = await connection.execute(
                select(func.sum(members_table.c.message_count)).where(
                    members_table.c.chat_id == group
                )
            )
            assert counted.scalar_one() == 10
    finally:
        await engine.dispose()
