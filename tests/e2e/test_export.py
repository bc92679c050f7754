"""/export through the simulator: CSV files go to the asking admin in private, nothing to the group
but a refusal or the note that the admin must open a private chat first."""

from __future__ import annotations

import csv
import io
from typing import Any

from simulator import Simulator
from tests.e2e.conftest import Community, eventually, polling_bot, settings_for


def _documents(sim: Simulator, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in sim.sent(chat_id) if "document" in m]


def _rows(sim: Simulator, document: dict[str, Any]) -> list[dict[str, str]]:
    data = sim.files[document["document"]["file_id"]].content
    assert data.startswith(b"\xef\xbb\xbf")  # a byte order mark: spreadsheets read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def _texts(sim: Simulator, chat_id: int) -> list[str]:
    return [m.get("text", "") for m in sim.sent(chat_id)]


async def test_export_sends_csv_files_to_the_admin_in_private_only(
    community: Community, db_url: str
) -> None:
    sim, group, owner = community.sim, community.group, community.owner
    bob, carol = community.members[:2]
    async with polling_bot(settings_for(sim, community.bot, db_url), sim):
        sim.join(group, bob.id)
        sim.join(group, carol.id)
        said = sim.post(group, bob.id, text="how do I join the meetup?")
        sim.post(group, carol.id, text="sign up on the site", reply_to=said["message_id"])
        sim.post(group, bob.id, text="thanks")

        # Not yet in a private chat with the bot: told so in the group, no data anywhere.
        sim.post(group, owner.id, text="/export")
        await eventually(lambda: any("cannot write to you" in t for t in _texts(sim, group)))
        sim.start_private(owner.id)
        sim.post(group, owner.id, text="/export 30d")
        await eventually(lambda: len(_documents(sim, owner.id)) == 2)
        sent_to_group = len(sim.sent(group))
        sim.post(group, bob.id, text="/export")  # not an admin
        await eventually(lambda: any("only the group's admins" in t for t in _texts(sim, group)))
        sim.post(group, owner.id, text="/export 7x")
        await eventually(lambda: any("is not a period" in t for t in _texts(sim, group)))
    assert all("document" not in m for m in sim.sent(group))
    assert len(sim.sent(group)) == sent_to_group + 2  # the refusal and the form, nothing else
    intro = next(t for t in _texts(sim, owner.id) if t.startswith("📎"))
    assert "the last 30 days" in intro
    daily, members = _documents(sim, owner.id)
    assert daily["document"]["file_name"].startswith("daily-")
    assert daily["document"]["mime_type"] == "text/csv"
    days = _rows(sim, daily)
    assert len(days) == 30
    today = days[-1]
    assert (today["messages"], today["replies"], today["active_members"]) == ("3", "1", "2")
    assert (today["joins"], today["net_growth"]) == ("2", "2")
    people = {row["name"]: row for row in _rows(sim, members)}
    assert set(people) == {"Member0", "Member1"}  # the owner only ran commands
    assert people["Member0"]["segment"] == "new"
    assert people["Member0"]["responses_received_90d"] == "1"  # Carol's reply
    assert people["Member1"]["at_risk"] == "no"
    assert "Sorry" not in " ".join(_texts(sim, owner.id))
