"""Recognition through the simulator, on SQLite and PostgreSQL: points (a flood earns one),
/rank, /leaderboard, personal invite links credited once and only for newcomers who stay and
post, and /optout leaving no row that names the member.

The bot's clock is a `FakeClock` the test moves (seven days for an invite to count); the
credit and badge ticks are run directly after each move.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import GroupOps
from bot.domain.recognition import Badge
from bot.services.recognition import RecognitionService
from simulator import BotAccount, Simulator, UserAccount
from storage.engine import create_engine
from storage.models import Base, point_awards_table
from tests.e2e.conftest import eventually, polling_bot, settings_for
from tests.fakes import FakeClock


@dataclass
class Group:
    sim: Simulator
    bot: BotAccount
    owner: UserAccount  # the group's creator: an admin
    alice: UserAccount
    bob: UserAccount
    group: int


@pytest.fixture
def g(sim: Simulator) -> Group:
    owner = sim.create_user(first_name="Olga", username="olga", language_code="en")
    alice = sim.create_user(first_name="Alice", username="alice", language_code="en")
    bob = sim.create_user(first_name="Bob", username="bob", language_code="en")
    group = sim.create_group(title="Makers", creator_id=owner.id)
    bot = sim.create_bot(username="groupops_points_bot", can_read_all_group_messages=True)
    sim.add_bot(group, bot.id, admin=True)
    return Group(sim, bot, owner, alice, bob, group)


def _clock(g: Group) -> FakeClock:
    return FakeClock(datetime.fromtimestamp(int(g.sim.now()), UTC))


def _service(app: GroupOps) -> RecognitionService:
    service = app.services["recognition"]
    assert isinstance(service, RecognitionService)
    return service


async def _reply(sim: Simulator, chat_id: int, needle: str, after: int = 0) -> str:
    """The text of the bot's latest message in the chat containing `needle`."""

    def found() -> list[str]:
        return [m.get("text", "") for m in sim.sent(chat_id)[after:] if needle in m.get("text", "")]

    await eventually(lambda: bool(found()))
    return found()[-1]


async def _edited(sim: Simulator, chat_id: int, message_id: int, needle: str) -> None:
    """Wait until the bot's message reads `needle` (it edits its question into the answer)."""

    def text() -> str:
        shown = [m for m in sim.history(chat_id) if m["message_id"] == message_id]
        return str(shown[0].get("text", "")) if shown else ""

    await eventually(lambda: needle in text())


async def _stored(app: GroupOps, chat_id: int, message: dict[str, Any]) -> None:
    """Wait until a message's event is stored (a reaction to it can then be credited)."""
    key = f"m:{chat_id}:{message['message_id']}"

    async def stored() -> bool:
        async with app.uow_factory() as uow:
            return bool(await uow.events.recorded([key]))

    await eventually(stored)


async def _awards(db_url: str, user_id: int) -> int:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(point_awards_table.c.message_id).where(
                    point_awards_table.c.user_id == user_id
                )
            )
            return len(rows.all())
    finally:
        await engine.dispose()


async def test_points_rank_and_leaderboard(g: Group, db_url: str) -> None:
    sim = g.sim
    clock = _clock(g)
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, clock) as app:
        sim.join(g.group, g.alice.id)
        sim.join(g.group, g.bob.id)
        # Alice floods: 30 messages within a few seconds earn one point.
        for i in range(30):
            sim.post(g.group, g.alice.id, text=f"spam {i}")
        said = sim.post(g.group, g.bob.id, text="I made a lamp from a jar")
        # Reactions are credited to a stored message's author: let the message be judged and
        # stored first (one that raced ahead of its message would count for no one).
        await _stored(app, g.group, said)
        sim.react(g.group, said["message_id"], g.alice.id, ["🔥"])
        sim.react(g.group, said["message_id"], g.owner.id, ["👍"])
        sim.post(g.group, g.bob.id, text="👋", kind="sticker")  # stickers earn nothing
        await eventually(lambda: app.pipeline.metrics.judged >= 32)
        await app.intake.durable()
        await eventually(lambda: _service(app).metrics.awarded >= 2)
        assert await _awards(db_url, g.alice.id) == 1
        assert await _awards(db_url, g.bob.id) == 1

        # A minute later Alice earns again.
        sim.advance(61)
        sim.post(g.group, g.alice.id, text="a real message")
        await eventually(lambda: _service(app).metrics.awarded >= 3)

        sim.post(g.group, g.bob.id, text="/rank")
        text = await _reply(sim, g.group, "Your standing")
        # Bob: 1 message point + 2 reactions received = 3; Alice: 2.
        assert "All time: #1 of 2 · 3 points" in text
        assert "From 1 messages, 0 answers and 2 reactions." in text

        sim.post(g.group, g.alice.id, text="/leaderboard")
        board = await _reply(sim, g.group, "🏆 All time")
        assert "🏆 Last 7 days\n1. Bob — 3\n2. Alice — 2" in board
        assert "@" not in board  # no handles: a board pings no one

        sim.post(g.group, g.owner.id, text="/rank")
        assert "no points in Makers yet" in await _reply(sim, g.group, "no points")
        # Bad arguments get the right form.
        sim.post(g.group, g.alice.id, text="/leaderboard forever")
        assert "Use: /leaderboard [week|all]" in await _reply(sim, g.group, "Choose week or all")
        sim.post(g.group, g.alice.id, text="/rank me please")
        assert "Use: /rank" in await _reply(sim, g.group, "takes no words")
        # The group's /health has recognition's line.
        sim.post(g.group, g.owner.id, text="/health")
        health = await _reply(sim, g.group, "Members with points")
        assert "Members with points in the last 7 days: 2 · badges to announce: 0" in health
        # An admin posting as the group has no standing of their own.
        sim.post_as_chat(g.group, text="/rank")
        assert "Post as yourself" in await _reply(sim, g.group, "cannot tell who you are")


