"""/stats, the webhook and bad input, through the simulator over HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import aiohttp

from bot.app import GroupOps
from bot.domain.rights import Gap
from simulator import Simulator
from tests.e2e.conftest import Community, count_events, eventually, polling_bot, settings_for


def _replies(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


async def test_stats_for_admins_and_a_polite_no_for_others(
    community: Community, db_url: str
) -> None:
    sim, group = community.sim, community.group
    member = community.members[0]
    async with polling_bot(settings_for(sim, community.bot, db_url), sim):
        sim.join(group, member.id)
        for text in ("one", "two", "three"):
            sim.post(group, member.id, text=text)
        asked = sim.post(group, member.id, text="/stats")
        await eventually(lambda: any("only the group's admins" in t for t in _replies(sim, group)))
        sim.post(group, community.owner.id, text="/stats")
        await eventually(lambda: any("📊" in t for t in _replies(sim, group)))
        sim.post(group, community.owner.id, text="/stats please")
        await eventually(lambda: any("is not a period" in t for t in _replies(sim, group)))
    report = next(t for t in _replies(sim, group) if "📊" in t)
    # The 3 messages; the two /stats talk to the bot, so they are no messages and make the
    # owner, who only asked, no active member.
    assert "Today — messages: 3 · active members: 1 · new members: 1" in report
    refusal = next(m for m in sim.sent(group) if "only the group's admins" in m.get("text", ""))
    assert refusal["reply_to_message"]["message_id"] == asked["message_id"]
    assert "Use: /stats [7d|30d|90d]" in next(t for t in _replies(sim, group) if "a period" in t)


async def test_stats_in_chinese_for_a_chinese_speaking_admin(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_zh_bot")
    owner = sim.create_user(first_name="李雷", language_code="zh-hans")
    group = sim.create_group(title="创客", creator_id=owner.id)
    sim.add_bot(group, bot.id, admin=True)
    async with polling_bot(settings_for(sim, bot, sqlite_url), sim):
        sim.post(group, owner.id, text="/stats")
        await eventually(lambda: any("📊" in t for t in _replies(sim, group)))
    assert any("本群活跃度" in t and "今天" in t for t in _replies(sim, group))


async def test_an_anonymous_admin_gets_stats(community: Community, sqlite_url: str) -> None:
    sim, group = community.sim, community.group
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.post_as_chat(group, text="/stats")
        await eventually(lambda: any("📊" in t for t in _replies(sim, group)))


async def test_missing_rights_are_reported_to_the_ops_chat(sim: Simulator, sqlite_url: str) -> None:
    bot = sim.create_bot(username="groupops_ops_bot")
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="Public", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    async with polling_bot(settings_for(sim, bot, sqlite_url, ops_chat_id=ops), sim) as app:
        # An admin with only the rights no feature uses today.
        sim.add_bot(group, bot.id, admin=True, rights={"can_pin_messages", "can_invite_users"})
        await eventually(lambda: any("Public" in t for t in _replies(sim, ops)))
        needed = app.readiness.needed
    note = next(t for t in _replies(sim, ops) if "Public" in t)
    # Asked for exactly what the composed features declare (the ad-share cap deletes promos),
    # not for a right no feature uses.
    assert Gap.CANNOT_DELETE in needed
    assert "Delete messages" in note
    assert ("Ban users" in note) == (Gap.CANNOT_RESTRICT in needed)
    # Pinning and invite links were granted: never asked for, whether a feature needs them or not.
    assert "Pin messages" not in note and "Invite users" not in note
    assert any("I record who posts" in t for t in _replies(sim, group))  # the join notice


async def test_start_up_reports_gaps_in_known_groups(sim: Simulator, sqlite_url: str) -> None:
    bot = sim.create_bot(username="groupops_boot_bot")
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="Known", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.add_bot(group, bot.id, admin=True)  # all rights: nothing to report
        sim.post(group, owner.id, text="hello")  # the group is now recorded

        async def recorded() -> bool:
            return await count_events(sqlite_url, chat_id=group) == 1

        await eventually(recorded)
    sim.demote(group, bot.id)  # while the bot was down
    before = len(_replies(sim, ops))
    async with polling_bot(settings, sim):
        await eventually(lambda: len(_replies(sim, ops)) > before)
    note = _replies(sim, ops)[before]
    assert "Known" in note and "not an admin" in note


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_webhook_records_updates_and_rejects_strangers(
    community: Community, db_url: str
) -> None:
    sim, group = community.sim, community.group
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram/webhook"
    settings = settings_for(
        sim,
        community.bot,
        db_url,
        webhook_url=url,
        webhook_secret="s3cret-Token",
        webhook_port=port,
    )
    app = GroupOps(settings)
    await app.start()
    stopping = asyncio.Event()
    serving = asyncio.create_task(app.run_webhook(stopping))
    try:
        await eventually(lambda: sim.bot_state(community.bot.id).queue.wants("chat_member"))
        member = community.members[1]
        sim.join(group, member.id)
        sim.post(group, member.id, text="hello over the webhook")

        async def arrived() -> bool:
            return await count_events(db_url) >= 2

        await eventually(arrived)
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json={"update_id": 1}) as no_secret:
                assert no_secret.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token"}
            async with http.post(url, data=b"not json", headers=headers) as garbage:
                assert garbage.status == 200  # never readable: Telegram must not resend it
            malformed = {"update_id": 5, "message": {"message_id": "x"}}
            async with http.post(url, json=malformed, headers=headers) as skipped:
                assert skipped.status == 200  # logged and skipped: Telegram must not resend it
        assert app.intake.skipped == 2
        sim.post(group, member.id, text="still listening")

        async def after() -> bool:
            return await count_events(db_url, kind="message") == 2

        await eventually(after)
    finally:
        stopping.set()
        await serving
        await app.stop()


async def test_health_in_the_ops_chat_shows_ingest_and_delivery(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_counters_bot")
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    async with polling_bot(settings_for(sim, bot, sqlite_url, ops_chat_id=ops), sim):
        sim.post(ops, owner.id, text="/health")
        await eventually(lambda: any("🩺" in t for t in _replies(sim, ops)))
    report = next(t for t in _replies(sim, ops) if "🩺" in t)
    # The bot joining, its service message and the command itself.
    assert "Ingest: 3 updates, 0 skipped" in report
    assert "📤 Delivery: queued 0, sent " in report and "failed 0" in report


async def test_help_and_the_command_menus(community: Community, sqlite_url: str) -> None:
    sim, group = community.sim, community.group
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.join(group, community.members[0].id)
        sim.post(group, community.members[0].id, text="/help")
        await eventually(lambda: any("For admins: /stats" in t for t in _replies(sim, group)))
    menus = {
        json.loads(key)["scope"]["type"]: [c["command"] for c in commands]
        for key, commands in sim.commands(community.bot.id).items()
    }
    # Today's features first, in their order; each later feature adds its own after them.
    assert menus["all_group_chats"][:4] == ["stats", "settings", "health", "help"]
    assert {"top", "segments", "atrisk", "retention", "heatmap"} <= set(menus["all_group_chats"])
    assert menus["all_private_chats"][:3] == ["mydata", "forgetme", "help"]


async def test_a_command_redelivered_after_a_restart_is_answered_once(
    community: Community, db_url: str
) -> None:
    """Telegram sends an update again when the bot died after committing it but before
    confirming it; the second copy records nothing and must not be answered again."""
    sim, group, owner = community.sim, community.group, community.owner
    raw = {
        "update_id": 900_001,
        "message": {
            "message_id": 4_242,
            "date": int(time.time()),
            "chat": {"id": group, "type": "supergroup", "title": "Makers"},
            "from": {"id": owner.id, "is_bot": False, "first_name": "Olga"},
            "text": "/stats",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    settings = settings_for(sim, community.bot, db_url)

    def reports() -> int:
        return sum("📊" in t for t in _replies(sim, group))

    for _life in range(2):  # the first life of the bot, then the one after the crash
        async with polling_bot(settings, sim) as app:
            handlers = await app.intake.accept(raw)
            assert handlers is not None
            await handlers
            await eventually(lambda: reports() == 1)
            await app.intake.durable()
    assert reports() == 1
    assert await count_events(db_url, message_id=4_242) == 1


async def test_the_group_language_decides_the_start_up_report(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_lang_bot")
    owner = sim.create_user(first_name="Owner", language_code="en")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="创客", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.add_bot(group, bot.id, admin=True)
        sim.post(group, owner.id, text="/settings language zh")
        await eventually(
            lambda: any(
                "Language of notices to the group: 简体中文" in t for t in _replies(sim, group)
            )
        )
    sim.demote(group, bot.id)  # while the bot was down
    before = len(_replies(sim, ops))
    async with polling_bot(settings, sim):
        await eventually(lambda: len(_replies(sim, ops)) > before)
    note = _replies(sim, ops)[before]
    assert "创客" in note and "我还不是这里的管理员" in note


async def test_a_private_command_redelivered_after_a_restart_is_answered_once(
    community: Community, db_url: str
) -> None:
    """Private chats record no events: a note written before the handler runs stands in."""
    sim, owner = community.sim, community.owner
    opened = sim.start_private(owner.id, community.bot.id)  # "/start", answered in life one
    chat, message_id = opened["chat"]["id"], opened["message_id"]
    command = {"update_id": 900_101, "message": {**opened, "text": "/help"}}
    settings = settings_for(sim, community.bot, db_url)

    def answers() -> int:
        return sum(
            m.get("reply_to_message", {}).get("message_id") == message_id for m in sim.sent(chat)
        )

    for life in range(2):  # the first life of the bot, then the one after the crash
        async with polling_bot(settings, sim) as app:
            handlers = await app.intake.accept(command)
            assert handlers is not None
            await handlers
            if life == 0:
                await eventually(lambda: answers() == 2)  # /start, then the /help
    assert answers() == 2
