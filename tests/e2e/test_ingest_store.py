"""The bot on an SQLite file records through the ingest store, with the lock switch it needs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from bot.app import GIL_SWITCH_SECONDS
from bot.ports import IngestWritten
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

        await eventually(joined)
        store = app.ingest_store
        assert store is not None
        assert store._connection is not None  # the store's own connection wrote them
        written: list[object] = []
        store_write = store.write

        async def spied(*args: Any) -> IngestWritten:
            written.append(args[4])  # the features' writes, run in the store's transaction
            return await store_write(*args)

        store.write = spied  # type: ignore[method-assign]
        asker, *others = community.members
        sim.post(group, asker.id, text="How do I reset my password?")
        for n, member in enumerate(others):
            sim.post(group, member.id, text=f"hello {n}")

        async def recorded() -> bool:
            return await count_events(url, kind="message") == len(community.members)

        await eventually(recorded)
        # The question was opened by the hand-off's own write, in the store's transaction.
        async with app.uow_factory() as uow:
            (question,) = await uow.handoff.unclosed(group)
            assert await uow.decisions.pending() == []
        assert question.handoff.asker_id == asker.id
        assert any(feature_writes is not None for feature_writes in written)
        assert app.recorder.metrics.write_failures == 0
    assert sys.getswitchinterval() == before
