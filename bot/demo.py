"""`groupops demo`: the bot, the simulator and a small scripted community in one process."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path

from bot.app import GroupOps
from bot.config import Settings
from simulator import Simulator

log = logging.getLogger(__name__)

PEOPLE = (
    ("Alice", "en"),
    ("李雷", "zh-hans"),
    ("Bob", "en"),
    ("韩梅梅", "zh-hans"),
    ("Carol", "en"),
    ("Dmitri", "ru"),
)
LINES = (
    "Good morning everyone!",
    "Has anyone tried the new release?",
    "大家好，今天的活动几点开始？",
    "Here is the link to the docs: https://example.org/docs",
    "谢谢分享！",
    "I can help with that.",
    "What time is the meetup?",
    "👍",
)


# Months of a community before today, so the reports have history to read: regulars posting to
# their own rhythm, and some who drift away (the churn back-test's cases).
HISTORY_DAYS = 120
HISTORY_MEMBERS = 30
HISTORY_LINES = ("Good morning everyone!", "I can help with that.", "谢谢分享！", "👍", "Nice work")


async def run_demo(database_url: str, seconds: float = 0) -> int:
    """Play a small community through the simulator and show what groupops made of it."""
    if database_url.startswith("sqlite+aiosqlite:///./"):
        # A fresh demo each time: the file is the demo's own.
        await asyncio.to_thread(
            Path(database_url.removeprefix("sqlite+aiosqlite:///")).unlink, missing_ok=True
        )
    # The simulator's clock starts HISTORY_DAYS ago; the history moves it up to now.
    async with Simulator(clock=lambda: time.time() - HISTORY_DAYS * 86_400) as sim:
        bot = sim.create_bot(username="groupops_demo_bot", first_name="GroupOps")
        people = [sim.create_user(first_name=name, language_code=lang) for name, lang in PEOPLE]
        owner = people[0]
        group = sim.create_group(title="Demo Community", creator_id=owner.id)
        ops = sim.create_group(title="Demo Moderators", creator_id=owner.id)
        sim.add_bot(ops, bot.id, admin=False)
        settings = Settings(
            bot_token=bot.token,  # type: ignore[arg-type]
            telegram_api_base=sim.url,
            database_url=database_url,
            ops_chat_id=ops,
        )
        app = GroupOps(settings)
        identity = await app.start()
        print(f"simulator at {sim.url}; bot @{identity.username} polling; database {database_url}")
        stopping = asyncio.Event()
        polling = asyncio.create_task(app.run_polling(stopping))
        try:
            await _play(sim, group, bot.id, people)
            if seconds:
                await asyncio.sleep(seconds)
            _show(sim, group, ops)
            await _show_back_test(app, group)
        finally:
            stopping.set()
            await polling
            await app.stop()
    return 0


async def _play(sim: Simulator, group: int, bot_id: int, people: list) -> None:  # type: ignore[type-arg]
    rng = random.Random(7)
    sim.add_bot(group, bot_id, admin=True)
    await asyncio.sleep(0.3)
    await _history(sim, group, bot_id, rng)
    for person in people[1:]:
        sim.join(group, person.id, inviter_id=people[0].id)
    posted: list[int] = []
    for turn in range(40):
        author = rng.choice(people)
        reply_to = rng.choice(posted) if posted and rng.random() < 0.3 else None
        message = sim.post(group, author.id, text=rng.choice(LINES), reply_to=reply_to)
        posted.append(message["message_id"])
        if turn % 5 == 0:
            sim.react(group, message["message_id"], rng.choice(people).id, ["👍"])
        await asyncio.sleep(0.02)
    sim.edit(group, posted[0], text="Good morning everyone! (edited)")
    sim.leave(group, people[-1].id)
    sim.post(group, people[2].id, text="/stats")  # not an admin: a polite refusal
    sim.post(group, people[0].id, text="/settings timezone Asia/Shanghai")  # the owner
    sim.post(group, people[0].id, text="/settings text on forever")  # a wrong form: the right one
    sim.post(group, people[0].id, text="/stats")  # the owner: the report
    awaited = ("📊", "⚙️", "Use: /settings")  # the report, the settings, the right form
    for _ in range(200):
        said = [m.get("text", "") for m in sim.sent(group)]
        if all(any(mark in text for text in said) for mark in awaited):
            break
        await asyncio.sleep(0.05)


def _show(sim: Simulator, group: int, ops: int) -> None:
    print("\n--- what the bot said in the group ---")
    for message in sim.sent(group):
        print(message.get("text", ""))
        print()
    print("--- what the bot told the moderators ---")
    for message in sim.sent(ops):
        print(message.get("text", ""))


async def _history(sim: Simulator, group: int, bot_id: int, rng: random.Random) -> None:
    """HISTORY_DAYS days of members posting to their own rhythm, about a third of them going
    silent for good at some point and some taking a break; each day is left to the bot before
    the clock moves on."""
    members = [
        sim.create_user(first_name=f"Member {n}", language_code="en")
        for n in range(1, HISTORY_MEMBERS + 1)
    ]
    for member in members:
        sim.join(group, member.id)
    rhythm = {m.id: rng.choice((1, 2, 3, 4, 7)) for m in members}
    gone = {m.id: rng.randrange(20, HISTORY_DAYS) for m in members if rng.random() < 0.35}
    # Some take a break of one to three weeks and come back: warnings that should prove wrong.
    breaks = {m.id: rng.randrange(10, HISTORY_DAYS - 30) for m in members if rng.random() < 0.3}
    length = {member: rng.randrange(7, 22) for member in breaks}
    for day in range(HISTORY_DAYS):
        for member in members:
            if day >= gone.get(member.id, HISTORY_DAYS):
                continue
            if 0 <= day - breaks.get(member.id, HISTORY_DAYS) < length.get(member.id, 0):
                continue
            if day % rhythm[member.id] == member.id % rhythm[member.id] or rng.random() < 0.05:
                sim.post(group, member.id, text=rng.choice(HISTORY_LINES))
        for _ in range(400):  # the bot takes the day's updates before they are a day old
            if not len(sim.bots[bot_id].queue):
                break
            await asyncio.sleep(0.01)
        sim.advance(86_400)


async def _show_back_test(app: GroupOps, group: int) -> None:
    """The churn warning replayed on the demo's history: how often it was right, how early."""
    from bot.services.analytics import AnalyticsService
    from handlers.analytics import at_risk_text

    analytics = app.services["analytics"]
    assert isinstance(analytics, AnalyticsService)
    await app.recorder.durable()
    print(f"--- churn warnings and their back-test on the demo's {HISTORY_DAYS} days ---")
    print(at_risk_text(await analytics.at_risk(group), "en"))
