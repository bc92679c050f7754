"""Ops notices on both databases: news once, news again when the fact changes, forgotten."""

from __future__ import annotations

from storage.uow import SqlUnitOfWorkFactory


async def test_a_fact_is_news_once_until_it_changes_or_is_forgotten(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        assert await uow.ops_notices.note(-1, "readiness", "can_pin_messages")
        assert await uow.ops_notices.note(-1, "bot_removed")
        assert await uow.ops_notices.note(-2, "bot_removed")
        await uow.commit()
    async with uow_factory() as uow:
        assert not await uow.ops_notices.note(-1, "readiness", "can_pin_messages")
        assert not await uow.ops_notices.note(-1, "bot_removed")
        assert await uow.ops_notices.note(-1, "readiness", "can_pin_messages,can_invite_users")
        assert await uow.ops_notices.chats_with("bot_removed") == {-1, -2}
        await uow.ops_notices.forget(-1, "bot_removed")
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.ops_notices.chats_with("bot_removed") == {-2}
        assert not await uow.ops_notices.note(-1, "readiness", "can_pin_messages,can_invite_users")
        await uow.ops_notices.forget(-1)
        assert await uow.ops_notices.note(-1, "readiness", "can_pin_messages,can_invite_users")