async def test_answering_a_question_earns_points_and_a_badge(g: Group, db_url: str) -> None:
    sim = g.sim
    clock = _clock(g)
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, clock) as app:
        sim.join(g.group, g.alice.id)
        sim.join(g.group, g.bob.id)
        question = sim.post(g.group, g.bob.id, text="How do I reset my password on the app?")

        async def asked() -> bool:
            async with app.uow_factory() as uow:
                return await uow.handoff.get(g.group, question["message_id"]) is not None

        await eventually(asked)
        sim.post(
            g.group,
            g.alice.id,
            text="Open settings, then tap 'Forgot password' and follow the email.",
            reply_to=question["message_id"],
        )

        async def answered() -> bool:
            async with app.uow_factory() as uow:
                return (await uow.recognition.answers(g.group, None)).get(g.alice.id) == 1

        await eventually(answered)
        service = _service(app)
        # Badges are announced in the group's daytime (UTC here): move to the next noon.
        now = clock.now()
        noon = now.replace(hour=12, minute=0, second=0) + timedelta(days=1)
        clock.advance((noon - now).total_seconds())
        assert await service.award_badges() == 1
        assert await service.award_badges() == 0  # held badges are not given again
        assert await service.announce_badges() == 1
        announced = await _reply(sim, g.group, "New badges")
        assert "• Alice — 💡 First answer" in announced
        # At most one announcement a day: a new badge waits for tomorrow's.
        async with app.uow_factory() as uow:
            await uow.recognition.add_badges(g.group, [(g.bob.id, Badge.STREAK)], clock.now())
            await uow.commit()
        assert await service.announce_badges() == 0
        clock.advance(timedelta(days=1).total_seconds())
        assert await service.announce_badges() == 1
        assert "• Bob — 🔥 7-day streak" in await _reply(sim, g.group, "Bob — 🔥")

        sim.post(g.group, g.alice.id, text="/rank")
        text = await _reply(sim, g.group, "Your standing")
        assert "1 answers" in text and "Badges: 💡 First answer" in text


