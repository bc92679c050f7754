"""The Bot API methods a group bot uses, with Telegram's checks, errors and side effects."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from simulator.errors import BotApiError, SimulatorError
from simulator.models import PERMISSIONS, Chat, StoredMessage
from simulator.spec import UploadedFile
from simulator.text import parse_text, utf16_len
from simulator.updates import WebhookConfig, WebhookDelivery
from simulator.world import BotState, World

MAX_MESSAGE_AGE = 48 * 3600
MAX_TEXT = 4096
MAX_CAPTION = 1024

Handler = Callable[["BotApi", BotState, dict[str, Any]], Any | Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}
# Runs a method call that a webhook answered with (the server records it like any other call).
WebhookReply = Callable[[BotState, dict[str, Any]], Awaitable[None]]


def method(name: str) -> Callable[[Handler], Handler]:
    """Register the implementation of a Bot API method (looked up by lower-case name)."""

    def register(handler: Handler) -> Handler:
        HANDLERS[name.lower()] = handler
        return handler

    return register


def is_posting(method_name: str) -> bool:
    """Methods that post a message count against flood limits."""
    name = method_name.lower()
    return (name.startswith("send") and name != "sendchataction") or name in (
        "copymessage",
        "forwardmessage",
        "copymessages",
        "forwardmessages",
    )


class BotApi:
    """Runs methods for bots against the world; World raises SimulatorError, we answer 400/403."""

    def __init__(
        self,
        world: World,
        webhook_retry_delay: float = 0.05,
        on_webhook_reply: WebhookReply | None = None,
    ) -> None:
        self.world = world
        self.webhook_retry_delay = webhook_retry_delay
        self.on_webhook_reply = on_webhook_reply

    async def execute(self, bot: BotState, name: str, params: dict[str, Any]) -> Any:
        """Run the method; BotApiError carries Telegram's answer for every refusal."""
        handler = HANDLERS.get(name.lower())
        if handler is None:
            raise BotApiError(400, "Bad Request: method not supported by the simulator")
        result = handler(self, bot, params)
        if isinstance(result, Awaitable):
            result = await result
        return result

    # -- shared checks ------------------------------------------------------------------------

    def chat_for(self, bot: BotState, chat_ref: Any, need_member: bool = True) -> Chat:
        """Resolve chat_id (number or @username) and check the bot may act there."""
        world = self.world
        chat_id: int | None = None
        if isinstance(chat_ref, int):
            chat_id = chat_ref
        elif isinstance(chat_ref, str) and chat_ref.lstrip("-").isdigit():
            chat_id = int(chat_ref)
        elif isinstance(chat_ref, str) and chat_ref.startswith("@"):
            name = chat_ref[1:].lower()
            for known in world.chats.values():
                if known.username and known.username.lower() == name:
                    chat_id = known.id
        if chat_id is None:
            raise BotApiError(400, "Bad Request: chat not found")
        if chat_id > 0:
            if chat_id == bot.account.id:
                raise BotApiError(403, "Forbidden: bots can't send messages to bots")
            if chat_id not in world.users:
                raise BotApiError(400, "Bad Request: chat not found")
            private = world.private_chat(bot.account.id, chat_id)
            if private is None:
                raise BotApiError(403, "Forbidden: bot can't initiate conversation with a user")
            if (chat_id, bot.account.id) in world.blocked:
                raise BotApiError(403, "Forbidden: bot was blocked by the user")
            return private
        chat = world.chats.get(chat_id)
        if chat is None:
            raise BotApiError(400, "Bad Request: chat not found")
        if chat.migrated_to is not None:
            raise BotApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        member = chat.member(bot.account.id)
        if need_member and member.status == "kicked":
            raise BotApiError(403, f"Forbidden: bot was kicked from the {chat.kind_words}")
        if need_member and not member.present:
            raise BotApiError(403, f"Forbidden: bot is not a member of the {chat.kind_words}")
        return chat

    def require_right(self, bot: BotState, chat: Chat, right: str, doing: str) -> None:
        """Telegram answers a missing admin right with 400 "not enough rights to …"."""
        if chat.type == "private":
            return
        member = chat.member(bot.account.id)
        # In basic groups every administrator may do everything.
        allowed = member.is_admin if chat.type == "group" else member.has_right(right)
        if not allowed:
            raise BotApiError(400, f"Bad Request: not enough rights to {doing}")

    def flood_check(self, bot: BotState, chat: Chat) -> None:
        """429 with retry_after when the bot posts faster than the limits allow."""
        wait = bot.flood.check(chat.id, chat.is_group, self.world.now())
        if wait:
            raise BotApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})

    def stored(self, chat: Chat, message_id: int, missing: str) -> StoredMessage:
        """A visible message, or 400 with Telegram's wording for this method."""
        found = chat.messages.get(message_id)
        if found is None or found.deleted:
            raise BotApiError(400, f"Bad Request: {missing}")
        return found

    def user_id(self, value: int) -> int:
        """A user id the world knows (people and bots)."""
        if value not in self.world.users and value not in self.world.bots:
            raise BotApiError(400, "Bad Request: user not found")
        return value

    def text_body(
        self,
        text: str | None,
        parse_mode: str | None,
        entities: list[dict[str, Any]] | None,
        caption: bool,
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """Apply parse_mode, check length and emptiness like Telegram."""
        if text is None:
            return None, []
        plain, parsed = parse_text(text, parse_mode)
        if entities is not None:
            parsed = entities
        if caption:
            if utf16_len(plain) > MAX_CAPTION:
                raise BotApiError(400, "Bad Request: message caption is too long")
        else:
            if not plain.strip():
                raise BotApiError(400, "Bad Request: message text is empty")
            if utf16_len(plain) > MAX_TEXT:
                raise BotApiError(400, "Bad Request: message is too long")
        return plain, parsed

    def post(
        self, bot: BotState, p: dict[str, Any], content: dict[str, Any], chat: Chat
    ) -> dict[str, Any]:
        """Create a message a bot sends: flood check, reply target, markup; returns Message."""
        member = chat.member(bot.account.id)
        if member.status == "restricted" and not member.permissions.get("can_send_messages"):
            raise BotApiError(
                400, "Bad Request: not enough rights to send text messages to the chat"
            )
        reply = p.get("reply_parameters")
        if reply is None and "reply_to_message_id" in p:
            reply = {
                "message_id": p["reply_to_message_id"],
                "allow_sending_without_reply": p.get("allow_sending_without_reply", False),
            }
        reply_to = self.reply_target(bot, chat, reply)
        self.flood_check(bot, chat)
        data = self.world.new_message(
            chat, bot.account.as_user(), reply_to, p.get("message_thread_id")
        )
        data.update(content)
        markup = p.get("reply_markup")
        # Only inline keyboards travel with the message; reply keyboards live in the client.
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            data["reply_markup"] = markup
        self.world.store_message(chat, data, bot.account.id)
        self.world.record_sent(bot.account.id, chat.id, data)
        return data

    def reply_target(self, bot: BotState, chat: Chat, params: dict[str, Any] | None) -> int | None:
        """The message a reply points at (400 if it is gone, unless sending without reply)."""
        if not params:
            return None
        if "chat_id" in params and str(params["chat_id"]) != str(chat.id):
            self.chat_for(bot, params["chat_id"])
        found = chat.messages.get(params["message_id"])
        if found is None or found.deleted:
            if params.get("allow_sending_without_reply"):
                return None
            raise BotApiError(400, "Bad Request: message to be replied not found")
        return int(params["message_id"])

    def file_content(self, value: Any, kind: str) -> UploadedFile | None:
        """A new upload, or None for a file_id/URL the world can reuse; 400 for a bad file_id."""
        if isinstance(value, UploadedFile):
            return value
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return UploadedFile(value.rsplit("/", 1)[-1] or kind, value.encode())
        if isinstance(value, str) and value in self.world.files:
            return UploadedFile(kind, self.world.files[value].content)
        raise BotApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


# -- updates and webhooks ---------------------------------------------------------------------


@method("getMe")
def get_me(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    return bot.account.as_me()


@method("getUpdates")
async def get_updates(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    if bot.webhook is not None:
        raise BotApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    limit = p.get("limit", 100)
    limit = 100 if limit <= 0 or limit > 100 else limit
    bot.queue.set_allowed(p.get("allowed_updates"))
    batch = await bot.queue.poll(p.get("offset"), limit, float(p.get("timeout", 0)))
    return [update.as_update() for update in batch]


@method("setWebhook")
async def set_webhook(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    url = p["url"]
    if not url:
        return await delete_webhook(api, bot, p)
    if not url.startswith(("http://", "https://")):
        raise BotApiError(
            400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
        )
    secret = p.get("secret_token")
    if secret is not None and (
        not 1 <= len(secret) <= 256 or not all(c.isalnum() or c in "_-" for c in secret)
    ):
        raise BotApiError(
            400, "Bad Request: bad webhook: secret token contains unallowed characters"
        )
    if bot.delivery is not None:
        await bot.delivery.stop()
    if p.get("drop_pending_updates"):
        bot.queue.drop_all()
    bot.queue.set_allowed(p.get("allowed_updates"))
    bot.webhook = WebhookConfig(
        url=url,
        secret_token=secret,
        max_connections=p.get("max_connections", 40),
        ip_address=p.get("ip_address"),
    )

    async def on_reply(reply: dict[str, Any]) -> None:
        if api.on_webhook_reply is not None:
            await api.on_webhook_reply(bot, reply)

    bot.delivery = WebhookDelivery(
        bot.webhook,
        bot.queue,
        api.world.now,
        api.world.take_webhook_failure,
        on_reply,
        retry_delay=api.webhook_retry_delay,
    )
    bot.delivery.start()
    return True


@method("deleteWebhook")
async def delete_webhook(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    if bot.delivery is not None:
        await bot.delivery.stop()
    bot.delivery = None
    bot.webhook = None
    if p.get("drop_pending_updates"):
        bot.queue.drop_all()
    return True


@method("getWebhookInfo")
def get_webhook_info(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    hook = bot.webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(bot.queue),
    }
    if hook is not None:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.last_error_date:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if bot.queue.allowed:
            info["allowed_updates"] = sorted(bot.queue.allowed)
    return info


# -- sending ----------------------------------------------------------------------------------


@method("sendMessage")
def send_message(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    text, entities = api.text_body(p["text"], p.get("parse_mode"), p.get("entities"), False)
    content: dict[str, Any] = {"text": text}
    if entities:
        content["entities"] = entities
    return api.post(bot, p, content, chat)


def _send_media(api: BotApi, bot: BotState, p: dict[str, Any], kind: str) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    caption, entities = api.text_body(
        p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), True
    )
    upload = api.file_content(p[kind], kind)
    if kind == "photo" and isinstance(p[kind], UploadedFile) and not _is_image(p[kind].content):
        # Telegram decodes an uploaded photo and refuses what it cannot read.
        raise BotApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    content = api.world.media(kind, caption, upload)
    if caption:
        content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
    return api.post(bot, p, content, chat)


_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def _is_image(content: bytes) -> bool:
    """PNG, JPEG, GIF or WebP, by their first bytes."""
    return content.startswith(_IMAGE_MAGIC) or (content[:4] == b"RIFF" and content[8:12] == b"WEBP")


@method("sendPhoto")
def send_photo(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    return _send_media(api, bot, p, "photo")


@method("sendDocument")
def send_document(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    return _send_media(api, bot, p, "document")


_COPIED_FIELDS = (
    "text",
    "entities",
    "photo",
    "document",
    "sticker",
    "poll",
    "caption",
    "caption_entities",
)


def _source(api: BotApi, bot: BotState, p: dict[str, Any], verb: str) -> StoredMessage:
    source_chat = api.chat_for(bot, p["from_chat_id"])
    found = api.stored(source_chat, p["message_id"], f"message to {verb} not found")
    if found.service:
        done = "copied" if verb == "copy" else "forwarded"
        raise BotApiError(400, f"Bad Request: message can't be {done}")
    return found


@method("copyMessage")
def copy_message(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    source = _source(api, bot, p, "copy")
    chat = api.chat_for(bot, p["chat_id"])
    content = {k: v for k, v in source.data.items() if k in _COPIED_FIELDS}
    if "caption" in p:
        caption, entities = api.text_body(
            p["caption"], p.get("parse_mode"), p.get("caption_entities"), True
        )
        content["caption"] = caption
        content.pop("caption_entities", None)
        if entities:
            content["caption_entities"] = entities
    data = api.post(bot, p, content, chat)
    return {"message_id": data["message_id"]}


@method("forwardMessage")
def forward_message(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    source = _source(api, bot, p, "forward")
    chat = api.chat_for(bot, p["chat_id"])
    content = {k: v for k, v in source.data.items() if k in _COPIED_FIELDS}
    original = source.data
    if "sender_chat" in original:
        sender_chat = original["sender_chat"]
        origin: dict[str, Any] = {
            "type": "chat",
            "date": original["date"],
            "sender_chat": sender_chat,
        }
        if sender_chat.get("type") == "channel":
            origin = {
                "type": "channel",
                "date": original["date"],
                "chat": sender_chat,
                "message_id": original["message_id"],
            }
    else:
        origin = {"type": "user", "date": original["date"], "sender_user": original["from"]}
    content["forward_origin"] = original.get("forward_origin", origin)
    return api.post(bot, p, content, chat)


@method("sendChatAction")
def send_chat_action(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    api.chat_for(bot, p["chat_id"])
    return True


# -- editing and deleting ---------------------------------------------------------------------


def _own_message(api: BotApi, bot: BotState, p: dict[str, Any]) -> tuple[Chat, StoredMessage]:
    if "inline_message_id" in p:
        raise BotApiError(400, "Bad Request: inline messages are not supported by the simulator")
    if "chat_id" not in p or "message_id" not in p:
        raise BotApiError(400, "Bad Request: message identifier is not specified")
    chat = api.chat_for(bot, p["chat_id"])
    found = api.stored(chat, p["message_id"], "message to edit not found")
    if found.sender_id != bot.account.id:
        raise BotApiError(400, "Bad Request: message can't be edited")
    return chat, found


_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


def _replace(api: BotApi, found: StoredMessage, changes: dict[str, Any]) -> dict[str, Any]:
    data = {**found.data, **changes}
    data = {k: v for k, v in data.items() if v is not None}
    if data == found.data:
        raise BotApiError(400, _NOT_MODIFIED)
    data["edit_date"] = int(api.world.now())
    found.data = data
    return data


@method("editMessageText")
def edit_message_text(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    if "text" not in p:
        raise BotApiError(400, "Bad Request: message text is empty")
    _, found = _own_message(api, bot, p)
    if "text" not in found.data:
        raise BotApiError(400, "Bad Request: there is no text in the message to edit")
    text, entities = api.text_body(p["text"], p.get("parse_mode"), p.get("entities"), False)
    return _replace(
        api,
        found,
        {
            "text": text,
            "entities": entities or None,
            "reply_markup": p.get("reply_markup"),
            "edit_date": found.data.get("edit_date"),
        },
    )


@method("editMessageReplyMarkup")
def edit_message_reply_markup(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    _, found = _own_message(api, bot, p)
    return _replace(
        api,
        found,
        {"reply_markup": p.get("reply_markup"), "edit_date": found.data.get("edit_date")},
    )


def _check_delete(api: BotApi, bot: BotState, chat: Chat, found: StoredMessage) -> None:
    if api.world.now() - found.date > MAX_MESSAGE_AGE:
        raise BotApiError(400, "Bad Request: message can't be deleted")
    if found.sender_id != bot.account.id:
        api.require_right(bot, chat, "can_delete_messages", "delete messages of other users")


@method("deleteMessage")
def delete_message(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    found = api.stored(chat, p["message_id"], "message to delete not found")
    _check_delete(api, bot, chat, found)
    found.deleted = True
    return True


@method("deleteMessages")
def delete_messages(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    ids = p["message_ids"]
    if not 1 <= len(ids) <= 100:
        raise BotApiError(400, "Bad Request: too many messages to delete")
    chosen: list[StoredMessage] = []
    for message_id in ids:
        found = chat.messages.get(message_id)
        if found is None or found.deleted:
            continue  # the spec: missing messages are skipped
        _check_delete(api, bot, chat, found)
        chosen.append(found)
    if not chosen:
        raise BotApiError(400, "Bad Request: message to delete not found")
    for found in chosen:
        found.deleted = True
    return True


@method("pinChatMessage")
def pin_chat_message(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    api.require_right(bot, chat, "can_pin_messages", "manage pinned messages in the chat")
    found = api.stored(chat, p["message_id"], "message to pin not found")
    if found.service:
        raise BotApiError(400, "Bad Request: message can't be pinned")
    if p["message_id"] in chat.pinned:
        chat.pinned.remove(p["message_id"])
    chat.pinned.insert(0, p["message_id"])
    data = api.world.new_message(chat, bot.account.as_user())
    data["pinned_message"] = {k: v for k, v in found.data.items() if k != "reply_to_message"}
    api.world.store_message(chat, data, bot.account.id, service=True)
    return True


@method("unpinChatMessage")
def unpin_chat_message(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    api.require_right(bot, chat, "can_pin_messages", "manage pinned messages in the chat")
    message_id = p.get("message_id") or (chat.pinned[0] if chat.pinned else None)
    if message_id is None or message_id not in chat.pinned:
        raise BotApiError(400, "Bad Request: message to unpin not found")
    chat.pinned.remove(message_id)
    return True


# -- chats and members ------------------------------------------------------------------------


@method("getChat")
def get_chat(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    info = {
        **chat.as_chat(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }
    if chat.is_group:
        info["permissions"] = dict(chat.permissions)
        if chat.description:
            info["description"] = chat.description
        if chat.pinned:
            info["pinned_message"] = chat.messages[chat.pinned[0]].data
        if chat.migrated_from is not None:
            info["migrated_from_chat_id"] = chat.migrated_from
    return info


@method("getChatMember")
def get_chat_member(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    user_id = api.user_id(p["user_id"])
    user = api.world.account(user_id).as_user()
    if chat.type == "private":
        status = "member" if user_id in (chat.id, bot.account.id) else "left"
        return {"status": status, "user": user}
    return chat.member(user_id).as_chat_member(user, chat.type, bot.account.id)


@method("getChatAdministrators")
def get_chat_administrators(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    if chat.type == "private":
        raise BotApiError(400, "Bad Request: there are no administrators in the private chat")
    with_bots = p.get("return_bots", False)
    return [
        member.as_chat_member(api.world.account(member_id).as_user(), chat.type, bot.account.id)
        for member_id, member in chat.members.items()
        if member.is_admin and (with_bots or member_id not in api.world.bots)
    ]


@method("getChatMemberCount")
def get_chat_member_count(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    if chat.type == "private":
        return 2
    return sum(1 for member in chat.members.values() if member.present)


def _target_member(api: BotApi, bot: BotState, chat: Chat, user_id: int, doing: str) -> None:
    api.user_id(user_id)
    if user_id == bot.account.id:
        raise BotApiError(400, f"Bad Request: can't {doing} self")
    target = chat.member(user_id)
    if target.status == "creator":
        raise BotApiError(400, "Bad Request: can't remove chat owner")
    if target.status == "administrator":
        raise BotApiError(400, "Bad Request: user is an administrator of the chat")


@method("restrictChatMember")
def restrict_chat_member(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    if chat.type != "supergroup":
        raise BotApiError(400, "Bad Request: method is available only for supergroups")
    api.require_right(bot, chat, "can_restrict_members", "restrict/unrestrict chat member")
    _target_member(api, bot, chat, p["user_id"], "restrict")
    permissions = dict(p["permissions"])
    if not p.get("use_independent_chat_permissions"):
        # Without independent permissions Telegram derives the media rights from the old flags.
        if permissions.get("can_send_other_messages") or permissions.get(
            "can_add_web_page_previews"
        ):
            permissions.setdefault("can_send_messages", True)
        if permissions.get("can_send_messages") is False:
            permissions = {name: False for name in PERMISSIONS} | {
                k: v for k, v in permissions.items() if not k.startswith("can_send")
            }
    until = p.get("until_date", 0)
    # Telegram treats less than 30 s or more than 366 days from now as "forever".
    if until and not 30 <= until - api.world.now() <= 366 * 86400:
        until = 0
    try:
        api.world.apply_restriction(chat, p["user_id"], permissions, until, bot.account.id)
    except SimulatorError as exc:
        raise BotApiError(400, f"Bad Request: {exc}") from exc
    return True


@method("banChatMember")
def ban_chat_member(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    api.require_right(bot, chat, "can_restrict_members", "restrict/unrestrict chat member")
    _target_member(api, bot, chat, p["user_id"], "remove")
    until = p.get("until_date", 0)
    if p.get("revoke_messages") or chat.type == "group":
        # Basic groups always lose the banned user's messages; supergroups only when asked.
        for stored in chat.messages.values():
            if stored.sender_id == p["user_id"]:
                stored.deleted = True
    api.world.apply_ban(chat, p["user_id"], bot.account.id, until)
    return True


@method("unbanChatMember")
def unban_chat_member(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    api.require_right(bot, chat, "can_restrict_members", "restrict/unrestrict chat member")
    user_id = api.user_id(p["user_id"])
    current = chat.member(user_id)
    if current.status == "kicked":
        api.world.unban(chat.id, user_id, by_id=bot.account.id)
    elif current.present and not p.get("only_if_banned"):
        if current.is_admin:
            raise BotApiError(400, "Bad Request: user is an administrator of the chat")
        # Unbanning a member removes them: afterwards they are out but may rejoin.
        api.world.apply_ban(chat, user_id, bot.account.id, 0)
        api.world.unban(chat.id, user_id, by_id=bot.account.id)
    return True


@method("createChatInviteLink")
def create_chat_invite_link(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    if chat.type == "private":
        raise BotApiError(400, "Bad Request: can't invite members to a private chat")
    api.require_right(bot, chat, "can_invite_users", "manage chat invite link")
    if p.get("member_limit") and p.get("creates_join_request"):
        raise BotApiError(
            400, "Bad Request: member_limit can't be specified for links requiring approval"
        )
    if p.get("member_limit") is not None and not 1 <= p["member_limit"] <= 99999:
        raise BotApiError(400, "Bad Request: member_limit must be between 1 and 99999")
    link = api.world.new_invite_link(
        chat,
        bot.account.id,
        p.get("name"),
        p.get("expire_date"),
        p.get("member_limit"),
        bool(p.get("creates_join_request")),
    )
    return link.as_object(bot.account.as_user(), hide_secret=False)


@method("setMessageReaction")
def set_message_reaction(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    chat = api.chat_for(bot, p["chat_id"])
    found = api.stored(chat, p["message_id"], "message to react not found")
    reaction = p.get("reaction") or []
    if len(reaction) > 1:
        raise BotApiError(400, "Bad Request: REACTIONS_TOO_MANY")
    if reaction:
        found.reactions[bot.account.id] = reaction
    else:
        found.reactions.pop(bot.account.id, None)
    return True


# -- commands, callbacks, files, session --------------------------------------------------------


def _commands_key(p: dict[str, Any]) -> str:
    scope = p.get("scope") or {"type": "default"}
    return json.dumps({"scope": scope, "language_code": p.get("language_code", "")}, sort_keys=True)


@method("setMyCommands")
def set_my_commands(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    for command in p["commands"]:
        name = command["command"]
        if not (1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)):
            raise BotApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(command["description"]) <= 256:
            raise BotApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    if len(p["commands"]) > 100:
        raise BotApiError(400, "Bad Request: too many commands")
    bot.commands[_commands_key(p)] = list(p["commands"])
    return True


@method("getMyCommands")
def get_my_commands(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    return bot.commands.get(_commands_key(p), [])


@method("deleteMyCommands")
def delete_my_commands(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    bot.commands.pop(_commands_key(p), None)
    return True


@method("answerCallbackQuery")
def answer_callback_query(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    record = api.world.callbacks.get(p["callback_query_id"])
    if record is None or record.bot_id != bot.account.id or record.answer is not None:
        raise BotApiError(
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid",
        )
    if len(p.get("text", "")) > 200:
        raise BotApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    record.answer = {k: p[k] for k in ("text", "show_alert", "url", "cache_time") if k in p}
    return True


@method("getFile")
def get_file(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    stored = api.world.files.get(p["file_id"])
    if stored is None:
        raise BotApiError(400, "Bad Request: invalid file_id")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.content),
        "file_path": stored.file_path,
    }


@method("close")
def close(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    return True


@method("logOut")
def log_out(api: BotApi, bot: BotState, p: dict[str, Any]) -> Any:
    return True
