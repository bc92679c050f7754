"""The weekly digest on SQLite and PostgreSQL: due on Monday from 9:00 in the group's time zone,
told once per week per group (across a restart too), with other features' sections, and only to
an ops chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.ports import Outcome, Priority
from bot.services.analytics import AnalyticsService
from bot.services.digest import DigestService
from handlers.analytics import digest_text
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.storage.test_analytics_rollups import _history, _record
from tests.storage.test_repositories import CHAT

OPS = -100777
# The history is Saturday 2025-03-01 and Sunday the 2nd: the week of Monday 2025-02-24.
# Monday 2025-03-03 09:00 in Berlin (UTC+1 in March) is 08:00 UTC.
OPENS = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


class Sender:
    """Records what would go through delivery's outbox."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, str, dict[str, Any]]] = []

    async def send_durable(
        self,
        dedup_key: str,
        chat_id: int,
        method: str,
        params: dict[str, Any],
        priority: Priority = Priority.CONTENT,
    ) -> Outcome:
        self.sent.append((dedup_key, chat_id, method, params))
        return Outcome(ok=True, result={"message_id": len(self.sent)})


def _service(
    factory: SqlUnitOfWorkFactory,
    clock: FakeClock,
    sender: Sender,
    sections: list[Any] | None = None,
    ops: int | None = OPS,
) -> DigestService:
    analytics = AnalyticsService(factory, clock, "Europe/Berlin")
    return DigestService(
        factory, clock, analytics, sender, digest_text, sections or [], "Europe/Berlin", ops
    )


@pytest.fixture
async def recorded(uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    await _record(uow_factory, _history())
    return uow_factory


async def test_told_once_from_monday_nine_local_even_after_a_restart(
    recorded: SqlUnitOfWorkFactory,
) -> None:
    clock, sender = FakeClock(OPENS - timedelta(minutes=1)), Sender()
    digest = _service(recorded, clock, sender)
    assert await digest.set_enabled(CHAT, True) == OPS
    assert await digest.run_due() == 0  # 08:59 in Berlin
    clock.advance(60)
    assert await digest.run_due() == 1
    assert await digest.run_due() == 0
    assert await _service(recorded, clock, sender).run_due() == 0  # a restart: still told
    ((key, chat, method, params),) = sender.sent
    assert (key, chat, method) == (f"digest:{CHAT}:2025-02-24", OPS, "sendMessage")
    text = params["text"]
    assert text.startswith("📬 Weekly digest of “Makers”, week of 2/24")
    # Bob posted twice, Alice twice (replies) and reacted; Carol only left.
    assert "Messages: 4 (+4) · active members: 2 (+2)" in text
    assert "leaves: 1" in text
    clock.advance(7 * 24 * 3600)  # the next Monday: the next week
    assert await digest.run_due() == 1
    assert sender.sent[-1][0] == f"digest:{CHAT}:2025-03-03"
    assert "Messages: 0 (−4) · active members: 0 (−2)" in sender.sent[-1][3]["text"]


async def test_sections_of_other_features_follow_and_a_failing_one_is_left_out(
    recorded: SqlUnitOfWorkFactory,
) -> None:
    asked: list[tuple[int, datetime, datetime, str]] = []

    async def content(chat_id: int, since: datetime, until: datetime, language: str) -> str:
        asked.append((chat_id, since, until, language))
        return "📝 Content: 3 posts went out"

    async def broken(chat_id: int, since: datetime, until: datetime, language: str) -> str:
        raise RuntimeError("boom")

    async def silent(chat_id: int, since: datetime, until: datetime, language: str) -> None:
        return None

    sender = Sender()
    digest = _service(recorded, FakeClock(OPENS), sender, [broken, content, silent])
    await digest.set_enabled(CHAT, True)
    assert await digest.run_due() == 1
    text = sender.sent[0][3]["text"]
    assert text.endswith("\n\n📝 Content: 3 posts went out")
    # The week in the group's zone: Monday 00:00 to the next Monday 00:00 Berlin time.
    assert asked == [
        (
            CHAT,
            datetime(2025, 2, 23, 23, 0, tzinfo=UTC),
            datetime(2025, 3, 2, 23, 0, tzinfo=UTC),
            "en",
        )
    ]


async def test_off_or_without_an_ops_chat_nothing_is_sent(recorded: SqlUnitOfWorkFactory) -> None:
    sender = Sender()
    clock = FakeClock(OPENS)
    assert await _service(recorded, clock, sender).run_due() == 0  # never turned on
    nowhere = _service(recorded, clock, sender, ops=None)
    assert await nowhere.set_enabled(CHAT, True) is None
    assert await nowhere.run_due() == 0
    # Once an ops chat is known, the untold week goes out.
    assert await _service(recorded, clock, sender).run_due() == 1
    await _service(recorded, clock, sender).set_enabled(CHAT, False)
    clock.advance(7 * 24 * 3600)
    assert await _service(recorded, clock, sender).run_due() == 0
    assert len(sender.sent) == 1


async def test_a_long_digest_is_sent_in_parts_each_with_its_own_key(
    recorded: SqlUnitOfWorkFactory,
) -> None:
    async def long(chat_id: int, since: datetime, until: datetime, language: str) -> str:
        return "x" * 4000

    sender = Sender()
    digest = _service(recorded, FakeClock(OPENS), sender, [long])
    await digest.set_enabled(CHAT, True)
    assert await digest.run_due() == 1
    keys = [key for key, *_ in sender.sent]
    assert keys == [f"digest:{CHAT}:2025-02-24", f"digest:{CHAT}:2025-02-24:1"]
    assert all(len(params["text"]) <= 4096 for *_, params in sender.sent)
