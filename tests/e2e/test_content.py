"""Content on the PDCA loop through the simulator, on SQLite and PostgreSQL.

The bot's clock is the simulator's (`SimClock`), so moving the simulator on moves both; the
publishing and measuring ticks are also run directly after each move (the scheduler's own
ticks may run them too: runs are serialised).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import GroupOps
from bot.delivery.limits import DeliveryLimits
from bot.domain.content import ContentState
from bot.services.content import ContentService
from simulator import BotAccount, Simulator, UserAccount
from tests.e2e.conftest import count_events, eventually, polling_bot, settings_for


class SimClock:
    """The bot's clock reads the simulator's, which the test moves with `sim.advance`."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._sim.now(), UTC)


@dataclass
class Team:
    sim: Simulator
    bot: BotAccount
    owner: UserAccount  # the group's creator: an admin who plans content
    members: list[UserAccount]
    group: int


@pytest.fixture
def team(sim: Simulator) -> Team:
    owner = sim.create_user(first_name="Olga", username="olga", language_code="en")
    members = [
        sim.create_user(first_name=f"M{i}", username=f"m{i}", language_code="en") for i in range(6)
    ]
    group = sim.create_group(title="Makers", creator_id=owner.id)
    for member in members:
        sim.join(group, member.id)
    bot = sim.create_bot(username="groupops_content_bot", can_read_all_group_messages=True)
    sim.add_bot(group, bot.id, admin=True)
    return Team(sim, bot, owner, members, group)


# Content is not about Telegram's pace: the bot posts and replies ten times faster than its
# real limit of one message a second in a chat (delivery's own tests hold the real limits), so
# weeks of daily posts and an operator's dozen commands take seconds.
FAST = DeliveryLimits().scaled(10)


def _settings(t: Team, db_url: str) -> Any:
    # An operator planning sends many commands in a row: past the members' command rate.
    return settings_for(t.sim, t.bot, db_url, commands_per_minute=1000)


def _service(app: GroupOps) -> ContentService:
    service = app.services["content"]
    assert isinstance(service, ContentService)
    return service


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


async def _say(t: Team, text: str, expect: str, user: UserAccount | None = None) -> dict[str, Any]:
    """Send `text` in the user's private chat; wait for the bot's reply containing `expect`."""
    who = user or t.owner
    before = len(t.sim.sent(who.id))
    t.sim.start_private(who.id, text=text)

    def answered() -> bool:
        return any(expect in m.get("text", "") for m in t.sim.sent(who.id)[before:])

    try:
        await eventually(answered)
    except BaseException:
        print("replies:", [m.get("text") for m in t.sim.sent(who.id)[before:]])
        raise
    return next(m for m in t.sim.sent(who.id)[before:] if expect in m.get("text", ""))


def _at(sim: Simulator, ahead: timedelta) -> str:
    """A wall time in the group's zone (UTC, the default) `ahead` from the simulator's now."""
    return (datetime.fromtimestamp(sim.now(), UTC) + ahead).strftime("%Y-%m-%d %H:%M")


async def _published(t: Team, app: GroupOps, text: str, count: int = 1) -> dict[str, Any]:
    """Run the publishing tick until `count` posts with `text` are in the group."""
    service = _service(app)

    async def out() -> bool:
        await service.run_due()
        await service.drain()
        return sum(1 for m in t.sim.sent(t.group) if m.get("text") == text) >= count

    await eventually(out)
    return [m for m in t.sim.sent(t.group) if m.get("text") == text][-1]


async def _approved(t: Team, app: GroupOps, text: str) -> int:
    """The owner drafts a post of `text` and approves it: its item id."""
    await _say(t, "/draft", "Send the post")
    await _say(t, text, "saved")
    item_id = await _item_id(app)
    await _say(t, f"/approve {item_id}", "Approved")
    return item_id


async def _item_id(app: GroupOps) -> int:
    items = await _service(app).items(None)
    return items[-1].id


