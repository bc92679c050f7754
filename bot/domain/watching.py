"""What watchers see and what they decide: a new group message in, decisions out, as plain data.

A watcher (the promo check, the question tracker, locks, points…) judges ordinary chat without
knowing Telegram or the database: it gets a `WatchedMessage` and returns `Decision`s, and one
service applies them. Decisions are data so they can be stored with their message's event and
applied after a crash (DESIGN.md, "The message pipeline").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.events import EngagementEvent, EventKind

# A decision's params are stored as JSON: keep them to JSON's types.
JsonValue = str | int | float | bool | None | Sequence["JsonValue"] | Mapping[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class WatchedMessage:
    """A new group message (or an edit) with what watchers need beyond its event.

    `text` is the message's text or caption. It lives only in memory: the pipeline never writes
    it anywhere unless the group stores text (then the event carries it too).
    """

    event: EngagementEvent
    text: str
    forward_origin: str | None = None  # "user", "hidden_user", "chat" or "channel"
    links: tuple[str, ...] = ()  # hidden URLs of text_link entities, in order
    url_buttons: tuple[str, ...] = ()  # URLs of the inline keyboard's buttons

    @property
    def chat_id(self) -> int:
        return self.event.group.chat_id

    @property
    def is_edit(self) -> bool:
        return self.event.kind is EventKind.EDIT


@dataclass(frozen=True, slots=True)
class Decision:
    """One thing a watcher wants done about a message: an action and its parameters.

    `action` names what the applier does; the built-in ones are below, and a feature may
    register its own (e.g. "question.open") with the applier.
    """

    action: str
    chat_id: int
    message_id: int | None = None
    params: Mapping[str, JsonValue] = field(default_factory=dict)

    DELETE = "delete_message"
    REPLY = "reply"
    RESTRICT = "restrict_member"

    @classmethod
    def delete(cls, chat_id: int, message_id: int, reason: str) -> Decision:
        """Delete the message; `reason` is logged and may be shown by the feature."""
        return cls(cls.DELETE, chat_id, message_id, {"reason": reason})

    @classmethod
    def reply(cls, chat_id: int, message_id: int, text: str) -> Decision:
        """Answer the message in its chat (and topic), as a reply to it."""
        return cls(cls.REPLY, chat_id, message_id, {"text": text})

    @classmethod
    def restrict(cls, chat_id: int, user_id: int, until: int, reason: str) -> Decision:
        """Take a member's right to send messages until `until` (Unix time; 0 for ever)."""
        return cls(
            cls.RESTRICT, chat_id, None, {"user_id": user_id, "until": until, "reason": reason}
        )


class Watcher(Protocol):
    """Judges each new group message once, in order per chat; returns decisions as data."""

    @property
    def name(self) -> str:
        """A stable name: decisions and errors are counted and logged under it."""
        ...

    @property
    def wants_edits(self) -> bool:
        """Whether edited messages are judged too (new messages always are)."""
        ...

    async def watch(self, message: WatchedMessage) -> Sequence[Decision]:
        """The decisions about `message`; an empty sequence for most messages."""
        ...
