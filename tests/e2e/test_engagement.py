"""The real bot against the simulator over HTTP: every engagement event lands once, on both DBs."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.events import EventKind
from storage.engine import create_engine
from storage.models import events_table, groups_table, members_table
from tests.e2e.conftest import Community, count_events, eventually, polling_bot, settings_for


async def _rows(db_url: str, table, *where) -> list:  # type: ignore[no-untyped-def]
    engine = create_engine(db_url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(table).where(*where))).mappings())
    finally:
        await engine.dispose()


async def test_group_traffic_is_recorded_once(community: Community, db_url: str) -> None:
    sim, group = community.sim, community.group
    alice, bob, carol = community.members[:3]
    async with polling_bot(settings_for(sim, community.bot, db_url), sim) as app:
        link = sim.create_invite_link(group, community.owner.id)
        sim.join(group, alice.id, inviter_id=community.owner.id)
        sim.join(group, bob.id, invite_link=link)
        sim.join(group, carol.id)
        first = sim.post(group, alice.id, text="How do I solder SMD parts?")
        sim.post(
            group,
            bob.id,
            text="Flux and patience — https://example.org/smd",
            reply_to=first["message_id"],
        )
        sim.post(group, carol.id, text="sticker", kind="sticker")
        sim.react(group, first["message_id"], bob.id, ["👍"])
        sim.react(group, first["message_id"], bob.id, ["🔥"])
        sim.edit(group, first["message_id"], text="How do I solder 0402 SMD parts?")
        sim.leave(group, carol.id)

        async def everything_written() -> bool:
            return await count_events(db_url) >= 11

        await eventually(everything_written)
        assert app.intake.skipped == 0

    events = await _rows(db_url, events_table, events_table.c.chat_id == group)
    kinds = sorted(row["kind"] for row in events)
    assert kinds == sorted(
        [
            "join",
            "join",
            "join",
            "message",
            "message",
            "message",
            "reaction_added",
            "reaction_added",
            "reaction_removed",
            "edit",
            "leave",
        ]
    )
    reply = next(r for r in events if r["kind"] == "message" and r["reply_to_user_id"])
    assert reply["reply_to_user_id"] == alice.id and reply["has_link"]
    assert all(r["text"] is None for r in events)  # privacy by default
    assert all(r["occurred_at"].tzinfo is not None for r in events)
    members = {
        r["user_id"]: r
        for r in await _rows(db_url, members_table, members_table.c.chat_id == group)
    }
    assert members[alice.id]["invited_by_user_id"] == community.owner.id
    # Telegram masks the tail of a link another admin created; the bot stores what it is shown.
    assert members[bob.id]["invite_link"].startswith(link["invite_link"][:18])
    assert members[carol.id]["status"] == "left"
    assert members[alice.id]["message_count"] == 1
    (stored_group,) = await _rows(db_url, groups_table, groups_table.c.chat_id == group)
    assert stored_group["title"] == "Makers"


async def test_a_clean_stop_confirms_the_offset_and_a_restart_goes_on(
    community: Community, db_url: str
) -> None:
    sim, group = community.sim, community.group
    settings = settings_for(sim, community.bot, db_url)
    for member in community.members:
        sim.join(group, member.id)
    async with polling_bot(settings, sim):
        for i in range(30):
            sim.post(group, community.members[i % 5].id, text=f"message {i}")

        async def first_batch() -> bool:
            return await count_events(db_url, kind=EventKind.MESSAGE.value) == 30

        await eventually(first_batch)
    assert sim.updates_pending(community.bot.id) == 0  # the clean stop confirmed the offset
    async with polling_bot(settings, sim):
        sim.post(group, community.owner.id, text="after the restart")

        async def second() -> bool:
            return await count_events(db_url, kind=EventKind.MESSAGE.value) == 31

        await eventually(second)
    members = await _rows(db_url, members_table, members_table.c.chat_id == group)
    assert sum(r["message_count"] for r in members) == 31


async def test_group_history_follows_a_supergroup_migration(sim, db_url: str, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level("INFO", logger="bot.services.engagement")
    bot = sim.create_bot(username="groupops_mig_bot")
    owner = sim.create_user(first_name="Owner")
    old = sim.create_group(title="Small club", creator_id=owner.id, type="group")
    sim.add_bot(old, bot.id, admin=True)
    async with polling_bot(settings_for(sim, bot, db_url), sim):
        sim.post(old, owner.id, text="before")
        new = sim.migrate_to_supergroup(old)
        sim.post(new, owner.id, text="after")

        async def moved() -> bool:
            return await count_events(db_url, chat_id=new, kind="message") == 2

        await eventually(moved)
    assert await count_events(db_url, chat_id=old) == 0
    (old_row,) = await _rows(db_url, groups_table, groups_table.c.chat_id == old)
    assert old_row["migrated_to_chat_id"] == new
    # Both groups announce the move; it is made (and logged) once.
    assert sum("migrated to" in r.getMessage() for r in caplog.records) == 1