async def test_an_item_goes_from_idea_to_reviewed_with_its_measures(
    team: Team, db_url: str
) -> None:
    t = team
    async with polling_bot(_settings(t, db_url), t.sim, SimClock(t.sim), limits=FAST) as app:
        await _say(t, f"/content {t.group}", "Nothing planned for")
        await _say(t, "/idea Thursday meetup", "Idea #")
        item_id = await _item_id(app)
        await _say(t, f"/draft {item_id}", "Send the post")
        body = "Meetup on Thursday at 19:00!\n[Sign up](https://example.org/meetup)"
        await _say(t, body, f"Draft #{item_id} saved")
        preview = await _say(t, f"/preview {item_id}", "Meetup on Thursday")
        assert preview["reply_markup"]["inline_keyboard"] == [
            [{"text": "Sign up", "url": "https://example.org/meetup"}]
        ]
        await _say(t, f"/schedule {item_id} tomorrow 20:00", "Approve it first")
        await _say(t, f"/approve {item_id}", "Approved")
        await _say(t, f"/schedule {item_id} 25:00", "There is no time 25:00")
        await _say(t, f"/schedule {item_id} 2020-01-01 08:00", "has already passed")
        when = _at(t.sim, timedelta(hours=2))
        await _say(t, f"/schedule {item_id} {when}", "goes out")
        listed = await _say(t, "/schedule", "Coming up")
        assert f"#{item_id} Thursday meetup" in listed["text"]

        t.sim.advance(2 * 3600 - 5)
        await _service(app).run_due()
        assert "Meetup on Thursday at 19:00!" not in _texts(t.sim, t.group)
        t.sim.advance(5)
        post = await _published(t, app, "Meetup on Thursday at 19:00!")
        assert post["reply_markup"]["inline_keyboard"][0][0]["url"] == "https://example.org/meetup"

        t.sim.advance(60)
        for member in t.members[:3]:
            t.sim.post(t.group, member.id, text="I'm in", reply_to=post["message_id"])
        t.sim.react(t.group, post["message_id"], t.members[3].id, ["👍"])
        t.sim.react(t.group, post["message_id"], t.members[0].id, ["🔥"])
        await eventually(lambda: _stored(db_url, t.group, 5))

        service = _service(app)
        for step in (3600 - 60 + 1, 5 * 3600, 18 * 3600):  # to 1 h, 6 h and 24 h after
            t.sim.advance(step)
            await service.run_measures()
        (stored,) = await service.posts(item_id)
        assert set(stored.measures) == {"1h", "6h", "24h"}
        day = stored.measures["24h"]
        assert (day["replies"], day["reactions"], day["responders"]) == (3, 2, 4)
        assert day["leaves"] == 0
        assert (await service.get(item_id)).state is ContentState.MEASURED

        review = await _say(t, f"/review {item_id}", "📊")
        assert "24h: replies 3 · reactions 2 · members responding 4" in review["text"]
        assert (await service.get(item_id)).state is ContentState.REVIEWED
        states = [h.to_state.value for h in await service.history(item_id)]
        assert states[0] == "idea" and states[-3:] == ["published", "measured", "reviewed"]
        assert "approved" in states and "scheduled" in states


async def _stored(db_url: str, chat_id: int, responses: int) -> bool:
    replies = await count_events(db_url, chat_id=chat_id, kind="message")
    reactions = await count_events(db_url, chat_id=chat_id, kind="reaction_added")
    return replies >= 3 and reactions >= 2 and replies + reactions >= responses


async def test_a_restart_between_schedule_and_publish_publishes_once(
    team: Team, db_url: str
) -> None:
    t = team
    settings = _settings(t, db_url)
    async with polling_bot(settings, t.sim, SimClock(t.sim), limits=FAST) as app:
        await _say(t, f"/content {t.group}", "/idea")
        item_id = await _approved(t, app, "Doors open at 18:00")
        await _say(t, f"/schedule {item_id} {_at(t.sim, timedelta(hours=1))}", "goes out")
    # Down across the due time, back within the grace period.
    t.sim.advance(3600 + 5 * 60)
    async with polling_bot(settings, t.sim, SimClock(t.sim), limits=FAST) as app:
        await _published(t, app, "Doors open at 18:00")
        for _ in range(3):
            await _service(app).run_due()
    async with polling_bot(settings, t.sim, SimClock(t.sim), limits=FAST) as app:
        t.sim.advance(60)
        assert await _service(app).run_due() == 0
        await _service(app).drain()
    assert _texts(t.sim, t.group).count("Doors open at 18:00") == 1


async def test_a_post_missed_while_down_past_the_grace_is_reported(team: Team, db_url: str) -> None:
    t = team
    settings = _settings(t, db_url)
    async with polling_bot(settings, t.sim, SimClock(t.sim), limits=FAST) as app:
        await _say(t, f"/content {t.group}", "/idea")
        item_id = await _approved(t, app, "Too late")
        await _say(t, f"/schedule {item_id} {_at(t.sim, timedelta(hours=1))}", "goes out")
    t.sim.advance(3600 + 20 * 60)
    async with polling_bot(settings, t.sim, SimClock(t.sim), limits=FAST) as app:
        await _service(app).run_due()
        await eventually(lambda: any("was not published" in x for x in _texts(t.sim, t.owner.id)))
        assert (await _service(app).get(item_id)).state is ContentState.MISSED
    assert "Too late" not in _texts(t.sim, t.group)


