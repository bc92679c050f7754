"""A group's settings (/settings) and the retention of stored message text (invariant 6)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain.group_settings import (
    SetLanguage,
    SetTimezone,
    SettingsChange,
    ShowSettings,
    StopStoringText,
    StoreText,
)
from bot.ports import Clock, GroupSettings, UnitOfWorkFactory
from bot.services.engagement import EngagementRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SettingsResult:
    """The settings after a change, the time zone in force, and how many stored texts the
    change erased."""

    settings: GroupSettings
    timezone: str  # the group's own, or the bot's default when it has none
    erased: int = 0


class GroupSettingsService:
    """Reads and changes group settings; erases stored text that is past its retention."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        recorder: EngagementRecorder,
        default_timezone: str,
        scrub: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._scrub = scrub  # leaves no copy of erased text in the database's journal
        self._uow_factory = uow_factory
        self._clock = clock
        self._recorder = recorder
        self._default_timezone = default_timezone

    async def apply(self, chat_id: int, title: str, change: SettingsChange) -> SettingsResult:
        """Apply `change` to a group (ShowSettings changes nothing) and return its settings."""
        # The command's own update may still be buffered, and with it the group's first row.
        await self._recorder.durable()
        async with self._uow_factory() as uow:
            current = await uow.groups.get(chat_id) or GroupSettings(chat_id, title)
            wanted = _changed(current, change)
            if wanted != current:
                await uow.groups.update_settings(wanted)
                await uow.commit()
        if isinstance(change, StoreText | StopStoringText):
            await self._recorder.reload_text_policy()
        erased = 0
        if isinstance(change, StopStoringText):
            # Text buffered before the reload was kept; once it is written, erase it all.
            await self._recorder.durable()
            erased = await self._erase_before(chat_id, self._clock.now() + timedelta(seconds=1))
            if self._scrub is not None:
                await self._scrub()
        if wanted != current:
            log.info("group %s settings changed: %s", chat_id, change)
        return SettingsResult(wanted, wanted.timezone or self._default_timezone, erased)

    async def erase_expired_text(self) -> int:
        """Erase stored text older than each group's retention (all of it where storing is off).

        Run at start-up and then periodically; returns how many messages lost their text.
        """
        now = self._clock.now()
        erased = 0
        async with self._uow_factory() as uow:
            chat_ids = await uow.events.chats_with_text()
        for chat_id in chat_ids:
            async with self._uow_factory() as uow:
                settings = await uow.groups.get(chat_id)
                if settings is None:
                    continue
                keep = timedelta(days=settings.text_retention_days if settings.store_text else 0)
                changed = await uow.events.purge_text_before(chat_id, now - keep)
                await uow.commit()
            erased += changed
        if erased:
            log.info("erased the text of %s messages past their retention", erased)
            if self._scrub is not None:
                await self._scrub()
        return erased

    async def _erase_before(self, chat_id: int, before: datetime) -> int:
        async with self._uow_factory() as uow:
            erased = await uow.events.purge_text_before(chat_id, before)
            await uow.commit()
        return erased


def _changed(current: GroupSettings, change: SettingsChange) -> GroupSettings:
    match change:
        case ShowSettings():
            return current
        case SetTimezone(timezone):
            return replace(current, timezone=timezone)
        case SetLanguage(language):
            return replace(current, language=language)
        case StoreText(days):
            return replace(current, store_text=True, text_retention_days=days)
        case StopStoringText():
            return replace(current, store_text=False)
