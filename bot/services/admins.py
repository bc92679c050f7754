"""Who may run moderator commands: admin status, cached and refreshed (invariant 8)."""

from __future__ import annotations

import logging

from bot.ports import ChatAdmin, ChatGateway, Clock

log = logging.getLogger(__name__)


class AdminsUnknown(Exception):
    """Telegram could not be asked who a group's admins are, and none were known before."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(f"the admins of chat {chat_id} cannot be checked right now")
        self.chat_id = chat_id


class AdminDirectory:
    """Caches each group's administrators for `ttl` seconds; `forget` drops a group's entry.

    A look-up that fails with nothing known before is not tried again for `retry_after`
    seconds: a group the bot was removed from would otherwise cost a call to Telegram for every
    question about it.
    """

    def __init__(
        self, gateway: ChatGateway, clock: Clock, ttl: float = 300.0, retry_after: float = 30.0
    ) -> None:
        self._gateway = gateway
        self._clock = clock
        self._ttl = ttl
        self._retry_after = retry_after
        self._cache: dict[int, tuple[float, dict[int, ChatAdmin]]] = {}
        self._failed: dict[int, float] = {}  # chat id -> when its look-up last failed

    async def is_admin(self, chat_id: int, user_id: int | None, sender_chat_id: int | None) -> bool:
        """True for the group's admins, including anonymous admins posting as the group."""
        if sender_chat_id is not None and sender_chat_id == chat_id:
            # Only admins can post anonymously as the group itself.
            return True
        if user_id is None:
            return False
        return user_id in await self.admins(chat_id)

    def known_admin(self, chat_id: int, user_id: int) -> bool | None:
        """Whether the cache, while fresh, says `user_id` is an admin; None when it cannot say
        without asking Telegram (for callers that must not wait, such as a transaction)."""
        cached = self._cache.get(chat_id)
        if cached is None or self._clock.now().timestamp() - cached[0] >= self._ttl:
            return None
        return user_id in cached[1]

    async def admins(self, chat_id: int) -> dict[int, ChatAdmin]:
        """The group's admins by user id; raises `AdminsUnknown` when they cannot be checked."""
        now = self._clock.now().timestamp()
        cached = self._cache.get(chat_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        failed = self._failed.get(chat_id)
        if cached is None and failed is not None and now - failed < self._retry_after:
            raise AdminsUnknown(chat_id)
        fetched = await self._gateway.get_chat_administrators(chat_id)
        if fetched is None:
            # A failed look-up is no answer: keep the last known list rather than "no admins".
            if cached is not None:
                log.warning("admins of chat %s not refreshed; using the last known", chat_id)
                return cached[1]
            self._failed[chat_id] = now
            raise AdminsUnknown(chat_id)
        self._failed.pop(chat_id, None)
        admins = {admin.user_id: admin for admin in fetched}
        self._cache[chat_id] = (now, admins)
        log.debug("refreshed %d admins of chat %s", len(admins), chat_id)
        return admins

    def forget(self, chat_id: int) -> None:
        """Drop a group's cached admins (someone became or stopped being an admin); the next
        question asks Telegram at once."""
        self._cache.pop(chat_id, None)
        self._failed.pop(chat_id, None)