async def test_a_promo_over_the_cap_is_deferred_and_published_when_it_fits(
    team: Team, db_url: str
) -> None:
    t = team
    async with polling_bot(_settings(t, db_url), t.sim, SimClock(t.sim), limits=FAST) as app:
        await _say(t, f"/content {t.group}", "/idea")
        ids = []
        for text in ("Promo one: 20% off", "Promo two: free shipping"):
            await _say(t, "/draft", "Send the post")
            await _say(t, text, "saved")
            item_id = await _item_id(app)
            ids.append(item_id)
            await _say(t, f"/kind {item_id} promo", "is now promo")
            await _say(t, f"/approve {item_id}", "Approved")
            await _say(t, f"/schedule {item_id} {_at(t.sim, timedelta(hours=1))}", "goes out")
        t.sim.advance(3600)
        await _published(t, app, "Promo one: 20% off")
        service = _service(app)
        deferred = await service.get(ids[1])
        assert deferred.state is ContentState.DEFERRED
        assert "Promo two: free shipping" not in _texts(t.sim, t.group)
        told = await _say_wait(t, "deferred to")
        assert f"#{ids[1]}" in told and "ad-share cap" in told
        # It fits once the first promo leaves the cap's 7-day window.
        assert deferred.due_at is not None
        t.sim.advance((deferred.due_at - SimClock(t.sim).now()).total_seconds() - 10)
        await service.run_due()
        assert "Promo two: free shipping" not in _texts(t.sim, t.group)
        t.sim.advance(10)
        await _published(t, app, "Promo two: free shipping")
        assert (await service.get(ids[1])).state is ContentState.PUBLISHED


async def _say_wait(t: Team, expect: str) -> str:
    await eventually(lambda: any(expect in x for x in _texts(t.sim, t.owner.id)))
    return next(x for x in _texts(t.sim, t.owner.id) if expect in x)


@pytest.mark.parametrize("evening_lift", [4, 0], ids=["evening-wins", "alike"])
async def test_an_experiment_over_weeks_recommends_the_slot_members_prefer(
    team: Team, db_url: str, evening_lift: int
) -> None:
    t = team
    rng = random.Random(7)
    async with polling_bot(_settings(t, db_url), t.sim, SimClock(t.sim), limits=FAST) as app:
        service = _service(app)
        await _say(t, f"/content {t.group}", "/idea")
        item_id = await _approved(t, app, "Daily tip")
        await _say(t, f"/schedule {item_id} daily 08:00", "repeats")
        await _say(t, f"/experiment slots {item_id} 08:00 20:00", "alternates between")
        await _say(t, f"/experiment {item_id}", "No recommendation yet")
        for posts in range(1, 17):
            item = await service.get(item_id)
            assert item.due_at is not None
            t.sim.advance((item.due_at - SimClock(t.sim).now()).total_seconds())
            post = await _published(t, app, "Daily tip", count=posts)
            slot = datetime.fromtimestamp(post["date"], UTC).hour
            assert slot in (8, 20)
            responders = rng.randint(0, 2) + (evening_lift if slot == 20 else 0)
            t.sim.advance(30)
            for member in t.members[:responders]:
                t.sim.react(t.group, post["message_id"], member.id, ["👍"])
            await _reactions_stored(db_url, t.group, post["message_id"], responders)
            # A day on for the post's measures, but never past the next post (12 hours away when
            # the evening arm is followed by the morning one): the bot's own tick would then
            # rightly call it missed, and the clock must not go back.
            item = await service.get(item_id)
            assert item.due_at is not None
            until_next = (item.due_at - SimClock(t.sim).now()).total_seconds()
            t.sim.advance(min(24 * 3600, until_next - 60))
            await service.run_measures()
        t.sim.advance(24 * 3600)
        await service.run_measures()
        report = await _say(t, f"/experiment {item_id}", "🧪")
    if evening_lift:
        assert "Recommendation: 20:00" in report["text"]
    else:
        assert "No recommendation" in report["text"]


