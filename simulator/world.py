"""The simulated Telegram: accounts, chats, members and messages, and what people do in them."""

from __future__ import annotations

import itertools
import mimetypes
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from simulator.errors import SimulatorError
from simulator.faults import Fault, FaultKind, FaultPlan
from simulator.flood import FloodControl, FloodLimits
from simulator.models import (
    ALL_ADMIN_RIGHTS,
    GROUP_ANONYMOUS_BOT,
    PERMISSIONS,
    TELEGRAM_SERVICE,
    BotAccount,
    Call,
    Chat,
    InviteLink,
    Member,
    StoredMessage,
    UserAccount,
)
from simulator.spec import UploadedFile
from simulator.text import auto_entities
from simulator.updates import UpdateQueue, WebhookConfig, WebhookDelivery

MESSAGE_KINDS = ("text", "photo", "sticker", "poll", "document")


@dataclass
class StoredFile:
    """A file a bot or member sent, served back by getFile and /file/bot<token>/<path>."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes


@dataclass
class CallbackRecord:
    """A pressed inline button, waiting for answerCallbackQuery."""

    id: str
    bot_id: int
    user_id: int
    created: float
    answer: dict[str, Any] | None = None


@dataclass
class BotState:
    """Everything the simulator keeps per bot: its queue, limiter, webhook and commands."""

    account: BotAccount
    queue: UpdateQueue
    flood: FloodControl
    webhook: WebhookConfig | None = None
    delivery: WebhookDelivery | None = None
    commands: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class World:
    """The state of the simulated Telegram and the control operations tests use to act in it.

    Control operations are synchronous: they change state and queue updates at once, waking any
    long poll, so a test can post and then await the bot's reaction in the same event loop.
    """

    def __init__(
        self, flood_limits: FloodLimits | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self._clock_offset = 0.0
        self.flood_limits = flood_limits or FloodLimits()
        self.users: dict[int, UserAccount] = {}
        self.bots: dict[int, BotState] = {}
        self.bots_by_token: dict[str, BotState] = {}
        self.chats: dict[int, Chat] = {}
        self.private_chats: dict[tuple[int, int], Chat] = {}
        self.blocked: set[tuple[int, int]] = set()  # (user_id, bot_id)
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.faults = FaultPlan()
        self.webhook_failures = 0
        self._calls: list[Call] = []
        self._sent: list[tuple[int, int, dict[str, Any]]] = []
        self._user_ids = itertools.count(1_000_000_001)
        self._bot_ids = itertools.count(7_000_000_001)
        self._group_ids = itertools.count(4_000_000_001)
        self._supergroup_ids = itertools.count(2_000_000_001)
        self._file_ids = itertools.count(1)
        self._poll_ids = itertools.count(5_000_000_000_000_000_001)

    # -- time -------------------------------------------------------------------------------

    def now(self) -> float:
        """The simulated time (epoch seconds): `clock()` plus whatever `advance` added."""
        return self.clock() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move simulated time forward (message age, flood windows, 24 h update retention)."""
        self._clock_offset += seconds

    # -- accounts and chats -----------------------------------------------------------------

    def create_bot(
        self,
        username: str = "groupops_bot",
        first_name: str = "GroupOps",
        can_read_all_group_messages: bool = False,
        token: str | None = None,
        allowed_updates: Iterable[str] | None = None,
    ) -> BotAccount:
        """Register a bot as BotFather would; `allowed_updates` presets what getUpdates keeps."""
        bot_id = next(self._bot_ids)
        if token is not None:
            head, _, tail = token.partition(":")
            if not head.isdigit() or not tail:
                raise SimulatorError("a token looks like '123456:ABC...'")
            bot_id = int(head)
        else:
            token = f"{bot_id}:AA{secrets.token_urlsafe(25)[:33]}"
        if bot_id in self.bots:
            raise SimulatorError(f"bot {bot_id} already exists")
        account = BotAccount(
            id=bot_id,
            first_name=first_name,
            username=username,
            language_code=None,
            token=token,
            can_read_all_group_messages=can_read_all_group_messages,
        )
        state = BotState(
            account=account,
            queue=UpdateQueue(self.now, allowed_updates),
            flood=FloodControl(self.flood_limits),
        )
        self.bots[bot_id] = state
        self.bots_by_token[token] = state
        return account

    def create_user(
        self,
        first_name: str = "Alice",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        is_bot: bool = False,
    ) -> UserAccount:
        """Register a person (is_bot=True makes a bot account no one controls)."""
        user = UserAccount(
            id=next(self._user_ids),
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_bot=is_bot,
        )
        self.users[user.id] = user
        return user

    def create_group(
        self,
        title: str = "Test group",
        creator_id: int | None = None,
        type: str = "supergroup",
        is_forum: bool = False,
        username: str | None = None,
    ) -> int:
        """Create a group or supergroup owned by `creator_id`; returns its (negative) chat id."""
        if type not in ("group", "supergroup"):
            raise SimulatorError("type is 'group' or 'supergroup'")
        if creator_id is None:
            creator_id = self.create_user(first_name="Owner").id
        self._user(creator_id)
        if type == "group":
            chat_id = -next(self._group_ids)
        else:
            chat_id = -(1_000_000_000_000 + next(self._supergroup_ids))
        chat = Chat(
            id=chat_id,
            type=type,
            title=title,
            username=username,
            is_forum=is_forum and type == "supergroup",
            creator_id=creator_id,
        )
        chat.members[creator_id] = Member(status="creator")
        self.chats[chat_id] = chat
        return chat_id

    def create_channel(self, title: str = "Test channel", username: str | None = None) -> int:
        """Create a channel (a source for forwards and linked-channel posts)."""
        chat_id = -(1_000_000_000_000 + next(self._supergroup_ids))
        self.chats[chat_id] = Chat(id=chat_id, type="channel", title=title, username=username)
        return chat_id

    def start_private(
        self, user_id: int, bot_id: int | None = None, text: str = "/start"
    ) -> dict[str, Any]:
        """The user opens the bot's private chat and sends /start (or `text`)."""
        bot = self._bot(bot_id)
        user = self._user(user_id)
        chat = self._private(bot.account.id, user.id, create=True)
        self.blocked.discard((user.id, bot.account.id))
        return self._post_content(chat, user.as_user(), user.id, text, "text")

    def block_bot(self, user_id: int, bot_id: int | None = None) -> None:
        """The user blocks the bot; sends then answer 403 "bot was blocked by the user"."""
        bot = self._bot(bot_id)
        user = self._user(user_id)
        chat = self._private(bot.account.id, user.id, create=True)
        self.blocked.add((user.id, bot.account.id))
        payload = {
            "chat": chat.as_chat(),
            "from": user.as_user(),
            "date": int(self.now()),
            "old_chat_member": {"status": "member", "user": bot.account.as_user()},
            "new_chat_member": {"status": "kicked", "user": bot.account.as_user(), "until_date": 0},
        }
        bot.queue.push("my_chat_member", payload)

    # -- membership -------------------------------------------------------------------------

    def add_bot(
        self,
        chat_id: int,
        bot_id: int,
        admin: bool = True,
        rights: Iterable[str] | None = None,
        by_id: int | None = None,
    ) -> None:
        """The owner (or `by_id`) adds a bot, as an admin with `rights` (None = all) or a member."""
        chat = self._group(chat_id)
        bot = self._bot(bot_id)
        actor = by_id if by_id is not None else chat.creator_id
        assert actor is not None
        if chat.member(bot_id).present:
            raise SimulatorError(f"bot {bot_id} is already in chat {chat_id}")
        if admin:
            member = Member(status="administrator", rights=_rights(rights), promoted_by=actor)
        else:
            member = Member(status="member")
        self._set_member(chat, bot_id, member, actor)
        self._service(chat, actor, {"new_chat_members": [bot.account.as_user()]})

    def join(
        self,
        chat_id: int,
        user_id: int,
        inviter_id: int | None = None,
        invite_link: str | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user joins (added by `inviter_id`, through `invite_link`, or by themselves)."""
        if user_id in self.bots:
            self.add_bot(chat_id, user_id, admin=False, by_id=inviter_id)
            return self._group(chat_id).visible()[-1].data
        chat = self._group(chat_id)
        user = self._user(user_id)
        current = chat.member(user_id)
        if current.present:
            raise SimulatorError(f"user {user_id} is already in chat {chat_id}")
        if current.status == "kicked":
            raise SimulatorError(f"user {user_id} is banned from chat {chat_id}")
        link = self._use_link(chat, invite_link) if invite_link is not None else None
        if current.status == "restricted":
            # Restrictions follow a member out of the chat and back in.
            member = Member(
                status="restricted",
                permissions=dict(current.permissions),
                is_member=True,
                until_date=current.until_date,
            )
        else:
            member = Member(status="member")
        actor = inviter_id if inviter_id is not None else user_id
        message = self._service(chat, actor, {"new_chat_members": [user.as_user()]})
        self._set_member(chat, user_id, member, actor, link)
        return message

    def leave(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """A member (or bot) leaves the chat."""
        chat = self._group(chat_id)
        current = chat.member(user_id)
        if not current.present:
            raise SimulatorError(f"{user_id} is not in chat {chat_id}")
        if current.status == "creator":
            raise SimulatorError("the creator cannot leave in the simulator")
        account = self._account(user_id)
        message = self._service(chat, user_id, {"left_chat_member": account.as_user()})
        if current.status == "restricted":
            member = Member(
                status="restricted",
                permissions=dict(current.permissions),
                until_date=current.until_date,
            )
        else:
            member = Member(status="left")
        self._set_member(chat, user_id, member, user_id)
        return message

    def promote(
        self,
        chat_id: int,
        user_id: int,
        rights: Iterable[str] | None = None,
        is_anonymous: bool = False,
        custom_title: str | None = None,
        by_id: int | None = None,
    ) -> None:
        """The owner makes a member (or bot) an administrator with `rights` (None = all)."""
        chat = self._group(chat_id)
        current = chat.member(user_id)
        if not current.present:
            raise SimulatorError(f"{user_id} is not in chat {chat_id}")
        if current.status == "creator":
            raise SimulatorError("the creator is already above administrators")
        actor = by_id if by_id is not None else chat.creator_id
        assert actor is not None
        member = Member(
            status="administrator",
            rights=_rights(rights),
            is_anonymous=is_anonymous,
            custom_title=custom_title,
            promoted_by=actor,
        )
        self._set_member(chat, user_id, member, actor)

    def demote(self, chat_id: int, user_id: int, by_id: int | None = None) -> None:
        """An administrator becomes an ordinary member again."""
        chat = self._group(chat_id)
        if chat.member(user_id).status != "administrator":
            raise SimulatorError(f"{user_id} is not an administrator of chat {chat_id}")
        actor = by_id if by_id is not None else chat.creator_id
        assert actor is not None
        self._set_member(chat, user_id, Member(status="member"), actor)

    def ban(
        self, chat_id: int, user_id: int, by_id: int | None = None, until_date: int = 0
    ) -> None:
        """An admin (the owner unless `by_id`) bans a member or bot: removed and kept out."""
        chat = self._group(chat_id)
        actor = by_id if by_id is not None else chat.creator_id
        assert actor is not None
        self.apply_ban(chat, user_id, actor, until_date)

    def unban(self, chat_id: int, user_id: int, by_id: int | None = None) -> None:
        """Lift a ban; the user may join again."""
        chat = self._group(chat_id)
        actor = by_id if by_id is not None else chat.creator_id
        assert actor is not None
        if chat.member(user_id).status == "kicked":
            self._set_member(chat, user_id, Member(status="left"), actor)

    def restrict(
        self,
        chat_id: int,
        user_id: int,
        permissions: dict[str, bool] | None = None,
        until_date: int = 0,
        by_id: int | None = None,
    ) -> None:
        """An admin restricts a member to `permissions` (None = may not send anything)."""
        chat = self._group(chat_id)
        actor = by_id if by_id is not None else chat.creator_id
        assert actor is not None
        self.apply_restriction(chat, user_id, permissions or {}, until_date, actor)

    # -- what members do --------------------------------------------------------------------

    def post(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = "hi",
        reply_to: int | None = None,
        thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        kind: str = "text",
        date: float | None = None,
    ) -> dict[str, Any]:
        """A member posts; returns the Message as a bot would see it.

        `kind` is text, photo, sticker, poll or document (`text` becomes the caption, sticker
        emoji or poll question). `date` back-dates the message (e.g. to test the 48 h delete
        limit). Entities are detected as Telegram does unless given.
        """
        chat = self._group(chat_id)
        user = self._user(user_id)
        member = chat.member(user_id)
        if not member.present:
            raise SimulatorError(f"user {user_id} is not a member of chat {chat_id}")
        if member.status == "restricted" and not member.permissions.get("can_send_messages"):
            raise SimulatorError(f"user {user_id} is restricted from sending in chat {chat_id}")
        return self._post_content(
            chat, user.as_user(), user_id, text, kind, reply_to, thread_id, entities, date
        )

    def post_as_chat(
        self,
        chat_id: int,
        text: str = "hi",
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """An anonymous admin posts: sender_chat is the group, from is GroupAnonymousBot."""
        chat = self._group(chat_id)
        return self._post_content(
            chat,
            dict(GROUP_ANONYMOUS_BOT),
            None,
            text,
            "text",
            reply_to,
            thread_id,
            extra={"sender_chat": chat.as_chat(), "author_signature": None},
        )

    def post_from_channel(
        self, chat_id: int, channel_id: int, text: str = "news"
    ) -> dict[str, Any]:
        """The group's linked channel posts; Telegram forwards it into the group automatically."""
        chat = self._group(chat_id)
        channel = self._chat(channel_id)
        if channel.type != "channel":
            raise SimulatorError(f"{channel_id} is not a channel")
        post_id = channel.take_message_id()
        channel.messages[post_id] = StoredMessage(
            data={
                "message_id": post_id,
                "date": int(self.now()),
                "chat": channel.as_chat(),
                "text": text,
            },
            sender_id=None,
        )
        origin = {
            "type": "channel",
            "date": int(self.now()),
            "chat": channel.as_chat(),
            "message_id": post_id,
        }
        return self._post_content(
            chat,
            dict(TELEGRAM_SERVICE),
            None,
            text,
            "text",
            extra={
                "sender_chat": channel.as_chat(),
                "is_automatic_forward": True,
                "forward_origin": origin,
            },
        )

    def forward(
        self,
        chat_id: int,
        user_id: int,
        from_chat_id: int | None = None,
        text: str = "forwarded",
        origin_user_id: int | None = None,
        kind: str = "text",
    ) -> dict[str, Any]:
        """A member forwards a message from another chat or person (forward_origin is set)."""
        date = int(self.now()) - 60
        if from_chat_id is not None:
            source = self._chat(from_chat_id)
            if source.type == "channel":
                origin: dict[str, Any] = {
                    "type": "channel",
                    "date": date,
                    "chat": source.as_chat(),
                    "message_id": source.take_message_id(),
                }
            else:
                origin = {"type": "chat", "date": date, "sender_chat": source.as_chat()}
        elif origin_user_id is not None:
            origin = {
                "type": "user",
                "date": date,
                "sender_user": self._account(origin_user_id).as_user(),
            }
        else:
            origin = {"type": "hidden_user", "date": date, "sender_user_name": "Hidden"}
        chat = self._group(chat_id)
        user = self._user(user_id)
        if not chat.member(user_id).present:
            raise SimulatorError(f"user {user_id} is not a member of chat {chat_id}")
        return self._post_content(
            chat, user.as_user(), user_id, text, kind, extra={"forward_origin": origin}
        )

    def edit(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The author edits their message; bots that could see it get edited_message."""
        chat = self._chat(chat_id)
        stored = self.message(chat, message_id)
        if stored.sender_id in self.bots:
            raise SimulatorError("bots edit their messages through the Bot API")
        body = "text" if "text" in stored.data else "caption"
        data = {**stored.data, body: text, "edit_date": int(self.now())}
        entities_key = "caption_entities" if body == "caption" else "entities"
        data.pop(entities_key, None)
        if found := auto_entities(text):
            data[entities_key] = found
        stored.data = data
        self._dispatch(chat, stored, "edited_message")
        return data

    def delete(self, chat_id: int, message_id: int) -> None:
        """A member deletes a message (bots get no update for this, as in Telegram)."""
        chat = self._chat(chat_id)
        self.message(chat, message_id).deleted = True

    def react(
        self, chat_id: int, message_id: int, user_id: int, emojis: Iterable[str]
    ) -> dict[str, Any] | None:
        """A member sets their reactions on a message ([] removes them): message_reaction."""
        chat = self._group(chat_id)
        user = self._user(user_id)
        stored = self.message(chat, message_id)
        new = [{"type": "emoji", "emoji": emoji} for emoji in emojis]
        old = stored.reactions.get(user_id, [])
        if new:
            stored.reactions[user_id] = new
        else:
            stored.reactions.pop(user_id, None)
        payload = {
            "chat": chat.as_chat(),
            "message_id": message_id,
            "user": user.as_user(),
            "date": int(self.now()),
            "old_reaction": old,
            "new_reaction": new,
        }
        for bot in self._bots_in(chat):
            # Reaction updates go to administrator bots only.
            if chat.member(bot.account.id).is_admin:
                bot.queue.push("message_reaction", payload)
        return payload

    def react_anonymous(
        self, chat_id: int, message_id: int, counts: dict[str, int]
    ) -> dict[str, Any]:
        """Anonymous reactions change (channel-style counts): message_reaction_count."""
        chat = self._chat(chat_id)
        stored = self.message(chat, message_id)
        stored.anonymous_reactions = {emoji: n for emoji, n in counts.items() if n > 0}
        payload = {
            "chat": chat.as_chat(),
            "message_id": message_id,
            "date": int(self.now()),
            "reactions": [
                {"type": {"type": "emoji", "emoji": emoji}, "total_count": n}
                for emoji, n in stored.anonymous_reactions.items()
            ],
        }
        for bot in self._bots_in(chat):
            if chat.member(bot.account.id).is_admin:
                bot.queue.push("message_reaction_count", payload)
        return payload

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        data: str | None = None,
        bot_id: int | None = None,
    ) -> str:
        """A member presses an inline button under a bot's message; returns the query id.

        `data` must be the callback_data of one of the message's buttons (None = the first).
        A positive chat_id is the person's private chat with a bot (`bot_id`, or the only bot).
        """
        if chat_id > 0:
            chat = self._private(self._bot(bot_id).account.id, chat_id, create=False)
        else:
            chat = self._chat(chat_id)
        user = self._user(user_id)
        stored = self.message(chat, message_id)
        if stored.sender_id not in self.bots:
            raise SimulatorError("only a bot's message can carry inline buttons")
        buttons = stored.callback_data()
        if not buttons:
            raise SimulatorError(f"message {message_id} has no callback buttons")
        if data is None:
            data = buttons[0]
        elif data not in buttons:
            raise SimulatorError(f"no button with callback_data {data!r}; there are {buttons}")
        query_id = str(secrets.randbits(63))
        bot = self.bots[stored.sender_id]
        self.callbacks[query_id] = CallbackRecord(query_id, bot.account.id, user_id, self.now())
        payload = {
            "id": query_id,
            "from": user.as_user(),
            "message": stored.data,
            "chat_instance": str(abs(hash((chat.id, bot.account.id))) % 10**18),
            "data": data,
        }
        bot.queue.push("callback_query", payload)
        return query_id

    def migrate_to_supergroup(self, chat_id: int) -> int:
        """Upgrade a basic group; both chats get their migrate_* service message."""
        old = self._group(chat_id)
        if old.type != "group":
            raise SimulatorError(f"chat {chat_id} is not a basic group")
        new_id = -(1_000_000_000_000 + next(self._supergroup_ids))
        actor = old.creator_id
        assert actor is not None
        self._service(old, actor, {"migrate_to_chat_id": new_id})
        new = Chat(
            id=new_id,
            type="supergroup",
            title=old.title,
            username=old.username,
            creator_id=old.creator_id,
            members={k: Member(**vars(m)) for k, m in old.members.items()},
            permissions=dict(old.permissions),
            migrated_from=old.id,
        )
        self.chats[new_id] = new
        old.migrated_to = new_id
        self._service(new, actor, {"migrate_from_chat_id": old.id})
        return new_id

    def create_invite_link(
        self,
        chat_id: int,
        creator_id: int,
        name: str | None = None,
        expire_date: int | None = None,
        member_limit: int | None = None,
        creates_join_request: bool = False,
    ) -> dict[str, Any]:
        """A member or admin makes an invite link; returns the ChatInviteLink (full link)."""
        chat = self._group(chat_id)
        creator = self._account(creator_id)
        link = self.new_invite_link(
            chat, creator_id, name, expire_date, member_limit, creates_join_request
        )
        return link.as_object(creator.as_user(), hide_secret=False)

    # -- reading the world ------------------------------------------------------------------

    def calls(self, bot_id: int | None = None) -> list[Call]:
        """Every Bot API request (of one bot, or all), in the order they were answered."""
        return [c for c in self._calls if bot_id is None or c.bot_id == bot_id]

    def sent(self, chat_id: int, bot_id: int | None = None) -> list[dict[str, Any]]:
        """Messages bots sent to a chat, in order, as they were returned to the bot."""
        return [m for b, c, m in self._sent if c == chat_id and (bot_id is None or b == bot_id)]

    def history(self, chat_id: int, bot_id: int | None = None) -> list[dict[str, Any]]:
        """What members see now: visible messages oldest first, edits applied, deletions gone.

        A positive chat_id is a person's private chat with a bot (`bot_id`, or the only bot).
        """
        if chat_id > 0:
            bot = self._bot(bot_id)
            chat = self._private(bot.account.id, chat_id, create=False)
        else:
            chat = self._chat(chat_id)
        return [m.data for m in chat.visible()]

    def member_status(self, chat_id: int, user_id: int) -> str:
        """creator / administrator / member / restricted / left / kicked."""
        return self._chat(chat_id).member(user_id).status

    def member_rights(self, chat_id: int, user_id: int) -> set[str]:
        """An administrator's rights (every right for the creator)."""
        member = self._chat(chat_id).member(user_id)
        return set(ALL_ADMIN_RIGHTS) if member.status == "creator" else set(member.rights)

    def reactions(self, chat_id: int, message_id: int) -> dict[int, list[str]]:
        """Who reacted to a message with what (user or bot id -> emojis)."""
        stored = self.message(self._chat(chat_id), message_id)
        return {
            actor: [r.get("emoji", r.get("custom_emoji_id", "")) for r in found]
            for actor, found in stored.reactions.items()
        }

    def pinned(self, chat_id: int) -> list[int]:
        """Pinned message ids, most recent first."""
        return list(self._chat(chat_id).pinned)

    def callback_answer(self, query_id: str) -> dict[str, Any] | None:
        """How the bot answered a button press (text, show_alert, url), or None if it did not."""
        record = self.callbacks.get(query_id)
        if record is None:
            raise SimulatorError(f"no callback query {query_id}")
        return record.answer

    def commands(self, bot_id: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """The bot's command lists, keyed by scope JSON and language code."""
        return dict(self._bot(bot_id).commands)

    def updates_pending(self, bot_id: int | None = None) -> int:
        """Updates queued for the bot and not yet confirmed (by offset or webhook delivery)."""
        return len(self._bot(bot_id).queue)

    def inject_fault(
        self,
        method: str,
        kind: FaultKind | str,
        count: int = 1,
        retry_after: int = 5,
        status: int = 500,
        applied: bool = False,
        bot_id: int | None = None,
    ) -> None:
        """Make the next `count` calls of `method` fail as `kind`.

        `applied=True` lets the call take effect before the answer is lost, the case that
        tests "nothing twice". SERVER_ERROR answers `status` (500 or 502).
        """
        self.faults.add(
            Fault(method.lower(), FaultKind(kind), count, retry_after, status, applied, bot_id)
        )

    def set_webhook_failures(self, n: int) -> None:
        """The next `n` webhook deliveries fail (as if the target refused the connection)."""
        self.webhook_failures = n

    def take_webhook_failure(self) -> bool:
        """Consume one simulated webhook failure, if any are left."""
        if self.webhook_failures > 0:
            self.webhook_failures -= 1
            return True
        return False

    # -- helpers the Bot API methods share ---------------------------------------------------

    def record_call(self, call: Call) -> None:
        """Keep a request for `calls()`."""
        self._calls.append(call)

    def record_sent(self, bot_id: int, chat_id: int, message: dict[str, Any]) -> None:
        """Keep a message a bot sent for `sent()`."""
        self._sent.append((bot_id, chat_id, message))

    def message(self, chat: Chat, message_id: int) -> StoredMessage:
        """A visible message, or SimulatorError."""
        stored = chat.messages.get(message_id)
        if stored is None or stored.deleted:
            raise SimulatorError(f"no message {message_id} in chat {chat.id}")
        return stored

    def private_chat(self, bot_id: int, user_id: int) -> Chat | None:
        """The bot's private chat with a person, if they ever opened it."""
        return self.private_chats.get((bot_id, user_id))

    def store_message(
        self, chat: Chat, data: dict[str, Any], sender_id: int | None, service: bool = False
    ) -> StoredMessage:
        """Keep a message and queue it for the bots that can see it."""
        stored = StoredMessage(data=data, sender_id=sender_id, service=service)
        chat.messages[data["message_id"]] = stored
        self._dispatch(chat, stored, "message")
        return stored

    def new_message(
        self,
        chat: Chat,
        sender: dict[str, Any] | None,
        reply_to: int | None = None,
        thread_id: int | None = None,
        date: float | None = None,
    ) -> dict[str, Any]:
        """The common head of a new Message: id, sender, date, chat, thread and reply."""
        data: dict[str, Any] = {"message_id": chat.take_message_id()}
        if sender is not None:
            data["from"] = sender
        data["date"] = int(self.now() if date is None else date)
        data["chat"] = chat.as_chat()
        if reply_to is not None:
            target = self.message(chat, reply_to)
            data["reply_to_message"] = {
                k: v for k, v in target.data.items() if k != "reply_to_message"
            }
            thread_id = thread_id or target.data.get("message_thread_id")
        if thread_id and chat.is_forum:
            data["message_thread_id"] = thread_id
            data["is_topic_message"] = True
        return data

    def new_file(self, folder: str, suffix: str, content: bytes) -> StoredFile:
        """Register a file so getFile and the file endpoint can serve it."""
        n = next(self._file_ids)
        stored = StoredFile(
            file_id=f"BQACAgIAAx{n:08d}{secrets.token_urlsafe(12)}",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{folder}/file_{n}{suffix}",
            content=content,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    def media(
        self, kind: str, text: str | None, upload: UploadedFile | None = None
    ) -> dict[str, Any]:
        """The content fields of a photo, document, sticker or poll message."""
        content = upload.content if upload else secrets.token_bytes(64)
        if kind == "photo":
            file = self.new_file("photos", ".jpg", content)
            return {"photo": [self._photo_size(file, 1280, len(content))]}
        if kind == "document":
            name = upload.filename if upload else "document.pdf"
            file = self.new_file("documents", "", content)
            return {
                "document": {
                    "file_id": file.file_id,
                    "file_unique_id": file.file_unique_id,
                    "file_name": name,
                    "mime_type": _mime_type(upload) if upload else "application/pdf",
                    "file_size": len(content),
                }
            }
        if kind == "sticker":
            file = self.new_file("stickers", ".webp", content)
            return {
                "sticker": {
                    "file_id": file.file_id,
                    "file_unique_id": file.file_unique_id,
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                    "emoji": text or "🙂",
                }
            }
        if kind == "poll":
            return {
                "poll": {
                    "id": str(next(self._poll_ids)),
                    "question": text or "Poll?",
                    "options": [
                        {"text": option, "voter_count": 0, "persistent_id": str(i)}
                        for i, option in enumerate(("Yes", "No"))
                    ],
                    "total_voter_count": 0,
                    "is_closed": False,
                    "is_anonymous": True,
                    "type": "regular",
                    "allows_multiple_answers": False,
                    "allows_revoting": False,
                    "members_only": False,
                }
            }
        raise SimulatorError(f"kind is one of {MESSAGE_KINDS}")

    def new_invite_link(
        self,
        chat: Chat,
        creator_id: int,
        name: str | None = None,
        expire_date: int | None = None,
        member_limit: int | None = None,
        creates_join_request: bool = False,
    ) -> InviteLink:
        """Make and keep an invite link."""
        link = InviteLink(
            link=f"https://t.me/+{secrets.token_urlsafe(12)}",
            creator_id=creator_id,
            chat_id=chat.id,
            name=name,
            expire_date=expire_date,
            member_limit=member_limit,
            creates_join_request=creates_join_request,
        )
        chat.invite_links[link.link] = link
        return link

    def apply_ban(self, chat: Chat, user_id: int, actor: int, until_date: int) -> None:
        """Remove and ban a member; a present member leaves with a service message."""
        current = chat.member(user_id)
        if current.status == "creator":
            raise SimulatorError("the creator cannot be banned")
        account = self._account(user_id)
        if current.present:
            self._service(chat, actor, {"left_chat_member": account.as_user()})
        self._set_member(chat, user_id, Member(status="kicked", until_date=until_date), actor)

    def apply_restriction(
        self,
        chat: Chat,
        user_id: int,
        permissions: dict[str, bool],
        until_date: int,
        actor: int,
    ) -> None:
        """Restrict a member; granting everything the chat allows lifts the restriction."""
        current = chat.member(user_id)
        full = {name: permissions.get(name, False) for name in PERMISSIONS}
        if all(full[name] or not chat.permissions.get(name) for name in PERMISSIONS):
            if current.status == "restricted":
                status = "member" if current.is_member else "left"
                self._set_member(chat, user_id, Member(status=status), actor)
            return
        member = Member(
            status="restricted",
            permissions=full,
            is_member=current.present,
            until_date=until_date,
        )
        self._set_member(chat, user_id, member, actor)

    def bot_state(self, bot_id: int | None) -> BotState:
        """The bot's state (the only bot when `bot_id` is None)."""
        return self._bot(bot_id)

    def account(self, account_id: int) -> UserAccount:
        """A user or bot account."""
        return self._account(account_id)

    def chat(self, chat_id: int) -> Chat:
        """A group, supergroup or channel (SimulatorError if unknown)."""
        return self._chat(chat_id)

    # -- internals ----------------------------------------------------------------------------

    def _post_content(
        self,
        chat: Chat,
        sender: dict[str, Any],
        sender_id: int | None,
        text: str | None,
        kind: str,
        reply_to: int | None = None,
        thread_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        date: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        data = self.new_message(chat, sender, reply_to, thread_id, date)
        for key, value in (extra or {}).items():
            if value is not None:
                data[key] = value
        if kind == "text":
            if not text:
                raise SimulatorError("a text message needs text")
            data["text"] = text
            found = entities if entities is not None else auto_entities(text)
            if found:
                data["entities"] = found
        else:
            data.update(self.media(kind, text))
            if text and kind in ("photo", "document"):
                data["caption"] = text
                found = entities if entities is not None else auto_entities(text)
                if found:
                    data["caption_entities"] = found
        self.store_message(chat, data, sender_id)
        return data

    def _service(self, chat: Chat, actor_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        data = self.new_message(chat, self._account(actor_id).as_user())
        data.update(fields)
        self.store_message(chat, data, actor_id, service=True)
        return data

    def _dispatch(self, chat: Chat, stored: StoredMessage, kind: str) -> None:
        from_bot = stored.sender_id in self.bots
        for bot in self._bots_in(chat):
            # A bot never receives its own messages, nor (in groups) other bots' messages.
            if bot.account.id == stored.sender_id or (from_bot and not stored.service):
                continue
            if self._sees(bot, chat, stored):
                bot.queue.push(kind, stored.data)

    def _sees(self, bot: BotState, chat: Chat, stored: StoredMessage) -> bool:
        """Privacy mode: what a bot that is not an admin may read in a group."""
        if chat.type == "private" or stored.service:
            return True
        if bot.account.can_read_all_group_messages or chat.member(bot.account.id).is_admin:
            return True
        data = stored.data
        text = data.get("text") or data.get("caption") or ""
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            _, _, addressee = command.partition("@")
            return not addressee or addressee.lower() == (bot.account.username or "").lower()
        reply = data.get("reply_to_message") or {}
        return bool(reply.get("from", {}).get("id") == bot.account.id)

    def _bots_in(self, chat: Chat) -> list[BotState]:
        if chat.type == "private":
            return [self.bots[bot_id] for bot_id, _ in self._private_keys(chat)]
        return [
            self.bots[member_id]
            for member_id, member in chat.members.items()
            if member_id in self.bots and member.present
        ]

    def _private_keys(self, chat: Chat) -> list[tuple[int, int]]:
        return [key for key, found in self.private_chats.items() if found is chat]

    def _set_member(
        self,
        chat: Chat,
        subject_id: int,
        new: Member,
        actor_id: int,
        link: InviteLink | None = None,
    ) -> None:
        old = chat.member(subject_id)
        chat.members[subject_id] = new
        subject = self._account(subject_id).as_user()
        actor = self._account(actor_id).as_user()
        recipients = self._bots_in(chat)
        if subject_id in self.bots and self.bots[subject_id] not in recipients:
            recipients.append(self.bots[subject_id])
        for bot in recipients:
            viewer = bot.account.id
            if viewer == subject_id:
                kind = "my_chat_member"
            elif chat.member(viewer).is_admin:
                kind = "chat_member"
            else:
                continue
            payload: dict[str, Any] = {
                "chat": chat.as_chat(),
                "from": actor,
                "date": int(self.now()),
                "old_chat_member": old.as_chat_member(subject, chat.type, viewer),
                "new_chat_member": new.as_chat_member(subject, chat.type, viewer),
            }
            if link is not None:
                creator = self._account(link.creator_id).as_user()
                payload["invite_link"] = link.as_object(creator, link.creator_id != viewer)
            bot.queue.push(kind, payload)

    def _use_link(self, chat: Chat, invite_link: str | dict[str, Any]) -> InviteLink:
        url = invite_link["invite_link"] if isinstance(invite_link, dict) else invite_link
        link = chat.invite_links.get(url)
        if link is None:
            raise SimulatorError(f"no invite link {url} in chat {chat.id}")
        if link.is_revoked or (link.expire_date and link.expire_date < self.now()):
            raise SimulatorError("the invite link has expired")
        if link.member_limit and link.joined >= link.member_limit:
            raise SimulatorError("the invite link reached its member limit")
        link.joined += 1
        return link

    @staticmethod
    def _photo_size(file: StoredFile, width: int, size: int) -> dict[str, Any]:
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "width": width,
            "height": width * 3 // 4,
            "file_size": size,
        }

    def _account(self, account_id: int) -> UserAccount:
        if account_id in self.users:
            return self.users[account_id]
        if account_id in self.bots:
            return self.bots[account_id].account
        raise SimulatorError(f"no user or bot {account_id}")

    def _user(self, user_id: int) -> UserAccount:
        if user_id not in self.users:
            raise SimulatorError(f"no user {user_id} (bots are added with add_bot)")
        return self.users[user_id]

    def _bot(self, bot_id: int | None) -> BotState:
        if bot_id is None:
            if len(self.bots) != 1:
                raise SimulatorError(f"say which bot (bot_id): there are {len(self.bots)}")
            return next(iter(self.bots.values()))
        if bot_id not in self.bots:
            raise SimulatorError(f"no bot {bot_id}")
        return self.bots[bot_id]

    def _chat(self, chat_id: int) -> Chat:
        if chat_id not in self.chats:
            raise SimulatorError(f"no chat {chat_id}")
        return self.chats[chat_id]

    def _group(self, chat_id: int) -> Chat:
        chat = self._chat(chat_id)
        if not chat.is_group:
            raise SimulatorError(f"chat {chat_id} is not a group")
        if chat.migrated_to is not None:
            raise SimulatorError(f"chat {chat_id} was upgraded to {chat.migrated_to}")
        return chat

    def _private(self, bot_id: int, user_id: int, create: bool) -> Chat:
        key = (bot_id, user_id)
        if key not in self.private_chats:
            if not create:
                raise SimulatorError(f"user {user_id} never opened a chat with bot {bot_id}")
            self.private_chats[key] = Chat(
                id=user_id, type="private", private_user=self._user(user_id)
            )
        return self.private_chats[key]


def _rights(rights: Iterable[str] | None) -> frozenset[str]:
    if rights is None:
        return ALL_ADMIN_RIGHTS
    chosen = frozenset(rights)
    unknown = chosen - ALL_ADMIN_RIGHTS
    if unknown:
        raise SimulatorError(f"unknown admin rights: {sorted(unknown)}")
    # Any other right implies can_manage_chat, as Telegram shows it.
    return chosen | {"can_manage_chat"}


def _mime_type(upload: UploadedFile) -> str:
    """An upload's type as Telegram reports it: the part's own, else read from the file name
    (clients such as aiogram send every part as application/octet-stream)."""
    given = upload.content_type
    if given and given != "application/octet-stream":
        return given
    return mimetypes.guess_type(upload.filename or "")[0] or "application/octet-stream"
