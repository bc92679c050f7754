"""The SQLite ingest store writes exactly what the recorder's unit of work writes."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import GroupOps
from bot.config import Settings
from bot.domain.events import Actor, EngagementEvent, EventKind, GroupRef
from bot.domain.watching import Decision
from bot.ports import IngestWritten, StoredDecision, UnitOfWork
from bot.services.decisions import Write
from bot.services.engagement import EngagementRecorder
from storage.engine import create_engine, session_factory, write_lock
from storage.errors import is_transient
from storage.migrate import upgrade_to_head
from storage.sqlite_ingest import SqliteIngestStore
from storage.uow import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.storage.test_repositories import ALICE, BOB, CAROL, GROUP, OTHER_CHAT, T0, message, other

# Every table a batch writes, with the order that makes a dump comparable.
TABLES = {
    "groups": "chat_id",
    "users": "user_id",
    "events": "id",
    "members": "chat_id, user_id",
    "activity_hours": "chat_id, hour",
    "member_days": "chat_id, day, user_id",
    "responses": "chat_id, message_id",
    "decisions": "id",
}


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.factory = SqlUnitOfWorkFactory(session_factory(engine))
        self.store = SqliteIngestStore(engine, self.factory.profiles)

    def recorder(self, *, store: bool) -> EngagementRecorder:
        return EngagementRecorder(
            self.factory,
            FakeClock(T0),
            transient=is_transient,
            store=self.store if store else None,
        )

    async def dump(self) -> dict[str, list[tuple[object, ...]]]:
        async with self.engine.connect() as connection:
            return {
                table: [
                    tuple(row)
                    for row in await connection.execute(
                        text(f"SELECT * FROM {table} ORDER BY {order}")
                    )
                ]
                for table, order in TABLES.items()
            }


@pytest.fixture
async def databases(tmp_path: Path) -> AsyncIterator[tuple[Database, Database]]:
    engines = []
    for name in ("store", "unit"):
        url = f"sqlite+aiosqlite:///{tmp_path / name}.db"
        await upgrade_to_head(url)
        engines.append(create_engine(url))
    try:
        yield Database(engines[0]), Database(engines[1])
    finally:
        for engine in engines:
            await engine.dispose()


async def _record(
    recorder: EngagementRecorder,
    batches: Sequence[Sequence[EngagementEvent]],
    decisions: dict[str, Decision],
) -> None:
    await recorder.start()
    try:
        for batch in batches:
            for event in batch:
                decided = decisions.get(event.dedup_key)
                await recorder.record([event], [("watcher", decided)] if decided else ())
            await recorder.durable()
    finally:
        await recorder.stop()


def _traffic(rng: random.Random, changes: float = 0.2) -> list[list[EngagementEvent]]:
    """Two groups (one renamed midway), members who change their names, replies, reactions,
    edits, joins by invitation, leaves and kicks (`changes` of the events), in random batches
    with redeliveries. Times are random over two days, so a batch often holds a member's events
    out of order, and earlier than what is stored."""
    renamed = GroupRef(OTHER_CHAT, "Other, renamed", "supergroup")
    people: list[Actor | None] = [ALICE, BOB, CAROL, replace(BOB, first_name="Robert"), None]
    start = T0.replace(hour=22)
    events: list[EngagementEvent] = []
    for n in range(1, 500):
        group = rng.choice([GROUP, GroupRef(OTHER_CHAT, "Other", "supergroup")])
        if n > 250 and group.chat_id == OTHER_CHAT:
            group = renamed
        who = rng.choice(people)
        at = start + timedelta(seconds=rng.randrange(2 * 86_400), microseconds=rng.randrange(10**6))
        roll = rng.random()
        if roll < 1 - changes:
            roll = roll / (1 - changes) * 0.8  # messages, reactions and edits, 5 : 2 : 1
        target = rng.randrange(1, n + 30)
        if roll < 0.5:
            reply = (
                {"reply_to_message_id": target, "reply_to_user_id": BOB.user_id}
                if rng.random() < 0.4
                else {}
            )
            events.append(message(n, who, at, group, **reply))
        elif roll < 0.7:
            kind = rng.choice([EventKind.REACTION_ADDED, EventKind.REACTION_REMOVED])
            events.append(other(10_000 + n, kind, who, at, group, message_id=target, reaction="👍"))
        elif roll < 0.8:
            events.append(other(10_000 + n, EventKind.EDIT, who, at, group, message_id=target))
        else:
            kind = rng.choice([EventKind.JOIN, EventKind.LEAVE, EventKind.KICK])
            invited = (
                {"inviter_id": ALICE.user_id, "invite_link": "https://t.me/+abc"}
                if kind is EventKind.JOIN and rng.random() < 0.5
                else {}
            )
            events.append(other(10_000 + n, kind, who or CAROL, at, group, **invited))
    cuts = sorted(rng.sample(range(1, len(events)), 15))
    batches = [events[a:b] for a, b in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    return batches + rng.sample(batches, 4)  # redelivered


@pytest.mark.parametrize("changes", [0.2, 0.02])
async def test_the_store_writes_what_a_unit_of_work_writes_on_random_traffic(
    databases: tuple[Database, Database], changes: float
) -> None:
    """Row for row, ids included, in every table a batch touches: groups (renamed), users
    (renamed), events, memberships, the three rollups and the decisions about new messages
    (a redelivered message's decision is not stored again). With few joins, leaves and kicks,
    most members are ones a batch only saw again (the store's own statement for them)."""
    with_store, with_unit = databases
    rng = random.Random(11)
    batches = _traffic(rng, changes)
    decisions = {
        event.dedup_key: Decision(
            "bench.flag", event.group.chat_id, event.message_id, {"n": index, "why": ["x", 1.5]}
        )
        for index, event in enumerate(e for batch in batches for e in batch)
        if event.kind is EventKind.MESSAGE and index % 7 == 0
    }
    stored = []
    recorder = with_store.recorder(store=True)
    recorder.on_decided = stored.extend
    await _record(recorder, batches, decisions)
    await _record(with_unit.recorder(store=False), batches, decisions)
    found, expected = await with_store.dump(), await with_unit.dump()
    assert found == expected
    assert all(found.values())  # every table was written
    assert recorder.metrics.duplicates > 0
    assert recorder.metrics.store_failures == 0  # written by the store, not its fallback
    # What the applier was handed is what is stored, ids and parameters as read back.
    async with with_store.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT id, chat_id, message_id, watcher, action, params FROM decisions")
        )
        kept = {row[0]: row[1:] for row in rows}
    assert len(stored) == len(kept) > 10
    for s in stored:
        d = s.decision
        assert kept[s.id][:4] == (d.chat_id, d.message_id, s.watcher, d.action)
        assert d.params == {"n": d.params["n"], "why": ["x", 1.5]}


async def test_a_feature_written_decision_is_written_in_the_stores_transaction(
    databases: tuple[Database, Database],
) -> None:
    """The store writes the batch, and the `Write` on its decisions runs on a unit of work in
    the same transaction; the follow-ups it returns are stored and handed to the applier."""
    with_store, _ = databases
    written: list[Decision] = []
    follow_up = Decision("feature.notify", GROUP.chat_id, 1, {"say": "hi"})

    async def write(uow: UnitOfWork, decisions: Sequence[Decision]) -> Sequence[Decision]:
        written.extend(decisions)
        await uow.groups.upsert_many([replace(GROUP, title="Written")], T0)
        return [follow_up]

    recorder = with_store.recorder(store=True)
    stored_batches = []
    store_write = with_store.store.write

    async def spied(*args: Any) -> IngestWritten:
        stored_batches.append(args[1])
        return await store_write(*args)

    with_store.store.write = spied  # type: ignore[method-assign]
    recorder.writes = {"feature.count": write}
    handed: list[StoredDecision] = []
    recorder.on_decided = handed.extend
    decision = Decision("feature.count", GROUP.chat_id, 1, {})
    await _record(recorder, [[message(1), message(2)]], {message(1).dedup_key: decision})
    assert written == [decision]
    assert len(stored_batches) == 1
    dump = await with_store.dump()
    assert len(dump["events"]) == 2
    assert "Written" in dump["groups"][0]  # the write's own change committed
    # Written by the feature, not kept for the applier; its follow-up is.
    assert [(s.decision.action, s.decision.params) for s in handed] == [
        ("feature.notify", {"say": "hi"})
    ]
    assert [row[0] for row in dump["decisions"]] == [handed[0].id]


async def _half_written(uow: UnitOfWork) -> None:
    await uow.groups.upsert_many([replace(GROUP, title="Half written")], T0)


async def _broken(uow: UnitOfWork, decisions: Sequence[Decision]) -> Sequence[Decision]:
    await _half_written(uow)
    raise ValueError("a bug in the feature")


async def _waiting(uow: UnitOfWork, decisions: Sequence[Decision]) -> Sequence[Decision]:
    await _half_written(uow)
    await asyncio.sleep(0)  # the store's thread has no event loop to wait on
    return ()


@pytest.mark.parametrize("write", [_broken, _waiting], ids=["raises", "waits"])
async def test_a_feature_write_that_fails_leaves_its_decisions_to_the_applier(
    databases: tuple[Database, Database], write: Write
) -> None:
    """A `Write` that raises, or waits for anything besides its unit of work, is rolled back;
    the messages are stored all the same and its decisions left to the applier (which runs
    them one by one, on the loop)."""
    with_store, _ = databases
    recorder = with_store.recorder(store=True)
    recorder.writes = {"feature.count": write}
    handed: list[StoredDecision] = []
    recorder.on_decided = handed.extend
    decision = Decision("feature.count", GROUP.chat_id, 1, {})
    await _record(recorder, [[message(1), message(2)]], {message(1).dedup_key: decision})
    assert [s.decision for s in handed] == [decision]
    assert recorder.metrics.write_failures == 1
    dump = await with_store.dump()
    assert len(dump["events"]) == 2
    assert "Half written" not in dump["groups"][0]  # the write's changes rolled back
    assert [row[0] for row in dump["decisions"]] == [handed[0].id]  # pending, for the applier


async def test_a_fault_of_the_stores_own_costs_no_event(
    databases: tuple[Database, Database],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not the database refusing data but a bug in the store: the batch is written through a
    unit of work, nothing is quarantined, and the log names the place, not the values."""
    with_store, _ = databases

    def broken(*args: object) -> None:
        raise TypeError("cannot bind 'a secret message'")

    monkeypatch.setattr(SqliteIngestStore, "_statements_for", broken)
    recorder = with_store.recorder(store=True)
    await _record(recorder, [[message(1), message(2)], [message(3)]], {})
    assert recorder.metrics.store_failures == 2
    assert recorder.metrics.quarantined == 0
    assert len((await with_store.dump())["events"]) == 3
    assert "TypeError at" in caplog.text
    assert "secret" not in caplog.text


async def test_an_event_the_database_refuses_is_left_out_and_the_rest_stored(
    databases: tuple[Database, Database],
) -> None:
    with_store, _ = databases
    recorder = with_store.recorder(store=True)
    refused = message(2, replace(ALICE, user_id=2**70))  # too big for an INTEGER column
    await _record(recorder, [[message(1), refused, message(3)]], {})
    assert recorder.metrics.quarantined == 1
    assert [row[1] for row in (await with_store.dump())["events"]] == [
        message(1).dedup_key,
        message(3).dedup_key,
    ]


async def test_database_errors_are_raised_as_the_engine_raises_them(
    databases: tuple[Database, Database], tmp_path: Path
) -> None:
    """A missing table is a fault the recorder retries (OperationalError); a broken constraint
    is data it isolates (IntegrityError); neither carries a parameter."""
    with_store, _ = databases
    store = with_store.store
    await store.write([GROUP], [message(1)], {}, T0)
    store._connection = sqlite3.connect(tmp_path / "empty.db", check_same_thread=False)
    with pytest.raises(OperationalError) as fault:
        await store.write([GROUP], [message(2)], {}, T0)
    assert is_transient(fault.value)
    await store.close()  # the next write opens the real file again
    orphan = replace(message(3), group=GroupRef(-1, "never stored", "supergroup"))
    with pytest.raises(IntegrityError) as refused:
        await store.write([], [orphan], {}, T0)
    assert not is_transient(refused.value)
    assert "never stored" not in str(refused.value)
    await store.close()


async def test_the_store_waits_its_turn_behind_the_engines_writers(
    databases: tuple[Database, Database],
) -> None:
    with_store, _ = databases
    store = with_store.store
    await store.write([GROUP], [message(1)], {}, T0)
    async with with_store.factory() as uow:
        await uow.groups.upsert_many([replace(GROUP, title="Renamed")], T0)  # holds the lock
        writing = asyncio.create_task(store.write([], [message(2)], {}, T0))
        await asyncio.sleep(0.2)
        assert not writing.done()
        lock = write_lock(with_store.engine)
        assert lock is not None and lock.waits == 1  # queued on the engine's lock, in order
        await uow.commit()
    written = await writing
    assert [event.message_id for event in written.new] == [2]
    await store.close()


async def test_a_member_erased_between_batches_is_stored_again_with_their_next_event(
    databases: tuple[Database, Database],
) -> None:
    """The profile cache forgets an erased person: the next batch writes their user row again
    (their membership needs it)."""
    with_store, _ = databases
    store = with_store.store
    await store.write([GROUP], [message(1, BOB)], {}, T0)
    async with with_store.factory() as uow:
        await uow.members.erase(BOB.user_id)
        await uow.commit()
    await store.write([], [message(2, BOB)], {}, T0 + timedelta(minutes=1))
    dump = await with_store.dump()
    assert [row[0] for row in dump["users"]] == [BOB.user_id]
    assert [(row[1], row[-1]) for row in dump["members"]] == [(BOB.user_id, 1)]  # messages
    await store.close()


def test_only_an_sqlite_file_has_a_store() -> None:
    assert not SqliteIngestStore.available(create_engine("sqlite+aiosqlite:///:memory:"))
    assert not SqliteIngestStore.available(
        create_engine("postgresql+asyncpg://postgres@127.0.0.1/none")
    )
    assert SqliteIngestStore.available(create_engine("sqlite+aiosqlite:////tmp/x.db"))


def test_the_bot_on_an_sqlite_file_records_through_the_store(tmp_path: Path) -> None:
    settings = Settings(
        bot_token="1:AAstorestorestorestorestorestorestore",  # type: ignore[arg-type]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    app = GroupOps(settings)
    assert isinstance(app.ingest_store, SqliteIngestStore)
    assert app.recorder._store is app.ingest_store
    memory = GroupOps(settings.model_copy(update={"database_url": "sqlite+aiosqlite:///:memory:"}))
    assert memory.ingest_store is None
    assert memory.recorder._store is None