async def _reactions_stored(db_url: str, chat_id: int, message_id: int, count: int) -> None:
    async def stored() -> bool:
        return (
            await count_events(
                db_url, chat_id=chat_id, kind="reaction_added", message_id=message_id
            )
            >= count
        )

    await eventually(stored)


async def test_quiet_hours_set_in_the_group_move_a_post_and_say_so(team: Team, db_url: str) -> None:
    t = team
    async with polling_bot(_settings(t, db_url), t.sim, SimClock(t.sim), limits=FAST) as app:
        before = len(t.sim.sent(t.group))
        t.sim.post(t.group, t.owner.id, text="/settings quiet 23:00-07:00")
        await eventually(
            lambda: any("Quiet hours 23:00–07:00" in x for x in _texts(t.sim, t.group)[before:])
        )
        t.sim.post(t.group, t.owner.id, text="/settings quiet 7pm")
        await eventually(
            lambda: any("Give quiet hours as 23:00-07:00" in x for x in _texts(t.sim, t.group))
        )
        # The owner is recorded in the group (their /settings), and its admin: offered it.
        await _say(t, "/content", f"/content {t.group} — Makers")
        await _say(t, "/idea x", "Choose a group first", t.members[0])
        await _say(
            t, f"/content {t.group}", "Only the group's admins and the operators", t.members[0]
        )
        await _say(t, f"/content {t.group}", "/idea")
        item_id = await _approved(t, app, "Late news")
        day = (datetime.fromtimestamp(t.sim.now(), UTC) + timedelta(days=2)).date()
        moved = await _say(t, f"/schedule {item_id} {day} 23:30", "quiet hours")
        assert f"{day + timedelta(days=1)} 07:00" in moved["text"]
        item = await _service(app).get(item_id)
        assert item.due_at == datetime.combine(
            day + timedelta(days=1), datetime.min.time(), UTC
        ) + timedelta(hours=7)


async def test_admins_name_operators_who_may_then_plan(team: Team, db_url: str) -> None:
    t = team
    helper, other = t.members[1], t.members[2]
    async with polling_bot(_settings(t, db_url), t.sim, SimClock(t.sim), limits=FAST):
        t.sim.post(t.group, helper.id, text="hello all")
        await eventually(lambda: _stored_user(db_url, t.group, helper.id))
        await _say(t, f"/content {t.group}", "/idea")
        await _say(t, "/operators add @nobody", "I do not know @nobody")
        await _say(t, "/operators add m1", "Say add or remove")
        await _say(t, "/operators add @m1", "M1 can now plan")
        await _say(t, "/operators", "• M1")
        await _say(t, f"/content {t.group}", "Nothing planned", helper)
        await _say(t, "/idea Helper's idea", "Idea #", helper)
        await _say(t, "/operators add @m2", "only the group's admins", helper)
        await _say(t, f"/content {t.group}", "Only the group's admins and the operators", other)
        await _say(t, "/operators remove @m1", "no longer plans")
        await _say(t, "/idea again", "Only the group's admins and the operators", helper)


async def _stored_user(db_url: str, chat_id: int, user_id: int) -> bool:
    return await count_events(db_url, chat_id=chat_id, user_id=user_id) > 0


async def test_a_variants_experiment_alternates_the_two_texts(team: Team, db_url: str) -> None:
    t = team
    async with polling_bot(_settings(t, db_url), t.sim, SimClock(t.sim), limits=FAST) as app:
        service = _service(app)
        await _say(t, f"/content {t.group}", "/idea")
        item_id = await _approved(t, app, "Tip A")
        await _say(t, f"/schedule {item_id} daily 09:00", "repeats")
        await _say(t, f"/experiment variants {item_id}", "Send the second text")
        await _say(t, "Tip B", "Variant B")
        for _ in range(4):
            item = await service.get(item_id)
            assert item.due_at is not None
            t.sim.advance((item.due_at - SimClock(t.sim).now()).total_seconds())
            await service.run_due()
            await service.drain()
        await eventually(
            lambda: len([x for x in _texts(t.sim, t.group) if x.startswith("Tip")]) == 4
        )
        texts = [x for x in _texts(t.sim, t.group) if x.startswith("Tip")]
        assert sorted(texts) == ["Tip A", "Tip A", "Tip B", "Tip B"]
        labels = [p.arm_label for p in await service.posts(item_id)]
        assert sorted(labels) == ["A", "A", "B", "B"]  # type: ignore[type-var]
        report = await _say(t, f"/experiment {item_id}", "🧪")
        assert "A vs B" in report["text"] and "No recommendation yet" in report["text"]
