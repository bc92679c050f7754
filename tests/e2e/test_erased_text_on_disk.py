"""Erased text leaves no copy on disk: not in the database file, not in its WAL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from tests.e2e.conftest import Community, eventually, polling_bot, settings_for

SECRET = "pumpkinlantern"


def _on_disk(sqlite_url: str) -> bytes:
    database = Path(make_url(sqlite_url).database or "")
    return b"".join(
        path.read_bytes()
        for path in database.parent.iterdir()
        if path.name.startswith(database.name)
    )


async def test_text_off_leaves_no_copy_in_the_file_or_the_wal(
    community: Community, sqlite_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    member = community.members[0]
    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        sim.join(group, member.id)
        sim.post(group, owner.id, text="/settings text on 7")

        def replied(needle: str) -> bool:
            return any(needle in m.get("text", "") for m in sim.sent(group))

        await eventually(lambda: replied("stored, each erased after 7 days"))
        for n in range(20):
            sim.post(group, member.id, text=f"my cat thinks the {SECRET} story is funny, part {n}")
        sim.post(group, owner.id, text="/health")  # answered once what came before is written
        await eventually(lambda: replied("🩺"))
        assert SECRET.encode() in _on_disk(sqlite_url)  # stored while on: the check can see it
        sim.post(group, owner.id, text="/settings text off")
        await eventually(lambda: replied("Erased the stored text"))
        assert SECRET.encode() not in _on_disk(sqlite_url)
