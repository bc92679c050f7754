"""Long replies are split between lines, under Telegram's 4096-character limit."""

from __future__ import annotations

from handlers.replies import split_text


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
