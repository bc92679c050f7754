"""A group's rows follow it to its supergroup id in every table, so a feature's new table
needs no migration code of its own."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, func, select

from bot.domain.events import GroupRef
from storage.models import Base, groups_table, users_table
from storage.uow import SqlUnitOfWorkFactory

OLD, NEW, OPS = -4_000_000_001, -1_002_000_000_002, -4_000_000_009
# Moved or kept by `migrate` itself (merged member by member, or a log of sends).
APART = {"groups", "members", "events", "outbox", "activity_hours", "member_days", "responses"}


def _value(table: Table, name: str, chat_id: int, n: int) -> Any:
    column = table.c[name]
    if name == "chat_id":
        return chat_id
    if name.endswith("_chat_id") and name not in ("migrated_to_chat_id", "sender_chat_id"):
        return OLD
    if column.foreign_keys:
        return 1
    kind_of = getattr(column.type, "impl", column.type)  # a TypeDecorator's stored type
    try:
        kind = kind_of.python_type
    except NotImplementedError:
        kind = object
    if kind is bool:
        return False
    if kind in (int, float, Decimal):
        return n
    if kind is datetime:
        return datetime(2026, 11, 1, tzinfo=UTC)
    if kind is date:
        return date(2026, 11, 1)
    if kind in (list, dict, object):
        return []
    if kind is bytes:
        return b"x"
    return f"{n}{table.name}"[: getattr(kind_of, "length", None) or 100]


def _row(table: Table, chat_id: int, n: int) -> dict[str, Any]:
    return {
        column.name: _value(table, column.name, chat_id, n)
        for column in table.c
        if not (column.primary_key and column.autoincrement is True and column.name != "chat_id")
        and (column.default is None or column.name == "chat_id")
    }


def _feature_tables() -> list[Table]:
    return [
        table
        for table in Base.metadata.sorted_tables
        if "chat_id" in table.c and table.name not in APART
    ]


async def test_every_feature_table_follows_the_group_and_the_new_ids_rows_win(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    tables = _feature_tables()
    assert {"questions", "adcap_settings", "handoff_settings", "faq_entries"} <= {
        t.name for t in tables
    }
    async with uow_factory() as uow:
        session = uow.session
        await uow.groups.upsert_many(
            [GroupRef(OLD, "Old", "group"), GroupRef(OPS, "Ops", "group")],
            datetime(2026, 11, 1, tzinfo=UTC),
        )
        await session.execute(users_table.insert().values(_row(users_table, 1, 1) | {"user_id": 1}))
        for n, table in enumerate(Base.metadata.sorted_tables, 1):
            if table.name in APART or table.name == "users" or "chat_id" not in table.c:
                continue
            await session.execute(table.insert().values(_row(table, OLD, n)))
        await uow.commit()
    # Updates under the new id came in first: the supergroup's own rows are kept.
    async with uow_factory() as uow:
        await uow.groups.upsert_many(
            [GroupRef(NEW, "New", "supergroup")], datetime(2026, 11, 1, tzinfo=UTC)
        )
        await uow.session.execute(
            Base.metadata.tables["adcap_settings"]
            .insert()
            .values(_row(Base.metadata.tables["adcap_settings"], NEW, 7))
        )
        await uow.commit()
    async with uow_factory() as uow:
        await uow.groups.migrate(OLD, NEW)
        await uow.commit()
    async with uow_factory() as uow:
        session = uow.session
        left = {
            table.name: await session.scalar(
                select(func.count()).select_from(table).where(table.c.chat_id == OLD)
            )
            for table in tables
        }
        moved = {
            table.name: await session.scalar(
                select(func.count()).select_from(table).where(table.c.chat_id == NEW)
            )
            for table in tables
        }
        adcap = Base.metadata.tables["adcap_settings"]
        kept = (await session.execute(select(adcap).where(adcap.c.chat_id == NEW))).mappings().one()
        handoff = Base.metadata.tables["handoff_settings"]
        ops = await session.scalar(select(handoff.c.ops_chat_id))
        pointer = await session.scalar(
            select(groups_table.c.migrated_to_chat_id).where(groups_table.c.chat_id == OLD)
        )
    assert {name for name, n in left.items() if n} == set()
    assert {name for name, n in moved.items() if n != 1} == set()
    assert {k: kept[k] for k in _row(adcap, NEW, 7)} == _row(adcap, NEW, 7)
    assert ops == NEW  # a moderators' chat that migrated is still theirs
    assert pointer == NEW
