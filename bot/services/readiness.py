"""Check what the bot can see and do in a group, so people are told what to fix."""

from __future__ import annotations

import logging

from bot.domain.rights import NEEDED_RIGHTS, Readiness, assess
from bot.ports import ChatGateway, GroupSettings, Priority, UnitOfWorkFactory

log = logging.getLogger(__name__)


class ReadinessService:
    """Asks Telegram for the bot's status in a group and compares it with what is needed."""

    def __init__(
        self,
        gateway: ChatGateway,
        uow_factory: UnitOfWorkFactory,
        bot_user_id: int,
        reads_all_group_messages: bool,
    ) -> None:
        self._gateway = gateway
        self._uow_factory = uow_factory
        self._bot_user_id = bot_user_id
        self._reads_all = reads_all_group_messages

    async def check(self, chat_id: int) -> Readiness | None:
        """The bot's gaps in one group; None when Telegram would not say (e.g. bot removed)."""
        outcome = await self._gateway.call(
            "getChatMember",
            {"chat_id": chat_id, "user_id": self._bot_user_id},
            priority=Priority.REPLY,
        )
        if not outcome.ok or not isinstance(outcome.result, dict):
            log.warning("chat %s: cannot read the bot's status (%s)", chat_id, outcome.reason)
            return None
        member = outcome.result
        rights = frozenset(gap.value for gap in NEEDED_RIGHTS if member.get(gap.value))
        report = assess(
            chat_id,
            status=str(member.get("status", "member")),
            rights=rights,
            reads_all_group_messages=self._reads_all,
        )
        if report.ready:
            log.info("chat %s: the bot has every right it needs", chat_id)
        else:
            log.warning(
                "chat %s: the bot lacks %s", chat_id, ", ".join(gap.value for gap in report.gaps)
            )
        return report

    async def check_known_groups(self) -> list[tuple[GroupSettings, Readiness]]:
        """Check every group the bot has recorded (at start-up); only those with gaps return."""
        async with self._uow_factory() as uow:
            groups = [
                await uow.groups.get(chat_id) for chat_id in await uow.groups.active_chat_ids()
            ]
        lacking = []
        for group in groups:
            if group is None:
                continue
            report = await self.check(group.chat_id)
            if report is not None and not report.ready:
                lacking.append((group, report))
        return lacking
