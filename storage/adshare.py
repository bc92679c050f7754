"""The ad-share cap's storage: promo counts per hour, settings, reservations, removed promos."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.adshare import Bucket
from bot.domain.events import EngagementEvent
from bot.ports import (
    AdCapPolicyName,
    AdCapSettings,
    CountedPromo,
    JudgedMessage,
    RemovedPromo,
    Standing,
)
from storage.models import (
    activity_hours_table,
    adcap_exemptions_table,
    adcap_settings_table,
    events_table,
    members_table,
    promo_feedback_table,
    promo_hours_table,
    promo_reservations_table,
    removed_promos_table,
    users_table,
)
from storage.upsert import insert_ignore, upsert

NO_MEMBER = 0  # promo_hours' author for a promo posted as a chat


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _add_counts(table: Table, excluded: Any) -> Mapping[str, Any]:
    return {
        "promos": table.c.promos + excluded.promos,
        "removed": table.c.removed + excluded.removed,
    }


# A batch's promos marked on their events (the verdict stored), built once: building the
# statement costs more than running it on a few rows.
_COUNT_PROMOS = (
    update(events_table)
    .where(events_table.c.dedup_key == bindparam("key"), events_table.c.promo_score.is_(None))
    .values(promo_score=bindparam("score"))
)


class SqlAdShareRepository:
    """The `AdShareRepository` port on SQLite and PostgreSQL."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- settings and exemptions ---------------------------------------------------------------

    async def settings(self, chat_id: int) -> AdCapSettings:
        s = adcap_settings_table.c
        row = (
            await self._session.execute(
                select(s.cap, s.window_seconds, s.policy, s.mute_seconds).where(
                    s.chat_id == chat_id
                )
            )
        ).first()
        if row is None:
            return AdCapSettings(chat_id)
        return AdCapSettings(
            chat_id,
            cap=row.cap,
            window=timedelta(seconds=row.window_seconds),
            policy=AdCapPolicyName(row.policy),
            mute=timedelta(seconds=row.mute_seconds),
        )

    async def save_settings(self, settings: AdCapSettings) -> None:
        await upsert(
            self._session,
            adcap_settings_table,
            [_settings_row(settings)],
            index_elements=["chat_id"],
            update_columns=["cap", "window_seconds", "policy", "mute_seconds"],
        )

    async def exemptions(self, chat_id: int) -> set[int]:
        x = adcap_exemptions_table.c
        return set(await self._session.scalars(select(x.user_id).where(x.chat_id == chat_id)))

    async def set_exempt(self, chat_id: int, user_id: int, exempt: bool) -> None:
        if exempt:
            await insert_ignore(
                self._session, adcap_exemptions_table, [{"chat_id": chat_id, "user_id": user_id}]
            )
            return
        x = adcap_exemptions_table.c
        await self._session.execute(
            delete(adcap_exemptions_table).where(x.chat_id == chat_id, x.user_id == user_id)
        )

    # --- counts ------------------------------------------------------------------------------

    async def buckets(self, chat_id: int, since: datetime, until: datetime) -> list[Bucket]:
        start = _hour_of(since)
        messages: dict[datetime, int] = defaultdict(int)
        promos: dict[datetime, int] = defaultdict(int)
        a = activity_hours_table.c
        for hour, count in await self._session.execute(
            select(a.hour, a.messages).where(a.chat_id == chat_id, a.hour >= start, a.hour < until)
        ):
            messages[hour] += count
        p = promo_hours_table.c
        for hour, kept, removed in await self._session.execute(
            select(p.hour, func.sum(p.promos), func.sum(p.removed))
            .where(p.chat_id == chat_id, p.hour >= start, p.hour < until)
            .group_by(p.hour)
        ):
            messages[hour] -= int(removed)
            promos[hour] += int(kept)
        r = promo_reservations_table.c
        for (at,) in await self._session.execute(
            select(r.reserved_at).where(
                r.chat_id == chat_id, r.reserved_at >= start, r.reserved_at < until
            )
        ):
            messages[_hour_of(at)] += 1
            promos[_hour_of(at)] += 1
        return [
            Bucket(start=hour, messages=max(0, messages[hour]), promos=promos[hour])
            for hour in sorted(messages)
        ]

    async def top_sources(self, chat_id: int, since: datetime, limit: int) -> list[tuple[int, int]]:
        p = promo_hours_table.c
        total = func.sum(p.promos + p.removed).label("total")
        rows = await self._session.execute(
            select(p.user_id, total)
            .where(p.chat_id == chat_id, p.hour >= _hour_of(since), p.user_id != NO_MEMBER)
            .group_by(p.user_id)
            .order_by(total.desc(), p.user_id)
            .limit(limit)
        )
        return [(user_id, int(count)) for user_id, count in rows if count]

    async def count_promo(
        self, chat_id: int, message_id: int, user_id: int | None, score: float, removed: bool
    ) -> bool:
        e = events_table.c
        key = EngagementEvent.message_key(chat_id, message_id)
        occurred = await self._session.scalar(
            update(events_table)
            .where(e.dedup_key == key, e.promo_score.is_(None))
            .values(promo_score=score)
            .returning(e.occurred_at)
        )
        if occurred is None:
            return False
        await self._add(
            chat_id, occurred, user_id, promos=0 if removed else 1, removed=int(removed)
        )
        return True

    async def count_promos(self, promos: Sequence[CountedPromo]) -> None:
        if not promos:
            return
        await self._session.execute(
            _COUNT_PROMOS,
            [
                {"key": EngagementEvent.message_key(p.chat_id, p.message_id), "score": p.score}
                for p in promos
            ],
        )
        counts: defaultdict[tuple[int, datetime, int], int] = defaultdict(int)
        for p in promos:
            author = NO_MEMBER if p.user_id is None else p.user_id
            counts[(p.chat_id, _hour_of(p.sent_at), author)] += 1
        await upsert(
            self._session,
            promo_hours_table,
            [
                {"chat_id": chat_id, "hour": hour, "user_id": user_id, "promos": n, "removed": 0}
                for (chat_id, hour, user_id), n in sorted(counts.items())
            ],
            index_elements=["chat_id", "hour", "user_id"],
            update=_add_counts,
        )

    async def judged(self, chat_id: int, message_id: int) -> JudgedMessage | None:
        e = events_table.c
        row = (
            await self._session.execute(
                select(e.user_id, e.occurred_at, e.promo_score).where(
                    e.dedup_key == EngagementEvent.message_key(chat_id, message_id)
                )
            )
        ).first()
        if row is None:
            return None
        return JudgedMessage(chat_id, message_id, row.user_id, row.occurred_at, row.promo_score)

    async def recount(
        self, message: JudgedMessage, *, promo: bool, removed: bool, was_removed: bool
    ) -> None:
        was_promo = message.promo_score is not None and not was_removed
        e = events_table.c
        await self._session.execute(
            update(events_table)
            .where(e.dedup_key == EngagementEvent.message_key(message.chat_id, message.message_id))
            .values(promo_score=1.0 if promo or removed else None)
        )
        await self._add(
            message.chat_id,
            message.occurred_at,
            message.user_id,
            promos=int(promo and not removed) - int(was_promo),
            removed=int(removed) - int(was_removed),
        )

    async def _add(
        self, chat_id: int, at: datetime, user_id: int | None, *, promos: int, removed: int
    ) -> None:
        if not promos and not removed:
            return
        await upsert(
            self._session,
            promo_hours_table,
            [
                {
                    "chat_id": chat_id,
                    "hour": _hour_of(at),
                    "user_id": NO_MEMBER if user_id is None else user_id,
                    "promos": promos,
                    "removed": removed,
                }
            ],
            index_elements=["chat_id", "hour", "user_id"],
            update=_add_counts,
        )

    async def standing(self, chat_id: int, user_id: int) -> Standing | None:
        m = members_table.c
        row = (
            await self._session.execute(
                select(m.joined_at, m.message_count).where(
                    m.chat_id == chat_id, m.user_id == user_id
                )
            )
        ).first()
        return None if row is None else Standing(row.joined_at, row.message_count)

    async def standings(self, chat_id: int) -> dict[int, Standing]:
        m = members_table.c
        rows = await self._session.execute(
            select(m.user_id, m.joined_at, m.message_count).where(m.chat_id == chat_id)
        )
        return {user_id: Standing(joined_at, count) for user_id, joined_at, count in rows}

    async def user_named(self, chat_id: int, username: str) -> int | None:
        u, m = users_table.c, members_table.c
        return await self._session.scalar(
            select(u.user_id)
            .join(members_table, and_(m.user_id == u.user_id, m.chat_id == chat_id))
            .where(func.lower(u.username) == username.lower())
            .limit(1)
        )

    # --- operators' reservations --------------------------------------------------------------

    async def lock_budget(self, chat_id: int) -> None:
        # A write first: PostgreSQL holds the row until the commit, and SQLite the database's
        # write lock, so a second reservation for the group reads the budget after this one.
        await insert_ignore(
            self._session, adcap_settings_table, [_settings_row(AdCapSettings(chat_id))]
        )
        s = adcap_settings_table.c
        await self._session.execute(
            update(adcap_settings_table).where(s.chat_id == chat_id).values(version=s.version + 1)
        )

    async def reserve(self, chat_id: int, key: str, at: datetime) -> bool:
        inserted = await insert_ignore(
            self._session,
            promo_reservations_table,
            [{"chat_id": chat_id, "key": key, "reserved_at": at}],
            returning=["id"],
        )
        return bool(inserted)

    # --- removed promos and feedback -----------------------------------------------------------

    async def keep_removed(self, promo: RemovedPromo) -> None:
        await upsert(
            self._session,
            removed_promos_table,
            [
                {
                    "chat_id": promo.chat_id,
                    "message_id": promo.message_id,
                    "user_id": promo.user_id,
                    "author": promo.author[:255],
                    "text": promo.text,
                    "reason": promo.reason,
                    "removed_at": promo.removed_at,
                    "notice_id": promo.notice_id,
                }
            ],
            index_elements=["chat_id", "message_id"],
        )

    async def removed(self, chat_id: int, message_id: int) -> RemovedPromo | None:
        r = removed_promos_table.c
        row = (
            await self._session.execute(
                select(removed_promos_table).where(
                    r.chat_id == chat_id,
                    (r.message_id == message_id) | (r.notice_id == message_id),
                )
            )
        ).first()
        return None if row is None else RemovedPromo(**row._mapping)

    async def forget_removed(self, chat_id: int, message_id: int) -> None:
        r = removed_promos_table.c
        await self._session.execute(
            delete(removed_promos_table).where(r.chat_id == chat_id, r.message_id == message_id)
        )

    async def removed_by(self, user_id: int) -> list[RemovedPromo]:
        r = removed_promos_table.c
        rows = await self._session.execute(
            select(removed_promos_table).where(r.user_id == user_id).order_by(r.removed_at)
        )
        return [RemovedPromo(**row._mapping) for row in rows]

    async def purge_removed(self, before: datetime) -> int:
        r = removed_promos_table.c
        result = await self._session.execute(
            delete(removed_promos_table).where(r.removed_at < before)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def add_feedback(
        self,
        message: JudgedMessage,
        text: str,
        is_promo: bool,
        marked_by: int | None,
        at: datetime,
    ) -> None:
        await upsert(
            self._session,
            promo_feedback_table,
            [
                {
                    "chat_id": message.chat_id,
                    "message_id": message.message_id,
                    "author_id": message.user_id,
                    "text": text,
                    "is_promo": is_promo,
                    "marked_by": marked_by,
                    "marked_at": at,
                }
            ],
            index_elements=["chat_id", "message_id"],
            update_columns=["text", "is_promo", "marked_by", "marked_at"],
        )

    async def feedback(self) -> list[tuple[str, bool]]:
        f = promo_feedback_table.c
        rows = await self._session.execute(select(f.text, f.is_promo).order_by(f.marked_at))
        return [(text, bool(is_promo)) for text, is_promo in rows]

    async def erase_member(self, user_id: int) -> int:
        r, f, p = removed_promos_table.c, promo_feedback_table.c, promo_hours_table.c
        texts = await self._session.execute(
            delete(removed_promos_table).where(r.user_id == user_id)
        )
        await self._session.execute(delete(promo_feedback_table).where(f.author_id == user_id))
        # The counts stay (the group's share does not change), under no one's name.
        counted = (
            await self._session.execute(
                select(p.chat_id, p.hour, p.promos, p.removed).where(p.user_id == user_id)
            )
        ).all()
        await self._session.execute(delete(promo_hours_table).where(p.user_id == user_id))
        for chat_id, hour, promos, removed in counted:
            await self._add(chat_id, hour, None, promos=promos, removed=removed)
        return int(getattr(texts, "rowcount", 0) or 0)


def _settings_row(settings: AdCapSettings) -> dict[str, Any]:
    return {
        "chat_id": settings.chat_id,
        "cap": settings.cap,
        "window_seconds": int(settings.window.total_seconds()),
        "policy": settings.policy.value,
        "mute_seconds": int(settings.mute.total_seconds()),
    }
