"""Check what the bot can see and do in a group, so people are told what to fix."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from bot.domain.rights import ADMIN_STATUSES, Gap, Readiness, assess, needed_rights
from bot.ports import ChatGateway, GroupSettings, Priority, UnitOfWorkFactory
from bot.services.ops_notices import BOT_REMOVED, READINESS

log = logging.getLogger(__name__)


class ReadinessService:
    """Asks Telegram for the bot's status in a group and compares it with what is needed."""

    def __init__(
        self,
        gateway: ChatGateway,
        uow_factory: UnitOfWorkFactory,
        bot_user_id: int,
        reads_all_group_messages: bool,
        needed: Sequence[Gap] = (),
    ) -> None:
        self._gateway = gateway
        self._uow_factory = uow_factory
        self._bot_user_id = bot_user_id
        self._reads_all = reads_all_group_messages
        # The admin rights the composed features declare (`Feature.rights`), and no others.
        self.needed = needed_rights(needed)

    async def check(self, chat_id: int) -> Readiness | None:
        """The bot's gaps in one group; None when Telegram would not say (e.g. bot removed).

        What it finds is noted as told: whoever asked reports it.
        """
        checked = await self._check(chat_id)
        return None if checked is None else checked[0]

    async def sees_all_messages(self, chat_id: int) -> bool:
        """Whether the bot sees every message in a group: privacy mode off, or an admin there."""
        if self._reads_all:
            return True
        member = await self._member(chat_id)
        return member is not None and member.get("status") in ADMIN_STATUSES

    async def group_language(self, chat_id: int) -> str | None:
        """The language a group chose for notices about it (`/settings language`), if known."""
        async with self._uow_factory() as uow:
            group = await uow.groups.get(chat_id)
        return None if group is None else group.language

    async def _member(self, chat_id: int) -> dict[str, Any] | None:
        """The bot's own chat member record in a group; None when Telegram would not say."""
        outcome = await self._gateway.call(
            "getChatMember",
            {"chat_id": chat_id, "user_id": self._bot_user_id},
            # Ahead of the chat's queued replies: /health must not wait behind them.
            priority=Priority.MODERATION,
        )
        if not outcome.ok or not isinstance(outcome.result, dict):
            log.warning("chat %s: cannot read the bot's status (%s)", chat_id, outcome.reason)
            return None
        return outcome.result

    async def standing(self, chat_id: int) -> Readiness | None:
        """The bot's gaps in one group as Telegram tells them now, for /health there; unlike
        `check` it notes nothing (the ops chat hears of gaps from the checks, not from this).
        None when Telegram would not say, or the bot is out of the group."""
        member = await self._member(chat_id)
        if member is None or member.get("status") in {"left", "kicked"}:
            return None
        return self._assess(chat_id, member)

    def _assess(self, chat_id: int, member: dict[str, Any]) -> Readiness:
        rights = frozenset(gap.value for gap in self.needed if member.get(gap.value))
        return assess(
            chat_id,
            status=str(member.get("status", "member")),
            rights=rights,
            reads_all_group_messages=self._reads_all,
            needed=self.needed,
        )

    async def _check(self, chat_id: int) -> tuple[Readiness, bool] | None:
        """The bot's gaps in one group, and whether the ops chat has not heard them yet."""
        member = await self._member(chat_id)
        if member is None:
            return None
        status = str(member.get("status", "member"))
        if status in {"left", "kicked"}:
            async with self._uow_factory() as uow:
                await uow.ops_notices.note(chat_id, BOT_REMOVED)
                await uow.commit()
            log.warning("chat %s: the bot is no longer in it", chat_id)
            return None
        report = self._assess(chat_id, member)
        async with self._uow_factory() as uow:
            if report.ready:
                # Back in the group with every right: anything may be told again if it changes.
                await uow.ops_notices.forget(chat_id)
                news = False
            else:
                await uow.ops_notices.forget(chat_id, BOT_REMOVED)
                gaps = ",".join(gap.value for gap in report.gaps)
                news = await uow.ops_notices.note(chat_id, READINESS, gaps)
            await uow.commit()
        if report.ready:
            log.info("chat %s: the bot has every right it needs", chat_id)
        else:
            log.warning(
                "chat %s: the bot lacks %s", chat_id, ", ".join(gap.value for gap in report.gaps)
            )
        return report, news

    async def check_known_groups(
        self, skip: Collection[int] = ()
    ) -> list[tuple[GroupSettings, Readiness]]:
        """Check the groups the bot has recorded (at start-up), except `skip` and those it was
        found to be out of; return those with gaps the ops chat has not heard of yet."""
        async with self._uow_factory() as uow:
            left = await uow.ops_notices.chats_with(BOT_REMOVED)
            groups = [
                await uow.groups.get(chat_id)
                for chat_id in await uow.groups.active_chat_ids()
                if chat_id not in left and chat_id not in skip
            ]
        lacking = []
        for group in groups:
            if group is None:
                continue
            checked = await self._check(group.chat_id)
            if checked is not None and checked[1]:
                lacking.append((group, checked[0]))
        return lacking
