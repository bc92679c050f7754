"""No question waits, through the simulator with short timers, on SQLite and PostgreSQL.

The bot's clock is a `FakeClock` the test moves past each deadline; the deadline tick is run
directly after each move (the scheduler's one-second tick may run it too: runs are serialised).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import GroupOps
from bot.domain.handoff import HandoffState, Tick, step
from bot.domain.watching import Decision
from bot.ports import QuestionRecord
from bot.services.handoff import SEND_HANDOFF, HandoffService
from simulator import BotAccount, Simulator, UserAccount
from storage.engine import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import eventually, polling_bot, settings_for
from tests.fakes import FakeClock

AFTER, SLA = 60, 180  # seconds: short timers, as the issue allows
QUESTION = "How do I reset my password on the app?"


@dataclass
class Groups:
    sim: Simulator
    bot: BotAccount
    owner: UserAccount  # the group's creator: a moderator
    asker: UserAccount
    member: UserAccount
    group: int
    ops: int  # the moderators' chat (OPS_CHAT_ID)


@pytest.fixture
def groups(sim: Simulator) -> Groups:
    owner = sim.create_user(first_name="Olga", username="olga", language_code="en")
    asker = sim.create_user(first_name="Ann", username="ann", language_code="en")
    member = sim.create_user(first_name="Max", username="max", language_code="en")
    group = sim.create_group(title="Makers", creator_id=owner.id)
    ops = sim.create_group(title="Makers mods", creator_id=owner.id)
    for user in (asker, member):
        sim.join(group, user.id)
    bot = sim.create_bot(username="groupops_handoff_bot", can_read_all_group_messages=True)
    sim.add_bot(group, bot.id, admin=True)
    sim.add_bot(ops, bot.id, admin=True)
    return Groups(sim, bot, owner, asker, member, group, ops)


def _settings(g: Groups, db_url: str) -> Any:
    return settings_for(
        g.sim,
        g.bot,
        db_url,
        ops_chat_id=g.ops,
        handoff_after_seconds=AFTER,
        handoff_sla_seconds=SLA,
    )


def _service(app: GroupOps) -> HandoffService:
    service = app.services["handoff"]
    assert isinstance(service, HandoffService)
    return service


def _handoffs(sim: Simulator, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in sim.sent(chat_id) if m.get("text", "").startswith("❓ Unanswered question")]


def _escalations(sim: Simulator, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in sim.sent(chat_id) if m.get("text", "").startswith("🚨 SLA breached")]


async def _asked(g: Groups, app: GroupOps, clock: FakeClock, text: str = QUESTION) -> int:
    """The asker asks; returns the question's message id once its row is stored, with the
    bot's clock set to the time the question was sent (the simulator's clock keeps running)."""
    message = g.sim.post(g.group, g.asker.id, text=text)
    message_id = int(message["message_id"])

    async def stored() -> bool:
        async with app.uow_factory() as uow:
            return await uow.handoff.get(g.group, message_id) is not None

    await eventually(stored)
    clock.advance(message["date"] - clock.now().timestamp())
    return message_id


def _clock(g: Groups) -> FakeClock:
    """The bot's clock, at the simulator's time (whole seconds, as message dates are)."""
    return FakeClock(datetime.fromtimestamp(int(g.sim.now()), UTC))


async def _record(app: GroupOps, g: Groups, message_id: int) -> QuestionRecord | None:
    async with app.uow_factory() as uow:
        return await uow.handoff.get(g.group, message_id)


async def _answered(app: GroupOps, g: Groups, message_id: int) -> bool:
    record = await _record(app, g, message_id)
    return record is not None and record.handoff.state is HandoffState.ANSWERED


async def _handed_off(g: Groups, app: GroupOps, clock: FakeClock) -> None:
    """Move past the hand-off deadline and run the tick; wait for the one hand-off."""
    clock.advance(AFTER)
    await _service(app).run_due()
    await eventually(lambda: len(_handoffs(g.sim, g.ops)) == 1)


async def test_a_question_nobody_answers_reaches_the_ops_chat_on_time_then_escalates(
    groups: Groups, db_url: str
) -> None:
    g = groups
    clock = _clock(g)
    async with polling_bot(_settings(g, db_url), g.sim, clock) as app:
        message_id = await _asked(g, app, clock)
        service = _service(app)
        clock.advance(AFTER - 1)
        assert await service.run_due() == 0
        assert _handoffs(g.sim, g.ops) == []
        clock.advance(1)
        await service.run_due()
        await eventually(lambda: len(_handoffs(g.sim, g.ops)) == 1)
        (handoff,) = _handoffs(g.sim, g.ops)
        assert QUESTION in handoff["text"] and "Ann" in handoff["text"]
        assert f"https://t.me/c/{str(g.group)[4:]}/{message_id}" in handoff["text"]
        buttons = [b["text"] for b in handoff["reply_markup"]["inline_keyboard"][0]]
        assert buttons == ["Claim", "Answered", "Not a question"]
        clock.advance(SLA - AFTER - 1)
        await service.run_due()
        assert _escalations(g.sim, g.ops) == []
        clock.advance(1)
        await service.run_due()
        await eventually(lambda: len(_escalations(g.sim, g.ops)) == 1)
        clock.advance(3600)
        await service.run_due()
    assert len(_handoffs(g.sim, g.ops)) == 1
    assert len(_escalations(g.sim, g.ops)) == 1


async def test_a_claim_and_a_reply_in_the_group_close_it_and_it_never_escalates(
    groups: Groups, db_url: str
) -> None:
    g = groups
    clock = _clock(g)
    async with polling_bot(_settings(g, db_url), g.sim, clock) as app:
        message_id = await _asked(g, app, clock)
        service = _service(app)
        await _handed_off(g, app, clock)
        notice = _handoffs(g.sim, g.ops)[0]["message_id"]
        claim = f"hq:claim:{g.group}:{message_id}"
        refused = g.sim.press_button(g.ops, notice, g.member.id, data=claim)
        await eventually(lambda: g.sim.callback_answer(refused) is not None)
        assert g.sim.callback_answer(refused)["text"] == "Only the group's moderators can do that."  # type: ignore[index]
        claimed = g.sim.press_button(g.ops, notice, g.owner.id, data=claim)
        await eventually(lambda: g.sim.callback_answer(claimed) is not None)
        assert "claimed" in g.sim.callback_answer(claimed)["text"]  # type: ignore[index]
        # The hand-off message shows the claim, and keeps only the buttons still useful.
        (shown,) = [m for m in g.sim.history(g.ops) if m["message_id"] == notice]
        assert "State: claimed" in shown["text"]
        labels = [b["text"] for b in shown["reply_markup"]["inline_keyboard"][0]]
        assert labels == ["Answered", "Not a question"]
        g.sim.post(g.group, g.owner.id, text="Settings → Account → Reset", reply_to=message_id)

        await eventually(lambda: _answered(app, g, message_id))
        record = await _record(app, g, message_id)
        assert record is not None
        assert record.handoff.claimed_by == g.owner.id
        assert record.handoff.answerer is not None and record.handoff.answerer.value == "moderator"
        clock.advance(SLA)
        await service.run_due()
    assert _escalations(g.sim, g.ops) == []


async def test_a_members_answer_closes_it_before_the_handoff(groups: Groups, db_url: str) -> None:
    g = groups
    clock = _clock(g)
    async with polling_bot(_settings(g, db_url), g.sim, clock) as app:
        message_id = await _asked(g, app, clock)
        g.sim.post(g.group, g.member.id, text="+1", reply_to=message_id)  # no answer
        g.sim.post(g.group, g.member.id, text="Tap 'forgot password'", reply_to=message_id)

        await eventually(lambda: _answered(app, g, message_id))
        clock.advance(SLA)
        assert await _service(app).run_due() == 0
    assert _handoffs(g.sim, g.ops) == []


async def test_an_faq_match_answers_at_once_and_not_what_i_asked_reopens(
    groups: Groups, db_url: str
) -> None:
    g = groups
    clock = _clock(g)
    async with polling_bot(_settings(g, db_url), g.sim, clock) as app:
        g.sim.post(
            g.group,
            g.owner.id,
            text="/faq add How do I reset my password? | Settings → Account → Reset password",
        )
        # And one more the other way: replying to the answer with the question.
        answer = g.sim.post(g.group, g.owner.id, text="Within 14 days, from Orders")
        g.sim.post(
            g.group, g.owner.id, text="/faq add Can I get a refund?", reply_to=answer["message_id"]
        )
        await eventually(
            lambda: sum("Added to the FAQ" in m["text"] for m in g.sim.sent(g.group)) == 2
        )
        g.sim.post(g.group, g.member.id, text="/faq")
        await eventually(lambda: any("📚 FAQ:" in m["text"] for m in g.sim.sent(g.group)))
        (listed,) = [m["text"] for m in g.sim.sent(g.group) if "📚 FAQ:" in m["text"]]
        assert "2. Can I get a refund? → Within 14 days, from Orders" in listed
        message_id = await _asked(g, app, clock, "how can I reset my password")
        await eventually(
            lambda: any("From this group's FAQ" in m["text"] for m in g.sim.sent(g.group))
        )
        (answer,) = [m for m in g.sim.sent(g.group) if "From this group's FAQ" in m["text"]]
        assert "Settings → Account → Reset password" in answer["text"]
        labels = [b["text"] for b in answer["reply_markup"]["inline_keyboard"][0]]
        assert labels == ["Helpful 👍", "Not what I asked"]
        reopen = f"hq:re:{g.group}:{message_id}"
        refused = g.sim.press_button(g.group, answer["message_id"], g.member.id, data=reopen)
        await eventually(lambda: g.sim.callback_answer(refused) is not None)
        assert "Only the member who asked" in g.sim.callback_answer(refused)["text"]  # type: ignore[index]
        clock.advance(AFTER)
        assert await _service(app).run_due() == 0  # answered by the FAQ: no hand-off
        reopened = g.sim.press_button(g.group, answer["message_id"], g.asker.id, data=reopen)
        await eventually(lambda: g.sim.callback_answer(reopened) is not None)
        await _handed_off(g, app, clock)


async def test_a_restart_between_question_and_deadline_changes_nothing(
    groups: Groups, db_url: str
) -> None:
    g = groups
    clock = _clock(g)
    settings = _settings(g, db_url)
    async with polling_bot(settings, g.sim, clock) as app:
        await _asked(g, app, clock)
    clock.advance(AFTER - 10)
    async with polling_bot(settings, g.sim, clock) as app:
        assert await _service(app).run_due() == 0
        clock.advance(10)
        await _service(app).run_due()
        await eventually(lambda: len(_handoffs(g.sim, g.ops)) == 1)
    clock.advance(1)
    async with polling_bot(settings, g.sim, clock) as app:
        assert await _service(app).run_due() == 0
        clock.advance(SLA)
        await _service(app).run_due()
        await eventually(lambda: len(_escalations(g.sim, g.ops)) == 1)
    assert len(_handoffs(g.sim, g.ops)) == 1
    assert len(_escalations(g.sim, g.ops)) == 1


def _replies(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


async def test_commands_set_timers_rota_and_show_the_measures(groups: Groups, db_url: str) -> None:
    g = groups
    # The simulator's and the bot's time: a Monday 03:00 UTC, outside Mon-Fri 09:00-18:00.
    monday = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    g.sim.advance(monday.timestamp() - g.sim.now())
    clock = FakeClock(monday)
    async with polling_bot(_settings(g, db_url), g.sim, clock) as app:
        g.sim.post(g.group, g.member.id, text="/handoff after 2m")
        await eventually(lambda: any("Sorry, only" in t for t in _replies(g.sim, g.group)))
        g.sim.post(g.group, g.owner.id, text="/handoff after 2m")
        await eventually(lambda: any("after 2m" in t for t in _replies(g.sim, g.group)))
        g.sim.post(g.group, g.owner.id, text="/handoff sla soon")
        await eventually(lambda: any("is not a duration" in t for t in _replies(g.sim, g.group)))
        g.sim.post(g.group, g.owner.id, text="/oncall add @olga Mon-Fri 09:00-18:00")
        await eventually(lambda: any("Mon-Fri 09:00-18:00" in t for t in _replies(g.sim, g.group)))
        assert any("Next on call: Mon 09:00" in t for t in _replies(g.sim, g.group))
        message_id = int(g.sim.post(g.group, g.asker.id, text=QUESTION)["message_id"])
        await eventually(lambda: any("away now" in t for t in _replies(g.sim, g.group)))
        (away,) = [t for t in _replies(g.sim, g.group) if "away now" in t]
        assert "Mon 09:00 (UTC)" in away
        async with app.uow_factory() as uow:
            record = await uow.handoff.get(g.group, message_id)
        assert record is not None
        assert record.handoff.deadlines.handoff_at - record.handoff.asked_at == timedelta(minutes=2)
        g.sim.post(g.group, g.member.id, text="Use the app's Settings", reply_to=message_id)

        await eventually(lambda: _answered(app, g, message_id))
        await _service(app).refresh_measures()
        g.sim.post(g.group, g.owner.id, text="/health")
        await eventually(
            lambda: any("Questions in the last" in t for t in _replies(g.sim, g.group))
        )
        (health,) = [t for t in _replies(g.sim, g.group) if "Questions in the last" in t]
        # The group's own questions, in a moderator's words (the whole bot's measures are the
        # ops chat's: tests/e2e/test_health.py).
        assert "Questions in the last 7 days: 1 · past the SLA: 0" in health
        assert "Questions waiting for an answer: 0 (0 with the moderators)" in health
        g.sim.post(g.group, g.member.id, text="/sla 30d")
        await eventually(
            lambda: any("Questions over 30 days" in t for t in _replies(g.sim, g.group))
        )
    (report,) = [t for t in _replies(g.sim, g.group) if "Questions over 30 days" in t]
    assert "Questions over 30 days: 1" in report
    assert "Answered by members 1" in report


async def test_an_open_questions_text_shows_in_mydata_and_goes_with_forgetme(
    groups: Groups, db_url: str
) -> None:
    g = groups
    clock = _clock(g)
    async with polling_bot(_settings(g, db_url), g.sim, clock) as app:
        message_id = await _asked(g, app, clock)
        g.sim.start_private(g.asker.id, text="/mydata")
        await eventually(lambda: any(QUESTION in m.get("text", "") for m in g.sim.sent(g.asker.id)))
        g.sim.start_private(g.asker.id, text="/forgetme")
        await eventually(lambda: any("Erase?" in m.get("text", "") for m in g.sim.sent(g.asker.id)))
        (asked,) = [m for m in g.sim.sent(g.asker.id) if "Erase?" in m.get("text", "")]
        g.sim.press_button(g.asker.id, asked["message_id"], g.asker.id, data="forgetme:erase")

        async def erased() -> bool:
            record = await _record(app, g, message_id)
            return record is not None and record.text is None

        await eventually(erased)
        await _handed_off(g, app, clock)
    # The question still goes to the humans, without its text or its asker's name.
    (handoff,) = _handoffs(g.sim, g.ops)
    assert QUESTION not in handoff["text"] and "Ann" not in handoff["text"]


async def test_a_handoff_decided_but_not_sent_before_a_crash_is_sent_once_after_it(
    groups: Groups, db_url: str
) -> None:
    """The tick's unit of work committed the new state and the send, then the process died."""
    g = groups
    clock = _clock(g)
    settings = _settings(g, db_url)
    async with polling_bot(settings, g.sim, clock) as app:
        message_id = await _asked(g, app, clock)
    # What the tick commits once the question is due, written with the bot stopped: its own
    # tick, running meanwhile, would hand the question off itself.
    clock.advance(AFTER)
    engine = create_engine(db_url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine))() as uow:
            record = await uow.handoff.get(g.group, message_id)
            assert record is not None
            handed = step(record.handoff, Tick(), clock.now()).handoff
            await uow.handoff.save(replace(record, handoff=handed))
            sent = Decision(SEND_HANDOFF, g.group, message_id)
            await uow.decisions.add([("question", sent)], clock.now())
            await uow.commit()
    finally:
        await engine.dispose()
    assert _handoffs(g.sim, g.ops) == []
    async with polling_bot(settings, g.sim, clock) as app:
        await eventually(lambda: len(_handoffs(g.sim, g.ops)) == 1)
        assert await _service(app).run_due() == 0
        async with app.uow_factory() as uow:
            assert await uow.decisions.pending() == []
            stored = await uow.handoff.get(g.group, message_id)
        assert stored is not None and len(stored.notices) == 1
    assert len(_handoffs(g.sim, g.ops)) == 1


async def test_handoff_link_run_in_the_moderators_chat_sends_the_groups_handoffs_there(
    groups: Groups, db_url: str
) -> None:
    g = groups
    clock = _clock(g)
    settings = settings_for(g.sim, g.bot, db_url, handoff_after_seconds=AFTER)  # no OPS_CHAT_ID
    g.sim.join(g.ops, g.member.id)
    async with polling_bot(settings, g.sim, clock) as app:
        g.sim.post(g.ops, g.member.id, text=f"/handoff link {g.group}")
        await eventually(lambda: any("Sorry, only" in t for t in _replies(g.sim, g.ops)))
        g.sim.post(g.ops, g.owner.id, text=f"/handoff link {g.group}")
        await eventually(lambda: any("now come to this chat" in t for t in _replies(g.sim, g.ops)))
        await _asked(g, app, clock)
        await _handed_off(g, app, clock)
    assert _handoffs(g.sim, g.group) == []
