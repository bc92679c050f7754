"""Engagement events: one thing a member did, in the words of DESIGN.md, free of Telegram types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    """What a member did."""

    MESSAGE = "message"
    COMMAND = "command"  # a slash command: not conversation, so no message and no activity
    EDIT = "edit"
    REACTION_ADDED = "reaction_added"
    REACTION_REMOVED = "reaction_removed"
    REACTION_COUNT = "reaction_count"  # anonymous reactions: a count, no member
    JOIN = "join"
    LEAVE = "leave"
    KICK = "kick"


class MessageKind(StrEnum):
    """What a message carries."""

    TEXT = "text"
    MEDIA = "media"
    STICKER = "sticker"
    POLL = "poll"
    FORWARD = "forward"
    COMMAND = "command"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Actor:
    """The member who did something (names as Telegram last told them)."""

    user_id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A group as an update shows it."""

    chat_id: int
    title: str
    type: str  # "group" or "supergroup"
    username: str | None = None
    is_forum: bool = False


@dataclass(frozen=True, slots=True)
class EngagementEvent:
    """One engagement event; `dedup_key` makes a redelivered update harmless.

    A message is unique on (chat, message); every other event on (update id, position in the
    update), so a redelivery adds nothing.
    """

    dedup_key: str
    update_id: int
    kind: EventKind
    group: GroupRef
    occurred_at: datetime  # aware, UTC
    actor: Actor | None = None  # None for anonymous reaction counts and channel posts
    message_id: int | None = None
    message_kind: MessageKind | None = None
    text_length: int = 0
    text: str | None = None  # kept only where the group turned text storage on
    reply_to_user_id: int | None = None
    reply_to_message_id: int | None = None
    thread_id: int | None = None
    has_link: bool = False
    reaction: str | None = None  # emoji or custom emoji id, for reaction events
    reaction_count: int = 0
    inviter_id: int | None = None  # who added the member, for joins
    invite_link: str | None = None  # the link the member joined by, for joins
    sender_chat_id: int | None = None  # anonymous admin or linked channel posting as a chat

    @staticmethod
    def message_key(chat_id: int, message_id: int) -> str:
        return f"m:{chat_id}:{message_id}"

    @staticmethod
    def update_key(update_id: int, position: int = 0) -> str:
        return f"u:{update_id}:{position}"


@dataclass(frozen=True, slots=True)
class GroupMigrated:
    """A group became a supergroup: its history moves to the new id."""

    old_chat_id: int
    new_chat_id: int
