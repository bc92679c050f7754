"""What the ops chat hears about groups: each fact once, across restarts.

Delivery already reports a refusal once per chat and reason while it runs; these notices make
that hold across restarts, where the moderators' chat used to get the same line every time.
A group Telegram says the bot is no longer in is noted as left, and start-up checks pass it by
until the bot is back (a readiness check that finds it in the group forgets the note).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.ports import FailureReason, UnitOfWorkFactory

BOT_REMOVED = "bot_removed"
MISSING_RIGHTS = "missing_rights"
READINESS = "readiness"

# The refusals moderators can act on. The others (a message already gone, too old to delete,
# a malformed request) are the bot's business: they are logged, not sent.
_TOPICS = {
    FailureReason.BOT_REMOVED: BOT_REMOVED,
    FailureReason.CHAT_NOT_FOUND: BOT_REMOVED,
    FailureReason.MISSING_RIGHTS: MISSING_RIGHTS,
}


@dataclass(frozen=True, slots=True)
class AboutGroup:
    """The group a notice is about, as the ops chat should read it: its title, its language."""

    chat_id: int
    topic: str
    title: str | None  # None: a group not recorded yet (the bot was refused on arrival)
    language: str


class OpsNotices:
    """Decides whether the ops chat hears of a refusal, and remembers that it did."""

    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def refusal(self, chat_id: int, reason: FailureReason) -> AboutGroup | None:
        """The group to tell the ops chat about, the first time Telegram refuses it for
        `reason`; None when it was told before or the refusal is not the moderators' to fix."""
        topic = _TOPICS.get(reason)
        # A private chat refusing is a member who blocked the bot: not the moderators' business.
        if topic is None or chat_id > 0:
            return None
        async with self._uow_factory() as uow:
            news = await uow.ops_notices.note(chat_id, topic)
            group = await uow.groups.get(chat_id)
            await uow.commit()
        if not news:
            return None
        if group is None:
            return AboutGroup(chat_id, topic, None, "en")
        return AboutGroup(chat_id, topic, group.title, group.language)

    async def untold(self, chat_id: int, topic: str) -> None:
        """The note about `topic` did not reach the ops chat: tell it again next time."""
        async with self._uow_factory() as uow:
            await uow.ops_notices.forget(chat_id, topic)
            await uow.commit()
