"""The ops chat hears each fact once, across restarts, about groups by their title, in the
group's language; a group the bot was removed from is left alone; the ops chat is no community."""

from __future__ import annotations

import dataclasses

from bot.config import Settings
from bot.services.ops_notices import BOT_REMOVED
from handlers import render
from simulator import Simulator
from storage.engine import create_engine, session_factory
from storage.uow import SqlUnitOfWorkFactory
from tests.e2e.conftest import count_events, eventually, polling_bot, settings_for


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


def _status_checks(sim: Simulator, bot_id: int, chat_id: int) -> int:
    calls = sim.calls(bot_id)
    return sum(c.method == "getChatMember" and c.params["chat_id"] == chat_id for c in calls)


async def _set_language(db_url: str, chat_id: int, language: str) -> None:
    engine = create_engine(db_url)
    try:
        async with SqlUnitOfWorkFactory(session_factory(engine))() as uow:
            group = await uow.groups.get(chat_id)
            assert group is not None
            await uow.groups.update_settings(dataclasses.replace(group, language=language))
            await uow.commit()
    finally:
        await engine.dispose()


@dataclasses.dataclass
class OpsWorld:
    """A bot serving one group, with the moderators' chat as its ops chat."""

    sim: Simulator
    bot_id: int
    owner_id: int
    ops: int
    group: int
    settings: Settings


async def _known_group(sim: Simulator, db_url: str, title: str, *, ops_admin: bool) -> OpsWorld:
    """The bot in an ops chat and an admin in a group, both recorded by a first run."""
    bot = sim.create_bot(username="groupops_ops_bot", can_read_all_group_messages=True)
    owner = sim.create_user(first_name="Owner", language_code="en")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title=title, creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=ops_admin)
    sim.add_bot(group, bot.id, admin=True)
    settings = settings_for(sim, bot, db_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.post(ops, owner.id, text="the mods talk here")
        sim.post(group, owner.id, text="hello")
        await eventually(lambda: count_events(db_url, chat_id=group))
        await eventually(lambda: count_events(db_url, chat_id=ops))
    return OpsWorld(sim, bot.id, owner.id, ops, group, settings)


async def test_a_removed_group_is_told_once_and_then_left_alone(
    sim: Simulator, sqlite_url: str
) -> None:
    # The bot lacks every right in the ops chat: that is no one's concern.
    world = await _known_group(sim, sqlite_url, "Gone", ops_admin=False)
    sim.ban(world.group, world.bot_id)
    checks = _status_checks(sim, world.bot_id, world.group)
    told = len(_texts(sim, world.ops))
    note = render.refusal(BOT_REMOVED, "Gone", "en")
    for restart in range(3):
        async with polling_bot(world.settings, sim):
            if restart == 0:  # the note leaves while the bot runs, not as it stops
                await eventually(lambda: note in _texts(sim, world.ops))
    assert _texts(sim, world.ops)[told:] == [note]
    assert _status_checks(sim, world.bot_id, world.group) == checks + 1  # the one that found out
    assert not any("needs a hand" in text for text in _texts(sim, world.ops))


async def test_what_a_group_lacks_is_told_once_in_its_language(
    sim: Simulator, sqlite_url: str
) -> None:
    world = await _known_group(sim, sqlite_url, "公开群", ops_admin=True)
    await _set_language(sqlite_url, world.group, "zh-hans")
    sim.promote(world.group, world.bot_id, rights={"can_pin_messages", "can_invite_users"})
    told = len(_texts(sim, world.ops))
    for _ in range(3):
        async with polling_bot(world.settings, sim):
            pass
    notes = [text for text in _texts(sim, world.ops)[told:] if "公开群" in text]
    assert len(notes) == 1, notes
    assert notes[0].startswith("⚠️ groupops 在“公开群”中还需要以下设置")


async def test_a_rights_report_while_running_is_in_the_groups_language(
    sim: Simulator, sqlite_url: str
) -> None:
    world = await _known_group(sim, sqlite_url, "Группа", ops_admin=True)
    await _set_language(sqlite_url, world.group, "ru")
    async with polling_bot(world.settings, sim):
        told = len(_texts(sim, world.ops))
        # Promoted by the owner, whose Telegram speaks English.
        sim.promote(world.group, world.bot_id, rights={"can_invite_users"})
        await eventually(lambda: any("Группа" in text for text in _texts(sim, world.ops)[told:]))
    (note,) = [text for text in _texts(sim, world.ops)[told:] if "Группа" in text]
    assert note.startswith("⚠️ groupops нужна помощь в «Группа»")


async def test_a_note_that_did_not_arrive_is_told_at_the_next_start(
    sim: Simulator, sqlite_url: str
) -> None:
    world = await _known_group(sim, sqlite_url, "Gone", ops_admin=False)
    sim.ban(world.group, world.bot_id)
    sim.restrict(world.ops, world.bot_id)  # the ops chat cannot hear it this time

    def refused_in_ops() -> bool:
        calls = sim.calls(world.bot_id)
        return any(c.params.get("chat_id") == world.ops and c.error_code == 400 for c in calls)

    async with polling_bot(world.settings, sim):
        await eventually(refused_in_ops)
    note = render.refusal(BOT_REMOVED, "Gone", "en")
    assert note not in _texts(sim, world.ops)
    sim.promote(world.ops, world.bot_id)
    async with polling_bot(world.settings, sim):
        await eventually(lambda: note in _texts(sim, world.ops))
    async with polling_bot(world.settings, sim):
        pass
    assert _texts(sim, world.ops).count(note) == 1


async def test_the_ops_chat_gets_no_welcome_and_no_readiness_list(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_ops_join_bot")
    owner = sim.create_user(first_name="Owner", language_code="en")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="Public", creator_id=owner.id)
    async with polling_bot(settings_for(sim, bot, sqlite_url, ops_chat_id=ops), sim):
        # Added to both as a plain member, lacking every right: the group hears the welcome
        # and the ops chat hears what the group lacks, but nothing about the ops chat itself.
        sim.add_bot(ops, bot.id, admin=False)
        sim.add_bot(group, bot.id, admin=False)
        await eventually(lambda: any("Public" in text for text in _texts(sim, ops)))
        sim.post(ops, owner.id, text="/help")  # handled after the join: the join was seen
        await eventually(lambda: any("What I do here" in text for text in _texts(sim, ops)))
    assert any("I record who posts" in text for text in _texts(sim, group))
    assert not any("I record who posts" in text for text in _texts(sim, ops))
    notes = [text for text in _texts(sim, ops) if "needs a hand" in text]
    assert len(notes) == 1 and "Public" in notes[0] and "Mods" not in notes[0]
