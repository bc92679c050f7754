"""A /settings mistake is answered with the form that fits it, not every form there is."""

from __future__ import annotations

from tests.e2e.conftest import Community, eventually, polling_bot, settings_for


async def test_a_mistake_gets_the_form_that_fits_it(community: Community, sqlite_url: str) -> None:
    sim, group, owner = community.sim, community.group, community.owner

    def replies() -> list[str]:
        return [m["text"] for m in sim.sent(group) if "Use:" in m.get("text", "")]

    async with polling_bot(settings_for(sim, community.bot, sqlite_url), sim):
        asked = ("/settings timezone Mars/Olympus", "/settings text on forever", "/settings x")
        for answered, command in enumerate(asked, start=1):
            sim.post(group, owner.id, text=command)
            await eventually(lambda: len(replies()) == answered)  # noqa: B023 (awaited here)
    zone, text, unknown = replies()
    assert zone.endswith("Use: /settings timezone Europe/Berlin")
    assert text.endswith("Use: /settings text on 30 · /settings text off")
    assert "/settings timezone" in unknown and "/settings text off" in unknown
