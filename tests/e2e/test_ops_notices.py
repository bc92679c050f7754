"""The ops chat hears each fact once, across restarts, about groups by their title, in the
group's language; a group the bot was removed from is left alone; the ops chat is no community."""

from __future__ import annotations

import dataclasses

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


async def test_a_removed_group_is_told_once_and_then_left_alone(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_notices_bot", can_read_all_group_messages=True)
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    gone = sim.create_group(title="Gone", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=False)  # lacking every right there is no one's concern
    sim.add_bot(gone, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.post(ops, owner.id, text="the mods talk here")
        sim.post(gone, owner.id, text="hello")
        await eventually(lambda: count_events(sqlite_url, chat_id=gone))
        await eventually(lambda: count_events(sqlite_url, chat_id=ops))
    sim.ban(gone, bot.id)
    checks = _status_checks(sim, bot.id, gone)
    told = len(_texts(sim, ops))
    note = render.refusal(BOT_REMOVED, "Gone", "en")
    for restart in range(3):
        async with polling_bot(settings, sim):
            if restart == 0:  # the note leaves while the bot runs, not as it stops
                await eventually(lambda: note in _texts(sim, ops))
    assert _texts(sim, ops)[told:] == [note]
    assert _status_checks(sim, bot.id, gone) == checks + 1  # the check that found it out
    assert not any("needs a hand" in text for text in _texts(sim, ops))


async def test_what_a_group_lacks_is_told_once_in_its_language(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_lacks_bot")
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="公开群", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    sim.add_bot(group, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.post(group, owner.id, text="你好")
        await eventually(lambda: count_events(sqlite_url, chat_id=group))
    await _set_language(sqlite_url, group, "zh-hans")
    sim.promote(group, bot.id, rights={"can_delete_messages", "can_invite_users"})
    told = len(_texts(sim, ops))
    for _ in range(3):
        async with polling_bot(settings, sim):
            pass
    notes = [text for text in _texts(sim, ops)[told:] if "公开群" in text]
    assert len(notes) == 1, notes
    assert notes[0].startswith("⚠️ groupops 在“公开群”中还需要以下设置")


async def test_a_rights_report_while_running_is_in_the_groups_language(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_lang_bot", can_read_all_group_messages=True)
    owner = sim.create_user(first_name="Owner", language_code="en")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="Группа", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    sim.add_bot(group, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.post(group, owner.id, text="привет")
        await eventually(lambda: count_events(sqlite_url, chat_id=group))
    await _set_language(sqlite_url, group, "ru")
    async with polling_bot(settings, sim):
        told = len(_texts(sim, ops))
        sim.promote(group, bot.id, rights={"can_delete_messages"})  # by the English-speaking owner
        await eventually(lambda: any("Группа" in text for text in _texts(sim, ops)[told:]))
    (note,) = [text for text in _texts(sim, ops)[told:] if "Группа" in text]
    assert note.startswith("⚠️ groupops нужна помощь в «Группа»")


async def test_a_note_that_did_not_arrive_is_told_at_the_next_start(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_muted_bot", can_read_all_group_messages=True)
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    gone = sim.create_group(title="Gone", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=False)
    sim.add_bot(gone, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim):
        sim.post(gone, owner.id, text="hello")
        await eventually(lambda: count_events(sqlite_url, chat_id=gone))
    sim.ban(gone, bot.id)
    sim.restrict(ops, bot.id)  # the ops chat cannot hear it this time

    def refused_in_ops() -> bool:
        calls = sim.calls(bot.id)
        return any(c.params.get("chat_id") == ops and c.error_code == 400 for c in calls)

    async with polling_bot(settings, sim):
        await eventually(refused_in_ops)
    note = render.refusal(BOT_REMOVED, "Gone", "en")
    assert note not in _texts(sim, ops)
    sim.promote(ops, bot.id)
    async with polling_bot(settings, sim):
        await eventually(lambda: note in _texts(sim, ops))
    async with polling_bot(settings, sim):
        pass
    assert _texts(sim, ops).count(note) == 1