async def test_invite_credit_once_and_only_for_newcomers_who_stay_and_post(
    g: Group, db_url: str
) -> None:
    sim = g.sim
    clock = _clock(g)
    stays, leaves, silent = (
        sim.create_user(first_name=name, language_code="en") for name in ("Cleo", "Dan", "Eve")
    )
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, clock) as app:
        sim.join(g.group, g.alice.id)
        sim.post(g.group, g.alice.id, text="/invite")
        text = await _reply(sim, g.group, "Your personal invite link")
        link = next(word for word in text.split() if word.startswith("https://t.me/+"))
        # Asked again, the same link: one per member.
        sim.post(g.group, g.alice.id, text="/invite")
        await eventually(lambda: len([m for m in sim.sent(g.group) if link in m["text"]]) == 2)
        assert sum(c.method == "createChatInviteLink" for c in sim.calls()) == 1

        for user in (stays, leaves, silent):
            sim.join(g.group, user.id, invite_link=link)
        sim.join(g.group, g.bob.id)  # not through the link
        sim.post(g.group, stays.id, text="hello all, glad to be here")
        sim.post(g.group, leaves.id, text="hi")
        sim.leave(g.group, leaves.id)

        async def recorded() -> bool:
            async with app.uow_factory() as uow:
                joined = await uow.recognition.invitees(g.group)
            return sorted((i.user_id, i.present, i.messages) for i in joined) == sorted(
                [(stays.id, True, 1), (leaves.id, False, 1), (silent.id, True, 0)]
            )

        await eventually(recorded)
        service = _service(app)
        assert await service.credit_invites() == 0  # nobody has stayed 7 days yet
        clock.advance(timedelta(days=7, minutes=-1).total_seconds())
        assert await service.credit_invites() == 0  # not quite 7 days
        clock.advance(timedelta(minutes=5).total_seconds())
        assert await service.credit_invites() == 1  # only the one who stayed and posted
        assert await service.credit_invites() == 0  # once

        # Leaving and coming back through the link again credits no one a second time.
        sim.leave(g.group, stays.id)
        sim.join(g.group, stays.id, invite_link=link)
        sim.post(g.group, stays.id, text="back again")
        await app.intake.durable()
        clock.advance(timedelta(days=8).total_seconds())
        assert await service.credit_invites() == 0

        sent = len(sim.sent(g.group))
        sim.post(g.group, g.alice.id, text="/invites")
        mine = await _reply(sim, g.group, "Your invite link", after=sent)
        assert "Joined: 3 · counted: 1 · waiting: 1 · left: 1" in mine
        assert "Top inviters" not in mine  # operators only
        sim.post(g.group, g.owner.id, text="/invites")
        top = await _reply(sim, g.group, "Top inviters")
        assert "1. Alice — 1" in top
        sent = len(sim.sent(g.group))
        sim.post_as_chat(g.group, text="/invites")  # an anonymous admin: the top inviters only
        top = await _reply(sim, g.group, "Top inviters", after=sent)
        assert "1. Alice — 1" in top and "Your invite link" not in top
        sim.post(g.group, g.bob.id, text="/invites now")
        assert "Use: /invites" in await _reply(sim, g.group, "takes no words")


async def test_invite_refused_without_the_right(sim: Simulator, db_url: str) -> None:
    owner = sim.create_user(first_name="Olga", language_code="en")
    alice = sim.create_user(first_name="Alice", language_code="en")
    group = sim.create_group(title="Makers", creator_id=owner.id)
    bot = sim.create_bot(username="groupops_noinvite_bot", can_read_all_group_messages=True)
    sim.add_bot(
        group, bot.id, rights=["can_delete_messages", "can_restrict_members", "can_pin_messages"]
    )
    sim.join(group, alice.id)
    async with polling_bot(settings_for(sim, bot, db_url), sim):
        sim.post(group, alice.id, text="/invite")
        assert "invite users via link" in await _reply(sim, group, "I need the admin right")


# --- opting out ----------------------------------------------------------------------------------


async def _rows_naming(db_url: str, user: UserAccount) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the metadata that holds the user's id, name or handle."""
    marks = {str(user.id), user.first_name}
    if user.username:
        marks.add(user.username)
    engine = create_engine(db_url)
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        async with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                for row in (await connection.execute(select(table))).mappings():
                    if any(_names(value, user.id, marks) for value in row.values()):
                        found.setdefault(table.name, []).append(dict(row))
    finally:
        await engine.dispose()
    return found


def _names(value: object, user_id: int, marks: set[str]) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, datetime | date):
        return False
    if isinstance(value, int):
        return value == user_id
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return any(mark in text for mark in marks)


