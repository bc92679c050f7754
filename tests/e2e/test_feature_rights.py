"""Readiness asks a group for the admin rights the composed features declare, and no others."""

from __future__ import annotations

from bot.domain.rights import Gap
from bot.features import Feature, Runtime
from handlers.features import FEATURES
from simulator import Simulator
from tests.e2e.conftest import eventually, polling_bot, settings_for


def _pinning_feature(runtime: Runtime) -> Feature:
    return Feature(name="pins", rights=[Gap.CANNOT_PIN])


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


async def test_a_feature_that_pins_makes_readiness_ask_for_the_pin_right(
    sim: Simulator, sqlite_url: str
) -> None:
    bot = sim.create_bot(username="groupops_pins_bot")
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="Pinned", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim, features=(*FEATURES, _pinning_feature)) as app:
        # Every right the other features need, none for pinning.
        granted = {gap.value for gap in app.rights if gap is not Gap.CANNOT_PIN}
        sim.add_bot(group, bot.id, admin=True, rights=granted)
        await eventually(lambda: any("Pinned" in t for t in _texts(sim, ops)))
        assert Gap.CANNOT_PIN in app.rights
    note = next(t for t in _texts(sim, ops) if "Pinned" in t)
    assert "Pin messages" in note
    assert "Delete messages" not in note and "Invite users" not in note and "Ban users" not in note


async def test_a_group_granting_every_declared_right_is_ready(
    sim: Simulator, sqlite_url: str
) -> None:
    """A bot holding exactly the rights the features declare is not nagged for more."""
    bot = sim.create_bot(username="groupops_enough_bot")
    owner = sim.create_user(first_name="Owner")
    ops = sim.create_group(title="Mods", creator_id=owner.id)
    group = sim.create_group(title="Enough", creator_id=owner.id)
    sim.add_bot(ops, bot.id, admin=True)
    settings = settings_for(sim, bot, sqlite_url, ops_chat_id=ops)
    async with polling_bot(settings, sim) as app:
        granted = {gap.value for gap in app.rights}
        sim.add_bot(group, bot.id, admin=True, rights=granted)
        sim.post(group, owner.id, text="/help")
        await eventually(lambda: any("What I do here" in t for t in _texts(sim, group)))
        sim.post(group, owner.id, text="/stats")
        await eventually(lambda: any("📊" in t for t in _texts(sim, group)))
    (note,) = [t for t in _texts(sim, ops) if "Enough" in t]
    assert "is ready" in note and "needs a hand" not in note
