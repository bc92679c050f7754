"""The SQL unit of work: one session, its repositories, an explicit commit, rollback otherwise."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.adshare import SqlAdShareRepository
from storage.analytics import SqlRollupRepository
from storage.content import SqlContentRepository
from storage.handoff import SqlHandoffRepository
from storage.ledger import IngestLedger
from storage.moderation import SqlModerationRepository
from storage.recognition import SqlRecognitionRepository
from storage.reports import SqlDigestRepository
from storage.repositories import (
    ProfileCache,
    SqlDecisionRepository,
    SqlEventRepository,
    SqlGroupRepository,
    SqlMemberRepository,
    SqlOpsNoticeRepository,
    SqlOutboxRepository,
)


class SqlUnitOfWork:
    """One transaction; use as `async with uow: …; await uow.commit()`."""

    groups: SqlGroupRepository
    members: SqlMemberRepository
    events: SqlEventRepository
    outbox: SqlOutboxRepository
    rollups: SqlRollupRepository
    decisions: SqlDecisionRepository
    ops_notices: SqlOpsNoticeRepository
    adshare: SqlAdShareRepository
    handoff: SqlHandoffRepository
    recognition: SqlRecognitionRepository
    content: SqlContentRepository
    moderation: SqlModerationRepository
    digests: SqlDigestRepository

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], profiles: ProfileCache | None = None
    ) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._ledger = IngestLedger()
        self._profiles = profiles

    @property
    def session(self) -> AsyncSession:
        """The open session (for queries no repository offers yet)."""
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("unit of work is already open")
        session = self._session = self._sessions()
        self._ledger.clear()
        self.groups = SqlGroupRepository(session)
        self.members = SqlMemberRepository(session, self._ledger, self._profiles)
        self.events = SqlEventRepository(session, self._ledger)
        self.outbox = SqlOutboxRepository(session)
        self.rollups = SqlRollupRepository(session, self._ledger)
        self.decisions = SqlDecisionRepository(session)
        self.ops_notices = SqlOpsNoticeRepository(session)
        self.adshare = SqlAdShareRepository(session)
        self.handoff = SqlHandoffRepository(session)
        self.recognition = SqlRecognitionRepository(session)
        self.content = SqlContentRepository(session)
        self.moderation = SqlModerationRepository(session)
        self.digests = SqlDigestRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed and give the connection back."""
        session, self._session = self.session, None
        try:
            await session.rollback()
        finally:
            await session.close()

    async def commit(self) -> None:
        await self.session.commit()
        if self._profiles is not None:
            self._profiles.publish(self.members.written_profiles)
            for user_id in self.members.erased_users:
                self._profiles.forget(user_id)
        self.members.written_profiles = {}
        self.members.erased_users = set()

    async def rollback(self) -> None:
        await self.session.rollback()
        self.members.written_profiles = {}
        self.members.erased_users = set()
        # Keys inserted before the rollback are gone again; they must count when re-added.
        self._ledger.clear()


class SqlUnitOfWorkFactory:
    """Makes a fresh `SqlUnitOfWork` per use case (the `UnitOfWorkFactory` port)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._profiles = ProfileCache()

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self._profiles)

    @property
    def profiles(self) -> ProfileCache:
        """The profiles its units of work have committed (shared with the ingest store)."""
        return self._profiles