async def test_an_opted_out_member_leaves_no_row_that_names_them(g: Group, db_url: str) -> None:
    sim = g.sim
    clock = _clock(g)
    shy = sim.create_user(first_name="Quinn", username="quinn_shy", language_code="en")
    newcomer = sim.create_user(first_name="Nia", language_code="en")
    async with polling_bot(settings_for(sim, g.bot, db_url), sim, clock) as app:
        sim.join(g.group, g.alice.id)
        sim.post(g.group, g.alice.id, text="/invite")
        text = await _reply(sim, g.group, "Your personal invite link")
        alice_link = next(word for word in text.split() if word.startswith("https://t.me/+"))
        # Before opting out Quinn joins by Alice's link, posts, replies, reacts, is replied to
        # and reacted to, answers a question, gets a link of their own that brings someone in,
        # and asks for /rank.
        sim.join(g.group, shy.id, invite_link=alice_link)
        said = sim.post(g.group, shy.id, text="hello, I build kites")
        await _stored(app, g.group, said)
        sim.post(g.group, g.alice.id, text="nice kites!", reply_to=said["message_id"])
        sim.react(g.group, said["message_id"], g.alice.id, ["❤"])
        hers = sim.post(g.group, g.alice.id, text="anyone flying this weekend")
        await _stored(app, g.group, hers)
        sim.post(g.group, shy.id, text="me, on Saturday", reply_to=hers["message_id"])
        sim.react(g.group, hers["message_id"], shy.id, ["👍"])
        # …and answers Bob's question (the hand-off records who answered).
        sim.join(g.group, g.bob.id)
        question = sim.post(g.group, g.bob.id, text="How do I reset my password on the app?")

        async def asked() -> bool:
            async with app.uow_factory() as uow:
                return await uow.handoff.get(g.group, question["message_id"]) is not None

        await eventually(asked)
        sim.post(
            g.group,
            shy.id,
            text="Open settings, then tap 'Forgot password' and follow the email.",
            reply_to=question["message_id"],
        )

        async def answered() -> bool:
            async with app.uow_factory() as uow:
                return (await uow.recognition.answers(g.group, None)).get(shy.id) == 1

        await eventually(answered)
        sent = len(sim.sent(g.group))
        sim.post(g.group, shy.id, text="/invite")
        text = await _reply(sim, g.group, "Your personal invite link", after=sent)
        shy_link = next(word for word in text.split() if word.startswith("https://t.me/+"))
        assert shy_link != alice_link
        sim.join(g.group, newcomer.id, invite_link=shy_link)
        sim.post(g.group, shy.id, text="/rank")
        await _reply(sim, g.group, "Your standing")
        await app.intake.durable()
        await eventually(lambda: _service(app).metrics.awarded >= 2)
        assert await _rows_naming(db_url, shy)  # recorded, as for any member

        # /optout in the group points to the private chat; there it asks which group.
        sim.post(g.group, shy.id, text="/optout")
        await _reply(sim, g.group, "works in a private chat")
        pointer = next(m for m in reversed(sim.sent(g.group)) if "private chat" in m["text"])
        button = pointer["reply_markup"]["inline_keyboard"][0][0]
        assert button["url"] == "https://t.me/groupops_points_bot"
        sim.start_private(shy.id, text="/optout")
        await _reply(sim, shy.id, "Choose the group")
        asked = next(m for m in reversed(sim.sent(shy.id)) if "reply_markup" in m)
        query = sim.press_button(shy.id, asked["message_id"], shy.id, data=f"rc:out:{g.group}")
        await eventually(lambda: sim.callback_answer(query) is not None)
        await _edited(
            sim, shy.id, asked["message_id"], "I no longer record your activity in Makers"
        )

        # Afterwards Quinn goes on taking part; others reply to them and react.
        later = sim.post(g.group, shy.id, text="kites again")
        await _stored(app, g.group, later)
        sim.post(g.group, g.alice.id, text="love it", reply_to=later["message_id"])
        sim.react(g.group, later["message_id"], g.alice.id, ["🔥"])
        sim.react(g.group, hers["message_id"], shy.id, ["🔥"])
        sim.post(g.group, shy.id, text="/rank")
        assert "opted out" in await _reply(sim, g.group, "no standing here")
        sim.post(g.group, shy.id, text="/invite")
        await _reply(sim, g.group, "joins cannot be credited to you")
        await app.intake.durable()
        await eventually(lambda: app.applier.waiting == 0)
        await _service(app).award_badges()
        clock.advance(timedelta(days=8).total_seconds())
        await _service(app).credit_invites()

        left = await _rows_naming(db_url, shy)
        # The one row that names them is their instruction, and it holds nothing else.
        (instruction,) = left.pop("recognition_opt_outs")
        assert set(instruction) == {"chat_id", "user_id", "since"}
        assert (instruction["chat_id"], instruction["user_id"]) == (g.group, shy.id)
        assert left == {}
        # They still count in the group's totals: every message is there, without a name.
        sim.post(g.group, g.alice.id, text="/leaderboard")
        assert "Quinn" not in await _reply(sim, g.group, "🏆 All time")

        # /optin undoes it: from now on their activity counts for them again.
        sim.start_private(shy.id, text="/optin")
        await _reply(sim, shy.id, "should count for you again")
        asked = next(m for m in reversed(sim.sent(shy.id)) if "reply_markup" in m)
        sim.press_button(shy.id, asked["message_id"], shy.id, data=f"rc:in:{g.group}")
        await _edited(sim, shy.id, asked["message_id"], "counts for you again")
        sim.advance(61)  # past the cooldown of their last point
        sim.post(g.group, shy.id, text="back in the game")
        await app.intake.durable()

        async def earned_again() -> bool:
            return await _awards(db_url, shy.id) == 1

        await eventually(earned_again)
