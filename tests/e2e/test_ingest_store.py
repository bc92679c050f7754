"""The bot on an SQLite file records through the ingest store, with the lock switch it needs."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.app import GIL_SWITCH_SECONDS
from tests.e2e.conftest import Community, count_events, eventually, polling_bot, settings_for


async def test_messages_are_recorded_through_the_store_and_the_switch_interval_restored(
    community: Community, tmp_path: Path
) -> None:
    sim, group = community.sim, community.group
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    before = sys.getswitchinterval()
    async with polling_bot(settings_for(sim, community.bot, url), sim) as app:
        assert sys.getswitchinterval() == GIL_SWITCH_SECONDS
        for member in community.members:
            sim.join(group, member.id)

        async def joined() -> bool:
            return await count_events(url, kind="join") == len(community.members)

        # Joins carry no decision a feature writes itself, so the store writes them (a batch
        # with a point award for a message would go through a unit of work).
        await eventually(joined)
        assert app.ingest_store is not None
        assert app.ingest_store._connection is not None  # the store's own connection wrote them
        for n, member in enumerate(community.members):
            sim.post(group, member.id, text=f"hello {n}")

        async def recorded() -> bool:
            return await count_events(url, kind="message") == len(community.members)

        await eventually(recorded)
    assert sys.getswitchinterval() == before
