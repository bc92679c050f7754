"""Map Telegram updates to engagement events (the thin layer between aiogram and the domain)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiogram.types import (
    Chat,
    ChatMemberUpdated,
    Message,
    MessageReactionCountUpdated,
    MessageReactionUpdated,
    ReactionTypeCustomEmoji,
    ReactionTypeEmoji,
    Update,
    User,
)

from bot.domain.events import (
    Actor,
    EngagementEvent,
    EventKind,
    GroupMigrated,
    GroupRef,
    MessageKind,
)

GROUP_TYPES = frozenset({"group", "supergroup"})
_LINK_ENTITIES = frozenset({"url", "text_link"})
_MEDIA_FIELDS = ("photo", "video", "animation", "document", "audio", "voice", "video_note")
# A member is in the group in these states; "restricted" only while is_member is true.
_PRESENT = frozenset({"creator", "administrator", "member"})


def _no_text(chat_id: int) -> bool:
    return False


def events_from_update(
    update: Update, keeps_text: Callable[[int], bool] = _no_text
) -> list[EngagementEvent]:
    """The engagement events an update carries; none for private chats and service noise.

    Message text is carried only for groups where `keeps_text(chat_id)` says it is stored.
    """
    if update.message is not None:
        event = _message_event(update.update_id, update.message, keeps_text)
        return [event] if event is not None else []
    if update.edited_message is not None:
        return _edit_events(update.update_id, update.edited_message, keeps_text)
    if update.message_reaction is not None:
        return _reaction_events(update.update_id, update.message_reaction)
    if update.message_reaction_count is not None:
        return _reaction_count_events(update.update_id, update.message_reaction_count)
    if update.chat_member is not None:
        return _membership_events(update.update_id, update.chat_member)
    return []


def migration_from_message(message: Message) -> GroupMigrated | None:
    """A group → supergroup migration announced by a service message."""
    if message.migrate_to_chat_id is not None:
        return GroupMigrated(old_chat_id=message.chat.id, new_chat_id=message.migrate_to_chat_id)
    if message.migrate_from_chat_id is not None:
        return GroupMigrated(old_chat_id=message.migrate_from_chat_id, new_chat_id=message.chat.id)
    return None


# Every update names its group and member; the same few recur, so their (immutable) values are
# reused while nothing in them changes. Bounded: dropped whole when full, then refilled.
_REFS_MAX = 50_000
_groups: dict[tuple[object, ...], GroupRef] = {}
_actors: dict[tuple[object, ...], Actor] = {}


def group_ref(chat: Chat) -> GroupRef:
    key = (chat.id, chat.title, chat.type, chat.username, chat.is_forum)
    ref = _groups.get(key)
    if ref is None:
        if len(_groups) >= _REFS_MAX:
            _groups.clear()
        ref = _groups[key] = GroupRef(
            chat_id=chat.id,
            title=chat.title or "",
            type=chat.type,
            username=chat.username,
            is_forum=bool(chat.is_forum),
        )
    return ref


def actor_of(user: User) -> Actor:
    key = (user.id, user.first_name, user.last_name, user.username, user.language_code, user.is_bot)
    actor = _actors.get(key)
    if actor is None:
        if len(_actors) >= _REFS_MAX:
            _actors.clear()
        actor = _actors[key] = Actor(
            user_id=user.id,
            first_name=user.first_name,
            last_name=user.last_name,
            username=user.username,
            language_code=user.language_code,
            is_bot=user.is_bot,
        )
    return actor


def message_kind(message: Message) -> MessageKind | None:
    """What a message carries; None for service messages (joins, pins, migrations…)."""
    if message.forward_origin is not None:
        return MessageKind.FORWARD
    text = message.text
    if text is not None:
        if text.startswith("/"):
            return MessageKind.COMMAND
        return MessageKind.TEXT
    if message.sticker is not None:
        return MessageKind.STICKER
    if message.poll is not None:
        return MessageKind.POLL
    for name in _MEDIA_FIELDS:
        if getattr(message, name) is not None:
            return MessageKind.MEDIA
    if message.caption is not None or message.location is not None or message.contact is not None:
        return MessageKind.OTHER
    if message.dice is not None or message.venue is not None or message.story is not None:
        return MessageKind.OTHER
    return None


def has_link(message: Message) -> bool:
    entities = message.entities or message.caption_entities
    if entities and any(entity.type in _LINK_ENTITIES for entity in entities):
        return True
    body = message.text or message.caption or ""
    return "://" in body or "t.me/" in body or "www." in body


def _from_message(
    dedup_key: str,
    update_id: int,
    kind: EventKind,
    occurred_at: datetime,
    message: Message,
    message_kind: MessageKind | None,
    keeps_text: Callable[[int], bool],
) -> EngagementEvent:
    """A message or edit event: the fields both take from the message."""
    chat = message.chat
    reply = message.reply_to_message
    reply_user = None
    reply_id = None
    if reply is not None and reply.forum_topic_created is None:
        # In a forum, a message in a topic "replies" to the topic's first message: not a reply.
        reply_id = reply.message_id
        reply_user = reply.from_user.id if reply.from_user is not None else None
    body = message.text or message.caption
    sender_chat = message.sender_chat
    # An anonymous admin or a linked channel posts as a chat; from_user is then a placeholder bot.
    sender = message.from_user
    return EngagementEvent(
        dedup_key=dedup_key,
        update_id=update_id,
        kind=kind,
        group=group_ref(chat),
        occurred_at=occurred_at,
        actor=actor_of(sender) if sender_chat is None and sender is not None else None,
        message_id=message.message_id,
        message_kind=message_kind,
        text_length=len(body) if body else 0,
        text=body if body and keeps_text(chat.id) else None,
        reply_to_user_id=reply_user,
        reply_to_message_id=reply_id,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        has_link=has_link(message),
        sender_chat_id=sender_chat.id if sender_chat is not None else None,
    )


def _message_event(
    update_id: int, message: Message, keeps_text: Callable[[int], bool]
) -> EngagementEvent | None:
    if message.chat.type not in GROUP_TYPES:
        return None
    kind = message_kind(message)
    if kind is None:
        return None
    return _from_message(
        EngagementEvent.message_key(message.chat.id, message.message_id),
        update_id,
        EventKind.MESSAGE,
        message.date,
        message,
        kind,
        keeps_text,
    )


def _edit_events(
    update_id: int, message: Message, keeps_text: Callable[[int], bool]
) -> list[EngagementEvent]:
    if message.chat.type not in GROUP_TYPES:
        return []
    edited_at: datetime = (
        datetime.fromtimestamp(message.edit_date, tz=message.date.tzinfo)
        if message.edit_date is not None
        else message.date
    )
    return [
        _from_message(
            EngagementEvent.update_key(update_id),
            update_id,
            EventKind.EDIT,
            edited_at,
            message,
            message_kind(message),
            keeps_text,
        )
    ]


def _reaction_key(reaction: object) -> str:
    if isinstance(reaction, ReactionTypeEmoji):
        return reaction.emoji
    if isinstance(reaction, ReactionTypeCustomEmoji):
        return f"custom:{reaction.custom_emoji_id}"
    return "paid"


def _reaction_events(update_id: int, update: MessageReactionUpdated) -> list[EngagementEvent]:
    if update.chat.type not in GROUP_TYPES:
        return []
    old = [_reaction_key(r) for r in update.old_reaction]
    new = [_reaction_key(r) for r in update.new_reaction]
    changes = [(EventKind.REACTION_ADDED, r) for r in new if r not in old] + [
        (EventKind.REACTION_REMOVED, r) for r in old if r not in new
    ]
    actor = actor_of(update.user) if update.user is not None else None
    group = group_ref(update.chat)
    sender_chat_id = update.actor_chat.id if update.actor_chat is not None else None
    return [
        EngagementEvent(
            dedup_key=EngagementEvent.update_key(update_id, position),
            update_id=update_id,
            kind=kind,
            group=group,
            occurred_at=update.date,
            actor=actor,
            message_id=update.message_id,
            reaction=reaction,
            reaction_count=1,
            sender_chat_id=sender_chat_id,
        )
        for position, (kind, reaction) in enumerate(changes)
    ]


def _reaction_count_events(
    update_id: int, update: MessageReactionCountUpdated
) -> list[EngagementEvent]:
    if update.chat.type not in GROUP_TYPES:
        return []
    group = group_ref(update.chat)
    return [
        EngagementEvent(
            dedup_key=EngagementEvent.update_key(update_id, position),
            update_id=update_id,
            kind=EventKind.REACTION_COUNT,
            group=group,
            occurred_at=update.date,
            message_id=update.message_id,
            reaction=_reaction_key(count.type),
            reaction_count=count.total_count,
        )
        for position, count in enumerate(update.reactions)
    ]


def is_present(status: str, is_member: bool | None) -> bool:
    """Whether a chat member status means "in the group"."""
    return status in _PRESENT or (status == "restricted" and bool(is_member))


def _membership_events(update_id: int, update: ChatMemberUpdated) -> list[EngagementEvent]:
    if update.chat.type not in GROUP_TYPES:
        return []
    old, new = update.old_chat_member, update.new_chat_member
    was_in = is_present(old.status, getattr(old, "is_member", None))
    is_in = is_present(new.status, getattr(new, "is_member", None))
    if was_in == is_in:
        return []  # a promotion, demotion or restriction: not a join or leave
    member = new.user
    if is_in:
        kind = EventKind.JOIN
    elif new.status == "kicked":
        kind = EventKind.KICK
    else:
        kind = EventKind.LEAVE
    by = update.from_user
    inviter = by.id if kind is EventKind.JOIN and by.id != member.id else None
    link = update.invite_link.invite_link if update.invite_link is not None else None
    return [
        EngagementEvent(
            dedup_key=EngagementEvent.update_key(update_id),
            update_id=update_id,
            kind=kind,
            group=group_ref(update.chat),
            occurred_at=update.date,
            actor=actor_of(member),
            inviter_id=inviter,
            invite_link=link,
        )
    ]
