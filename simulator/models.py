"""The simulated world's records (accounts, chats, members, messages) and their Bot API JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The administrator rights a ChatMemberAdministrator always carries, in the spec's order.
ADMIN_RIGHTS: tuple[str, ...] = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    # Not in botapi.json (10.1), but aiogram 3.31 requires it on every administrator.
    "can_send_welcome_messages",
)
# Rights that only exist in groups and supergroups (the spec marks them optional for that reason).
GROUP_ADMIN_RIGHTS: tuple[str, ...] = ("can_pin_messages", "can_manage_topics")
ALL_ADMIN_RIGHTS: frozenset[str] = frozenset(ADMIN_RIGHTS + GROUP_ADMIN_RIGHTS)

# ChatPermissions fields; a restricted member carries every one of them.
PERMISSIONS: tuple[str, ...] = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_react_to_messages",
    "can_edit_tag",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
)
# What a new group lets ordinary members do, as Telegram's defaults do.
DEFAULT_PERMISSIONS: dict[str, bool] = {
    name: name not in ("can_change_info", "can_pin_messages", "can_manage_topics")
    for name in PERMISSIONS
}

PRESENT = ("creator", "administrator", "member")

# Telegram's own accounts that appear as senders of anonymous and channel posts.
GROUP_ANONYMOUS_BOT = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
TELEGRAM_SERVICE = {"id": 777000, "is_bot": False, "first_name": "Telegram"}


@dataclass
class UserAccount:
    """A person (or a bot seen as a user): what Telegram puts in User objects."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def as_user(self) -> dict[str, Any]:
        """The User object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code and not self.is_bot:
            user["language_code"] = self.language_code
        return user


@dataclass
class BotAccount(UserAccount):
    """A bot: a user with a token and the privacy setting BotFather would hold."""

    token: str = ""
    can_read_all_group_messages: bool = False
    can_join_groups: bool = True
    is_bot: bool = True

    def as_me(self) -> dict[str, Any]:
        """What getMe answers."""
        return {
            **self.as_user(),
            "can_join_groups": self.can_join_groups,
            "can_read_all_group_messages": self.can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }


@dataclass
class Call:
    """One Bot API request a bot made, as the simulator answered it."""

    method: str
    params: dict[str, Any]
    ok: bool
    error_code: int | None
    description: str | None
    result: Any
    at: float
    bot_id: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form, for the control API."""
        return {
            "method": self.method,
            "params": self.params,
            "ok": self.ok,
            "error_code": self.error_code,
            "description": self.description,
            "result": self.result,
            "at": self.at,
            "bot_id": self.bot_id,
        }


@dataclass
class Member:
    """A user's or bot's standing in one chat."""

    status: str = "left"
    rights: frozenset[str] = frozenset()
    is_anonymous: bool = False
    custom_title: str | None = None
    permissions: dict[str, bool] = field(default_factory=dict)
    is_member: bool = False  # for "restricted": still in the chat or not
    until_date: int = 0
    promoted_by: int | None = None

    @property
    def present(self) -> bool:
        """True if the member is in the chat now (restricted members may have left)."""
        return self.status in PRESENT or (self.status == "restricted" and self.is_member)

    @property
    def is_admin(self) -> bool:
        """True for the creator and administrators."""
        return self.status in ("creator", "administrator")

    def has_right(self, right: str) -> bool:
        """True if the member holds an administrator right (the creator holds them all)."""
        return self.status == "creator" or (self.status == "administrator" and right in self.rights)

    def as_chat_member(
        self, user: dict[str, Any], chat_type: str, viewer_id: int
    ) -> dict[str, Any]:
        """The ChatMember variant for this status, with every field the spec requires."""
        if self.status == "creator":
            body: dict[str, Any] = {"status": "creator", "user": user}
            body["is_anonymous"] = self.is_anonymous
            if self.custom_title:
                body["custom_title"] = self.custom_title
            return body
        if self.status == "administrator":
            body = {
                "status": "administrator",
                "user": user,
                "can_be_edited": self.promoted_by == viewer_id,
                "is_anonymous": self.is_anonymous,
            }
            rights = ADMIN_RIGHTS + (GROUP_ADMIN_RIGHTS if chat_type != "channel" else ())
            body.update({name: name in self.rights for name in rights})
            if self.custom_title:
                body["custom_title"] = self.custom_title
            return body
        if self.status == "restricted":
            body = {"status": "restricted", "user": user, "is_member": self.is_member}
            body.update({name: self.permissions.get(name, False) for name in PERMISSIONS})
            body["until_date"] = self.until_date
            return body
        if self.status == "kicked":
            return {"status": "kicked", "user": user, "until_date": self.until_date}
        return {"status": self.status, "user": user}


