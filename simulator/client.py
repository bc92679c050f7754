"""An async client for the control API, for tests that run the simulator in another process."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

import aiohttp

from simulator.errors import SimulatorError
from simulator.faults import FaultKind
from simulator.models import BotAccount, Call, UserAccount


class SimulatorClient:
    """Mirrors the Simulator's control methods over HTTP (`await client.post(...)`)."""

    def __init__(self, url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.url = url.rstrip("/")
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> SimulatorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session if the client made it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    async def op(self, name: str, **arguments: Any) -> Any:
        """Run any control operation by name; raises SimulatorError when the world refuses."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        body = {k: v for k, v in arguments.items() if v is not None}
        async with self._session.post(f"{self.url}/control/{name}", json=body) as response:
            answer = await response.json()
        if not answer.get("ok"):
            raise SimulatorError(answer.get("error", f"control call {name} failed"))
        return answer["result"]

    async def create_bot(
        self,
        username: str = "groupops_bot",
        first_name: str = "GroupOps",
        can_read_all_group_messages: bool = False,
        token: str | None = None,
        allowed_updates: Iterable[str] | None = None,
    ) -> BotAccount:
        """Register a bot."""
        result = await self.op(
            "create_bot",
            username=username,
            first_name=first_name,
            can_read_all_group_messages=can_read_all_group_messages,
            token=token,
            allowed_updates=list(allowed_updates) if allowed_updates is not None else None,
        )
        return BotAccount(**result)

    async def create_user(
        self,
        first_name: str = "Alice",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        is_bot: bool = False,
    ) -> UserAccount:
        """Register a person."""
        result = await self.op(
            "create_user",
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
            is_bot=is_bot,
        )
        return UserAccount(**result)

    async def create_group(
        self,
        title: str = "Test group",
        creator_id: int | None = None,
        type: str = "supergroup",
        is_forum: bool = False,
        username: str | None = None,
    ) -> int:
        """Create a group or supergroup; returns its chat id."""
        return int(
            await self.op(
                "create_group",
                title=title,
                creator_id=creator_id,
                type=type,
                is_forum=is_forum,
                username=username,
            )
        )

    async def create_channel(self, title: str = "Test channel", username: str | None = None) -> int:
        """Create a channel."""
        return int(await self.op("create_channel", title=title, username=username))

    async def add_bot(
        self,
        chat_id: int,
        bot_id: int,
        admin: bool = True,
        rights: Iterable[str] | None = None,
        by_id: int | None = None,
    ) -> None:
        """Add a bot to a group."""
        await self.op(
            "add_bot",
            chat_id=chat_id,
            bot_id=bot_id,
            admin=admin,
            rights=sorted(rights) if rights is not None else None,
            by_id=by_id,
        )

    async def join(
        self,
        chat_id: int,
        user_id: int,
        inviter_id: int | None = None,
        invite_link: str | dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user joins."""
        return dict(
            await self.op(
                "join",
                chat_id=chat_id,
                user_id=user_id,
                inviter_id=inviter_id,
                invite_link=invite_link,
            )
        )

    async def leave(self, chat_id: int, user_id: int) -> dict[str, Any]:
        """A member leaves."""
        return dict(await self.op("leave", chat_id=chat_id, user_id=user_id))

    async def promote(
        self,
        chat_id: int,
        user_id: int,
        rights: Iterable[str] | None = None,
        is_anonymous: bool = False,
        custom_title: str | None = None,
    ) -> None:
        """Make a member an administrator."""
        await self.op(
            "promote",
            chat_id=chat_id,
            user_id=user_id,
            rights=sorted(rights) if rights is not None else None,
            is_anonymous=is_anonymous,
            custom_title=custom_title,
        )

    async def demote(self, chat_id: int, user_id: int) -> None:
        """Make an administrator an ordinary member."""
        await self.op("demote", chat_id=chat_id, user_id=user_id)

    async def ban(self, chat_id: int, user_id: int, until_date: int = 0) -> None:
        """The owner bans a member."""
        await self.op("ban", chat_id=chat_id, user_id=user_id, until_date=until_date)

    async def post(
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
        """A member posts; returns the Message."""
        return dict(
            await self.op(
                "post",
                chat_id=chat_id,
                user_id=user_id,
                text=text,
                reply_to=reply_to,
                thread_id=thread_id,
                entities=entities,
                kind=kind,
                date=date,
            )
        )

    async def post_as_chat(self, chat_id: int, text: str = "hi") -> dict[str, Any]:
        """An anonymous admin posts."""
        return dict(await self.op("post_as_chat", chat_id=chat_id, text=text))

    async def forward(
        self,
        chat_id: int,
        user_id: int,
        from_chat_id: int | None = None,
        text: str = "forwarded",
        origin_user_id: int | None = None,
    ) -> dict[str, Any]:
        """A member forwards a message."""
        return dict(
            await self.op(
                "forward",
                chat_id=chat_id,
                user_id=user_id,
                from_chat_id=from_chat_id,
                text=text,
                origin_user_id=origin_user_id,
            )
        )

    async def edit(self, chat_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The author edits a message."""
        return dict(await self.op("edit", chat_id=chat_id, message_id=message_id, text=text))

    async def react(
        self, chat_id: int, message_id: int, user_id: int, emojis: Iterable[str]
    ) -> None:
        """A member sets reactions."""
        await self.op(
            "react", chat_id=chat_id, message_id=message_id, user_id=user_id, emojis=list(emojis)
        )

    async def react_anonymous(self, chat_id: int, message_id: int, counts: dict[str, int]) -> None:
        """Anonymous reaction counts change."""
        await self.op("react_anonymous", chat_id=chat_id, message_id=message_id, counts=counts)

    async def press_button(
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        data: str | None = None,
        bot_id: int | None = None,
    ) -> str:
        """A member presses an inline button (in a group, or their private chat with a bot);
        returns the callback query id."""
        return str(
            await self.op(
                "press_button",
                chat_id=chat_id,
                message_id=message_id,
                user_id=user_id,
                data=data,
                bot_id=bot_id,
            )
        )

    async def migrate_to_supergroup(self, chat_id: int) -> int:
        """Upgrade a basic group; returns the supergroup id."""
        return int(await self.op("migrate_to_supergroup", chat_id=chat_id))

    async def create_invite_link(self, chat_id: int, creator_id: int) -> dict[str, Any]:
        """A member makes an invite link."""
        return dict(await self.op("create_invite_link", chat_id=chat_id, creator_id=creator_id))

    async def calls(self, bot_id: int | None = None) -> list[Call]:
        """Every Bot API request, in order."""
        return [Call(**call) for call in await self.op("calls", bot_id=bot_id)]

    async def sent(self, chat_id: int, bot_id: int | None = None) -> list[dict[str, Any]]:
        """Messages bots sent to a chat."""
        return list(await self.op("sent", chat_id=chat_id, bot_id=bot_id))

    async def history(self, chat_id: int, bot_id: int | None = None) -> list[dict[str, Any]]:
        """What members see in a chat now."""
        return list(await self.op("history", chat_id=chat_id, bot_id=bot_id))

    async def member_status(self, chat_id: int, user_id: int) -> str:
        """A member's status."""
        return str(await self.op("member_status", chat_id=chat_id, user_id=user_id))

    async def updates_pending(self, bot_id: int | None = None) -> int:
        """Updates not yet confirmed."""
        return int(await self.op("updates_pending", bot_id=bot_id))

    async def inject_fault(
        self,
        method: str,
        kind: FaultKind | str,
        count: int = 1,
        retry_after: int = 5,
        status: int = 500,
        applied: bool = False,
    ) -> None:
        """Make the next calls of a method fail."""
        await self.op(
            "inject_fault",
            method=method,
            kind=str(FaultKind(kind)),
            count=count,
            retry_after=retry_after,
            status=status,
            applied=applied,
        )

    async def set_webhook_failures(self, n: int) -> None:
        """Fail the next n webhook deliveries."""
        await self.op("set_webhook_failures", n=n)

    async def advance(self, seconds: float) -> None:
        """Move simulated time forward."""
        await self.op("advance", seconds=seconds)
