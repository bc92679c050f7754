"""Map raw Bot API updates (the JSON the transports read) straight to domain events.

This is the one mapping: ordinary chat never becomes an aiogram object (parsing one costs more
than recording it). It reads only the fields named in `READS`, which a test checks against the
Bot API spec; fields it does not know are ignored. A value of the wrong type raises
`MalformedUpdate`, and the intake skips that update.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.events import (
    Actor,
    EngagementEvent,
    EventKind,
    GroupMigrated,
    GroupRef,
    MessageKind,
)
from bot.domain.watching import WatchedMessage

GROUP_TYPES = frozenset({"group", "supergroup"})
_LINK_ENTITIES = frozenset({"url", "text_link"})
_MEDIA_FIELDS = ("photo", "video", "animation", "document", "audio", "voice", "video_note")
_OTHER_FIELDS = ("caption", "location", "contact", "dice", "venue", "story")
# A member is in the group in these states; "restricted" only while is_member is true.
_PRESENT = frozenset({"creator", "administrator", "member"})

# Every field this module reads, by Bot API type (tests/unit/test_mapping.py checks each name
# against the spec, and that the module reads no other).
READS: Mapping[str, frozenset[str]] = {
    "Update": frozenset(
        {
            "update_id",
            "message",
            "edited_message",
            "message_reaction",
            "message_reaction_count",
            "chat_member",
        }
    ),
    "Message": frozenset(
        {
            "message_id",
            "message_thread_id",
            "from",
            "sender_chat",
            "date",
            "chat",
            "forward_origin",
            "is_topic_message",
            "reply_to_message",
            "edit_date",
            "text",
            "entities",
            "caption",
            "caption_entities",
            "sticker",
            "poll",
            "forum_topic_created",
            "migrate_to_chat_id",
            "migrate_from_chat_id",
            "reply_markup",
            *_MEDIA_FIELDS,
            *_OTHER_FIELDS,
        }
    ),
    "Chat": frozenset({"id", "type", "title", "username", "is_forum"}),
    "User": frozenset({"id", "is_bot", "first_name", "last_name", "username", "language_code"}),
    "MessageEntity": frozenset({"type", "url"}),
    "MessageOrigin": frozenset({"type"}),
    "InlineKeyboardMarkup": frozenset({"inline_keyboard"}),
    "InlineKeyboardButton": frozenset({"url"}),
    "MessageReactionUpdated": frozenset(
        {"chat", "message_id", "user", "actor_chat", "date", "old_reaction", "new_reaction"}
    ),
    "MessageReactionCountUpdated": frozenset({"chat", "message_id", "date", "reactions"}),
    "ReactionCount": frozenset({"type", "total_count"}),
    "ReactionType": frozenset({"type", "emoji", "custom_emoji_id"}),
    "ChatMemberUpdated": frozenset(
        {"chat", "from", "date", "old_chat_member", "new_chat_member", "invite_link"}
    ),
    "ChatMember": frozenset({"status", "user", "is_member"}),
    "ChatInviteLink": frozenset({"invite_link"}),
}


# The columns' sizes (storage/models.py): a longer value is cut rather than refused.
NAME_LIMIT = 255
HANDLE_LIMIT = 64
LANGUAGE_LIMIT = 16
REACTION_LIMIT = 128


class MalformedUpdate(ValueError):
    """An update whose fields are not what the Bot API promises; the intake skips it."""


@dataclass(frozen=True, slots=True)
class MappedUpdate:
    """What one update carries for us: events to record, a message to judge, a migration."""

    events: Sequence[EngagementEvent]  # shared NOTHING: never to be appended to
    watched: WatchedMessage | None = None
    migration: GroupMigrated | None = None


NOTHING = MappedUpdate(())


def _no_text(chat_id: int) -> bool:
    return False


def map_update(
    raw: Mapping[str, Any], keeps_text: Callable[[int], bool] = _no_text
) -> MappedUpdate:
    """The engagement events a raw update carries; none for private chats and service noise.

    Message text goes into an event only for groups where `keeps_text(chat_id)` says it is
    stored; the watched message always carries it (in memory only).
    """
    update_id = _int(raw.get("update_id"))
    if (message := raw.get("message")) is not None:
        return _new_message(update_id, _dict(message), keeps_text)
    if (message := raw.get("edited_message")) is not None:
        return _edited_message(update_id, _dict(message), keeps_text)
    if (body := raw.get("message_reaction")) is not None:
        return MappedUpdate(_reaction_events(update_id, _dict(body)))
    if (body := raw.get("message_reaction_count")) is not None:
        return MappedUpdate(_reaction_count_events(update_id, _dict(body)))
    if (body := raw.get("chat_member")) is not None:
        return MappedUpdate(_membership_events(update_id, _dict(body)))
    return NOTHING


def _dict(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict:
        raise MalformedUpdate(f"expected an object, got {type(value).__name__}")
    return value


def _int(value: Any) -> int:
    if type(value) is not int:
        raise MalformedUpdate(f"expected an integer, got {type(value).__name__}")
    return value


def _str(value: Any) -> str:
    if type(value) is not str:
        raise MalformedUpdate(f"expected a string, got {type(value).__name__}")
    return value


def _opt_str(value: Any) -> str | None:
    return None if value is None else _str(value)


def _short(value: Any, limit: int) -> str | None:
    """An optional handle or code, cleaned and cut to its column."""
    return None if value is None else clean(_str(value), limit)


def clean(text: str, limit: int | None = None) -> str:
    """`text` as both databases can store it: lone UTF-16 surrogates and NUL characters
    (which PostgreSQL refuses) replaced, and cut to `limit` characters (its column's size:
    PostgreSQL refuses longer, where Telegram's own limits are lower than what can arrive)."""
    if limit is not None and len(text) > limit:
        text = text[:limit]
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


_MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z
_last_stamp: tuple[int, datetime] = (0, datetime.fromtimestamp(0, UTC))


def _time(value: Any) -> datetime:
    """A Unix time as an aware UTC datetime; updates come in bursts within one second."""
    global _last_stamp
    stamp = _int(value)
    if _last_stamp[0] == stamp:
        return _last_stamp[1]
    if not 0 <= stamp <= _MAX_TIMESTAMP:
        raise MalformedUpdate(f"time {stamp} is out of range")
    moment = datetime.fromtimestamp(stamp, UTC)
    _last_stamp = (stamp, moment)
    return moment


# Every update names its group and member; the same few recur, so their (immutable) values are
# reused while nothing in them changes. Bounded: dropped whole when full, then refilled.
_REFS_MAX = 50_000
_groups: dict[tuple[Any, ...], GroupRef] = {}
_actors: dict[tuple[Any, ...], Actor] = {}


def group_ref(chat: Mapping[str, Any]) -> GroupRef:
    key = (
        chat.get("id"),
        chat.get("title"),
        chat.get("type"),
        chat.get("username"),
        chat.get("is_forum"),
    )
    ref = _groups.get(key)
    if ref is None:
        if len(_groups) >= _REFS_MAX:
            _groups.clear()
        title = _opt_str(key[1])
        ref = _groups[key] = GroupRef(
            chat_id=_int(key[0]),
            title=clean(title, NAME_LIMIT) if title else "",
            type=_str(key[2]),
            username=_short(key[3], HANDLE_LIMIT),
            is_forum=key[4] is True,
        )
    return ref


def actor_of(user: Mapping[str, Any]) -> Actor:
    key = (
        user.get("id"),
        user.get("first_name"),
        user.get("last_name"),
        user.get("username"),
        user.get("language_code"),
        user.get("is_bot"),
    )
    actor = _actors.get(key)
    if actor is None:
        if len(_actors) >= _REFS_MAX:
            _actors.clear()
        last_name = _opt_str(key[2])
        actor = _actors[key] = Actor(
            user_id=_int(key[0]),
            first_name=clean(_str(key[1]), NAME_LIMIT),
            last_name=clean(last_name, NAME_LIMIT) if last_name is not None else None,
            username=_short(key[3], HANDLE_LIMIT),
            language_code=_short(key[4], LANGUAGE_LIMIT),
            is_bot=key[5] is True,
        )
    return actor


def message_kind(message: Mapping[str, Any]) -> MessageKind | None:
    """What a message carries; None for service messages (joins, pins, migrations…)."""
    if "forward_origin" in message:
        return MessageKind.FORWARD
    text = message.get("text")
    if text is not None:
        return MessageKind.COMMAND if _str(text).startswith("/") else MessageKind.TEXT
    if "sticker" in message:
        return MessageKind.STICKER
    if "poll" in message:
        return MessageKind.POLL
    for name in _MEDIA_FIELDS:
        if name in message:
            return MessageKind.MEDIA
    for name in _OTHER_FIELDS:
        if name in message:
            return MessageKind.OTHER
    return None


def _entities(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entities = message.get("entities") or message.get("caption_entities")
    if entities is None:
        return []
    if type(entities) is not list:
        raise MalformedUpdate("entities is not a list")
    return [_dict(entity) for entity in entities]


def has_link(message: Mapping[str, Any], body: str, entities: list[Mapping[str, Any]]) -> bool:
    if any(entity.get("type") in _LINK_ENTITIES for entity in entities):
        return True
    return "://" in body or "t.me/" in body or "www." in body


def _message_event(
    dedup_key: str,
    update_id: int,
    kind: EventKind,
    occurred_at: datetime,
    message: Mapping[str, Any],
    chat: Mapping[str, Any],
    kind_of_message: MessageKind | None,
    keeps_text: Callable[[int], bool],
) -> WatchedMessage:
    """A message or edit event (with the text watchers see): the fields both take."""
    group = group_ref(chat)
    reply_user = reply_id = None
    reply = message.get("reply_to_message")
    if reply is not None and "forum_topic_created" not in _dict(reply):
        # In a forum, a message in a topic "replies" to the topic's first message: not a reply.
        reply_id = _int(reply.get("message_id"))
        replied_by = reply.get("from")
        reply_user = _int(_dict(replied_by).get("id")) if replied_by is not None else None
    body = message.get("text")
    if body is None:
        body = message.get("caption")
    body = _str(body) if body is not None else ""
    entities = _entities(message)
    sender_chat = message.get("sender_chat")
    sender = message.get("from")
    thread_id = (
        message.get("message_thread_id") if message.get("is_topic_message") is True else None
    )
    event = EngagementEvent(
        dedup_key=dedup_key,
        update_id=update_id,
        kind=kind,
        group=group,
        occurred_at=occurred_at,
        # An anonymous admin or a linked channel posts as a chat; "from" is then a placeholder.
        actor=actor_of(_dict(sender)) if sender_chat is None and sender is not None else None,
        message_id=_int(message.get("message_id")),
        message_kind=kind_of_message,
        text_length=len(body),
        text=clean(body) if body and keeps_text(group.chat_id) else None,
        reply_to_user_id=reply_user,
        reply_to_message_id=reply_id,
        thread_id=_int(thread_id) if thread_id is not None else None,
        has_link=has_link(message, body, entities),
        sender_chat_id=_int(_dict(sender_chat).get("id")) if sender_chat is not None else None,
    )
    origin = message.get("forward_origin")
    return WatchedMessage(
        event=event,
        text=body,
        forward_origin=_str(_dict(origin).get("type")) if origin is not None else None,
        links=tuple(
            _str(entity.get("url")) for entity in entities if entity.get("type") == "text_link"
        ),
        url_buttons=_url_buttons(message.get("reply_markup")),
    )


def _url_buttons(markup: Any) -> tuple[str, ...]:
    if markup is None:
        return ()
    rows = _dict(markup).get("inline_keyboard") or []
    return tuple(
        _str(button["url"])
        for row in rows
        for button in row
        if _dict(button).get("url") is not None
    )


def _migration(message: Mapping[str, Any], chat_id: int) -> GroupMigrated | None:
    """A group → supergroup migration announced by a service message."""
    if (to := message.get("migrate_to_chat_id")) is not None:
        return GroupMigrated(old_chat_id=chat_id, new_chat_id=_int(to))
    if (source := message.get("migrate_from_chat_id")) is not None:
        return GroupMigrated(old_chat_id=_int(source), new_chat_id=chat_id)
    return None


def _new_message(
    update_id: int, message: Mapping[str, Any], keeps_text: Callable[[int], bool]
) -> MappedUpdate:
    chat = _dict(message.get("chat"))
    if chat.get("type") not in GROUP_TYPES:
        return NOTHING
    kind = message_kind(message)
    if kind is None:
        migration = _migration(message, _int(chat.get("id")))
        return NOTHING if migration is None else MappedUpdate((), migration=migration)
    watched = _message_event(
        EngagementEvent.message_key(_int(chat.get("id")), _int(message.get("message_id"))),
        update_id,
        EventKind.COMMAND if kind is MessageKind.COMMAND else EventKind.MESSAGE,
        _time(message.get("date")),
        message,
        chat,
        kind,
        keeps_text,
    )
    return MappedUpdate([watched.event], watched)


def _edited_message(
    update_id: int, message: Mapping[str, Any], keeps_text: Callable[[int], bool]
) -> MappedUpdate:
    chat = _dict(message.get("chat"))
    if chat.get("type") not in GROUP_TYPES:
        return NOTHING
    edited = message.get("edit_date")
    watched = _message_event(
        EngagementEvent.update_key(update_id),
        update_id,
        EventKind.EDIT,
        _time(edited if edited is not None else message.get("date")),
        message,
        chat,
        message_kind(message),
        keeps_text,
    )
    return MappedUpdate([watched.event], watched)


def _reaction_key(reaction: Any) -> str:
    reaction = _dict(reaction)
    kind = reaction.get("type")
    if kind == "emoji":
        return clean(_str(reaction.get("emoji")), REACTION_LIMIT)
    if kind == "custom_emoji":
        return clean(f"custom:{_str(reaction.get('custom_emoji_id'))}", REACTION_LIMIT)
    return "paid"


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if type(value) is not list:
        raise MalformedUpdate(f"expected a list, got {type(value).__name__}")
    return value


def _reaction_events(update_id: int, body: Mapping[str, Any]) -> list[EngagementEvent]:
    chat = _dict(body.get("chat"))
    if chat.get("type") not in GROUP_TYPES:
        return []
    old = [_reaction_key(r) for r in _list(body.get("old_reaction"))]
    new = [_reaction_key(r) for r in _list(body.get("new_reaction"))]
    changes = [(EventKind.REACTION_ADDED, r) for r in new if r not in old] + [
        (EventKind.REACTION_REMOVED, r) for r in old if r not in new
    ]
    user = body.get("user")
    actor_chat = body.get("actor_chat")
    group = group_ref(chat)
    occurred_at = _time(body.get("date"))
    message_id = _int(body.get("message_id"))
    actor = actor_of(_dict(user)) if user is not None else None
    sender_chat_id = _int(_dict(actor_chat).get("id")) if actor_chat is not None else None
    return [
        EngagementEvent(
            dedup_key=EngagementEvent.update_key(update_id, position),
            update_id=update_id,
            kind=kind,
            group=group,
            occurred_at=occurred_at,
            actor=actor,
            message_id=message_id,
            reaction=reaction,
            reaction_count=1,
            sender_chat_id=sender_chat_id,
        )
        for position, (kind, reaction) in enumerate(changes)
    ]


def _reaction_count_events(update_id: int, body: Mapping[str, Any]) -> list[EngagementEvent]:
    chat = _dict(body.get("chat"))
    if chat.get("type") not in GROUP_TYPES:
        return []
    group = group_ref(chat)
    occurred_at = _time(body.get("date"))
    message_id = _int(body.get("message_id"))
    return [
        EngagementEvent(
            dedup_key=EngagementEvent.update_key(update_id, position),
            update_id=update_id,
            kind=EventKind.REACTION_COUNT,
            group=group,
            occurred_at=occurred_at,
            message_id=message_id,
            reaction=_reaction_key(_dict(count).get("type")),
            reaction_count=_int(count.get("total_count")),
        )
        for position, count in enumerate(_list(body.get("reactions")))
    ]


def is_present(status: str, is_member: bool | None) -> bool:
    """Whether a chat member status means "in the group"."""
    return status in _PRESENT or (status == "restricted" and bool(is_member))


def _membership_events(update_id: int, body: Mapping[str, Any]) -> list[EngagementEvent]:
    chat = _dict(body.get("chat"))
    if chat.get("type") not in GROUP_TYPES:
        return []
    old, new = _dict(body.get("old_chat_member")), _dict(body.get("new_chat_member"))
    was_in = is_present(_str(old.get("status")), old.get("is_member"))
    is_in = is_present(_str(new.get("status")), new.get("is_member"))
    if was_in == is_in:
        return []  # a promotion, demotion or restriction: not a join or leave
    member = actor_of(_dict(new.get("user")))
    if is_in:
        kind = EventKind.JOIN
    elif new.get("status") == "kicked":
        kind = EventKind.KICK
    else:
        kind = EventKind.LEAVE
    by = _int(_dict(body.get("from")).get("id"))
    link = body.get("invite_link")
    return [
        EngagementEvent(
            dedup_key=EngagementEvent.update_key(update_id),
            update_id=update_id,
            kind=kind,
            group=group_ref(chat),
            occurred_at=_time(body.get("date")),
            actor=member,
            inviter_id=by if kind is EventKind.JOIN and by != member.user_id else None,
            invite_link=_str(_dict(link).get("invite_link")) if link is not None else None,
        )
    ]
