"""Check what the bot can see and do in a group, so people are told what to fix."""

from __future__ import annotations

import logging

from bot.domain.rights import Readiness, assess
from bot.ports import ChatGateway

log = logging.getLogger(__name__)


class ReadinessService:
    """Asks Telegram for the bot's status in a group and compares it with what is needed."""

    def __init__(self, gateway: ChatGateway, bot_user_id: int, reads_all_group_messages: bool):
        self._gateway = gateway
        self._bot_user_id = bot_user_id
        self._reads_all = reads_all_group_messages

    async def check(self, chat_id: int) -> Readiness:
        status = await self._gateway.get_chat_member_status(chat_id, self._bot_user_id)
        report = assess(
            chat_id,
            status=status.status if status is not None else "member",
            rights=status.rights if status is not None else frozenset(),
            reads_all_group_messages=self._reads_all,
        )
        if report.ready:
            log.info("chat %s: the bot has every right it needs", chat_id)
        else:
            log.warning(
                "chat %s: the bot lacks %s", chat_id, ", ".join(gap.value for gap in report.gaps)
            )
        return report