@dataclass
class InviteLink:
    """A chat invite link and who made it."""

    link: str
    creator_id: int
    chat_id: int
    name: str | None = None
    expire_date: int | None = None
    member_limit: int | None = None
    creates_join_request: bool = False
    is_primary: bool = False
    is_revoked: bool = False
    joined: int = 0

    def as_object(self, creator: dict[str, Any], hide_secret: bool) -> dict[str, Any]:
        """The ChatInviteLink object; links another admin made are shown with a hidden tail."""
        link = self.link
        if hide_secret:
            # Telegram shows bots other admins' links as "https://t.me/+AbCd…".
            link = link[: len("https://t.me/+") + 4] + "…"
        body: dict[str, Any] = {
            "invite_link": link,
            "creator": creator,
            "creates_join_request": self.creates_join_request,
            "is_primary": self.is_primary,
            "is_revoked": self.is_revoked,
        }
        if self.name:
            body["name"] = self.name
        if self.expire_date:
            body["expire_date"] = self.expire_date
        if self.member_limit:
            body["member_limit"] = self.member_limit
        return body


@dataclass
class StoredMessage:
    """A message in a chat: its current Message object and what the world knows around it."""

    data: dict[str, Any]
    sender_id: int | None  # the user or bot who sent it; None for posts on behalf of a chat
    service: bool = False
    deleted: bool = False
    reactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    anonymous_reactions: dict[str, int] = field(default_factory=dict)

    @property
    def date(self) -> int:
        """When it was sent (epoch seconds)."""
        return int(self.data["date"])

    def callback_data(self) -> list[str]:
        """The callback_data of every inline button under the message."""
        markup = self.data.get("reply_markup") or {}
        return [
            button["callback_data"]
            for row in markup.get("inline_keyboard", [])
            for button in row
            if "callback_data" in button
        ]


@dataclass
class Chat:
    """A private chat, group, supergroup or channel, with its members and messages."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    is_forum: bool = False
    creator_id: int | None = None
    private_user: UserAccount | None = None
    members: dict[int, Member] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    permissions: dict[str, bool] = field(default_factory=lambda: dict(DEFAULT_PERMISSIONS))
    pinned: list[int] = field(default_factory=list)
    invite_links: dict[str, InviteLink] = field(default_factory=dict)
    migrated_to: int | None = None
    migrated_from: int | None = None
    description: str | None = None

    @property
    def is_group(self) -> bool:
        """True for groups and supergroups (where the per-group flood limit applies)."""
        return self.type in ("group", "supergroup")

    @property
    def kind_words(self) -> str:
        """How Telegram names this kind of chat in error messages."""
        return {"group": "group chat", "supergroup": "supergroup chat", "channel": "channel chat"}[
            self.type
        ]

    def as_chat(self) -> dict[str, Any]:
        """The Chat object embedded in messages and updates."""
        if self.type == "private" and self.private_user is not None:
            user = self.private_user
            body: dict[str, Any] = {"id": self.id, "type": "private", "first_name": user.first_name}
            if user.last_name:
                body["last_name"] = user.last_name
            if user.username:
                body["username"] = user.username
            return body
        body = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            body["username"] = self.username
        if self.is_forum:
            body["is_forum"] = True
        return body

    def take_message_id(self) -> int:
        """The next message id in this chat (ids are per chat and never reused)."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def member(self, member_id: int) -> Member:
        """The member record, a "left" one for people never seen here."""
        return self.members.get(member_id) or Member()

    def visible(self) -> list[StoredMessage]:
        """Messages members can still see, oldest first."""
        return [m for _, m in sorted(self.messages.items()) if not m.deleted]
