"""A member sees and erases what is stored about them (invariant 6), from a private chat."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.domain.moderation import WarningRecord
from bot.ports import (
    Erasure,
    Footprint,
    QuestionRecord,
    RecognitionFootprint,
    RemovedPromo,
    UnitOfWorkFactory,
)
from bot.services.engagement import EngagementRecorder

log = logging.getLogger(__name__)


class PersonalDataService:
    """Reads and erases one person's records; the person is whoever Telegram says is asking."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        recorder: EngagementRecorder,
        scrub: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._recorder = recorder
        self._scrub = scrub  # leaves no copy of erased rows in the database's journal

    async def footprint(self, user_id: int) -> list[Footprint]:
        """What is stored about `user_id`, counting what is still being written."""
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            return await uow.members.footprint(user_id)

    async def removed_promos(self, user_id: int) -> list[RemovedPromo]:
        """The person's promos the bot removed, kept 48 hours so they can be restored."""
        async with self._uow_factory() as uow:
            return await uow.adshare.removed_by(user_id)

    async def questions(self, user_id: int) -> list[QuestionRecord]:
        """The person's questions whose text is kept (while open and 48 hours after)."""
        async with self._uow_factory() as uow:
            return await uow.handoff.asked_by(user_id)

    async def recognition(self, user_id: int) -> list[RecognitionFootprint]:
        """The person's points, badges, invite links and credits, and opt-outs, by group."""
        async with self._uow_factory() as uow:
            return await uow.recognition.footprint(user_id)

    async def warnings(self, user_id: int) -> list[tuple[str, WarningRecord, bool]]:
        """The person's warnings in every group (group title, warning, cleared)."""
        async with self._uow_factory() as uow:
            return await uow.moderation.warnings_of(user_id)

    async def erase(self, user_id: int) -> Erasure:
        """Erase everything recorded about `user_id` up to now.

        Events recorded before the request are written first, so none of them survives it;
        what the person does afterwards is recorded again, as for any member.
        """
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            erasure = await uow.members.erase(user_id)
            await uow.adshare.erase_member(user_id)
            await uow.handoff.erase_member(user_id)
            await uow.recognition.erase_member(user_id)  # not their opt-outs: an instruction
            await uow.moderation.erase_member(user_id)  # names only: warnings still count
            await uow.commit()
        if self._scrub is not None:
            await self._scrub()
        log.info(
            "erased the records of a member on request: %s events in %s groups",
            erasure.events,
            erasure.groups,
        )
        return erasure
