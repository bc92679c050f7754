"""Replies: long ones split between lines under Telegram's 4096-character limit; who counts as
an admin when a message is sent on behalf of a chat."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import Chat, Message, User

from bot.services.admins import AdminDirectory
from handlers.replies import sent_by_admin, split_text
from tests.fakes import FakeClock, FakeGateway

GROUP_CHAT = Chat(id=-100777, type="supergroup", title="Makers")


def test_short_text_is_one_part() -> None:
    assert split_text("hello\nworld") == ["hello\nworld"]
    assert split_text("") == [""]


def test_long_text_splits_at_line_ends_and_loses_nothing() -> None:
    lines = [f"• group {n}: {'x' * 90}" for n in range(200)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == text
    assert all(part.split("\n")[0].startswith("• group") for part in parts)


def test_a_line_longer_than_a_message_is_cut() -> None:
    parts = split_text("a" * 10_000, limit=4096)
    assert [len(p) for p in parts] == [4096, 4096, 1808]
    assert "".join(parts) == "a" * 10_000


def _group_message(sender_chat: Chat | None) -> Message:
    return Message(
        message_id=1,
        date=datetime(2026, 11, 25, tzinfo=UTC),
        chat=GROUP_CHAT,
        from_user=User(id=777000, is_bot=False, first_name="Telegram"),
        sender_chat=sender_chat,
        text="/stats",
    )


async def test_only_the_group_itself_as_sender_chat_is_an_admin() -> None:
    admins = AdminDirectory(FakeGateway(), FakeClock())
    channel = Chat(id=-100999, type="channel", title="Outside news")
    assert await sent_by_admin(_group_message(GROUP_CHAT), admins)  # an anonymous admin
    assert not await sent_by_admin(_group_message(channel), admins)
    assert not await sent_by_admin(_group_message(None), admins)
