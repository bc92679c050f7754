"""Recognition's storage: point awards, badges, personal invite links and credits, opt-outs.

Answer points and reaction points are read from what other features keep (`questions`,
`member_days`); only messages that earned points have rows of their own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.recognition import REACTION_POINTS_PER_DAY, Badge, Invitee
from bot.ports import EarnedBadge, PointAward, RecognitionFootprint
from storage.analytics import members_removed_from
from storage.models import (
    badges_table,
    events_table,
    groups_table,
    invite_credits_table,
    invite_links_table,
    member_days_table,
    members_table,
    opt_outs_table,
    point_awards_table,
    questions_table,
    recognition_groups_table,
    responses_table,
    users_table,
)
from storage.upsert import insert_ignore, upsert

# The hand-off's closed states that mean a human answered (see bot.domain.handoff).
_ANSWERED = "answered"
_HUMAN_ANSWERERS = ("member", "moderator")


class SqlRecognitionRepository:
    """The `RecognitionRepository` port on SQLite and PostgreSQL."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- opting out -----------------------------------------------------------------------------

    async def opt_outs(self) -> set[tuple[int, int]]:
        o = opt_outs_table.c
        return {(c, u) for c, u in await self._session.execute(select(o.chat_id, o.user_id))}

    async def opted_out_chats(self, user_id: int) -> list[int]:
        o = opt_outs_table.c
        rows = await self._session.execute(
            select(o.chat_id).where(o.user_id == user_id).order_by(o.chat_id)
        )
        return list(rows.scalars())

    async def opt_out(self, chat_id: int, user_id: int, at: datetime) -> bool:
        inserted = await insert_ignore(
            self._session,
            opt_outs_table,
            [{"chat_id": chat_id, "user_id": user_id, "since": at}],
            returning=["chat_id"],
        )
        return bool(inserted)

    async def opt_in(self, chat_id: int, user_id: int) -> bool:
        o = opt_outs_table.c
        result = await self._session.execute(
            delete(opt_outs_table).where(o.chat_id == chat_id, o.user_id == user_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def anonymise(self, chat_id: int, user_id: int) -> bool:
        """Take a member's identity out of a group's records (their counts stay in the
        group's totals); return whether they still have a membership in another group."""
        e, m = events_table.c, members_table.c
        s = self._session
        await s.execute(
            update(events_table)
            .where(e.user_id == user_id, e.chat_id == chat_id)
            .values(user_id=None, text=None)
        )
        for column in (e.reply_to_user_id, e.inviter_id):
            await s.execute(
                update(events_table)
                .where(column == user_id, e.chat_id == chat_id)
                .values({column.name: None})
            )
        await s.execute(
            update(members_table)
            .where(m.invited_by_user_id == user_id, m.chat_id == chat_id)
            .values(invited_by_user_id=None)
        )
        await members_removed_from(s, groups_table.c.chat_id == chat_id)
        await s.execute(delete(members_table).where(m.user_id == user_id, m.chat_id == chat_id))
        d, r = member_days_table.c, responses_table.c
        await s.execute(delete(member_days_table).where(d.user_id == user_id, d.chat_id == chat_id))
        await s.execute(
            update(responses_table)
            .where(r.author_id == user_id, r.chat_id == chat_id)
            .values(author_id=None)
        )
        q = questions_table.c
        for column in (q.closed_by, q.claimed_by):
            await s.execute(
                update(questions_table)
                .where(column == user_id, q.chat_id == chat_id)
                .values({column.name: None})
            )
        await self._forget(user_id, chat_id)
        left = await s.execute(select(m.chat_id).where(m.user_id == user_id).limit(1))
        return left.first() is not None

    async def erase_member(self, user_id: int) -> None:
        """Everything recognition keeps about a person, in every group (not their opt-outs:
        those are their standing instruction)."""
        await self._forget(user_id, None)

    async def _forget(self, user_id: int, chat_id: int | None) -> None:
        s = self._session
        for table, column in (
            (point_awards_table, point_awards_table.c.user_id),
            (badges_table, badges_table.c.user_id),
            (invite_links_table, invite_links_table.c.user_id),
            (invite_credits_table, invite_credits_table.c.inviter_id),
        ):
            where: list[ColumnElement[bool]] = [column == user_id]
            if chat_id is not None:
                where.append(table.c.chat_id == chat_id)
            await s.execute(delete(table).where(*where))
        c = invite_credits_table.c
        where = [c.invitee_id == user_id]
        if chat_id is not None:
            where.append(c.chat_id == chat_id)
        await s.execute(update(invite_credits_table).where(*where).values(invitee_id=None))

    # --- points ---------------------------------------------------------------------------------

    async def award(self, awards: Sequence[PointAward]) -> int:
        """Record messages that earned points, in one statement; how many were new (a decision
        applied twice after a crash adds nothing)."""
        inserted = await insert_ignore(
            self._session,
            point_awards_table,
            [
                {
                    "chat_id": a.chat_id,
                    "message_id": a.message_id,
                    "user_id": a.user_id,
                    "awarded_at": a.at,
                }
                for a in sorted(awards, key=lambda a: (a.chat_id, a.message_id))  # lock order
            ],
            returning=["message_id"],
        )
        return len(inserted)

    async def credits_since(self, chat_id: int, since: datetime) -> dict[int, tuple[int, datetime]]:
        """Per member: messages that earned points since `since`, and the latest one's time."""
        p = point_awards_table.c
        rows = await self._session.execute(
            select(p.user_id, func.count(), func.max(p.awarded_at))
            .where(p.chat_id == chat_id, p.awarded_at >= since)
            .group_by(p.user_id)
        )
        return {user_id: (count, last) for user_id, count, last in rows}

    async def message_points(self, chat_id: int, since: datetime | None) -> dict[int, int]:
        p = point_awards_table.c
        query = select(p.user_id, func.count()).where(p.chat_id == chat_id)
        if since is not None:
            query = query.where(p.awarded_at >= since)
        rows = await self._session.execute(query.group_by(p.user_id))
        return {user_id: count for user_id, count in rows}

    async def answers(self, chat_id: int, since: datetime | None) -> dict[int, int]:
        """Questions each member answered (the hand-off's first human answer to another's)."""
        q = questions_table.c
        query = select(q.closed_by, func.count()).where(
            q.chat_id == chat_id,
            q.state == _ANSWERED,
            q.answerer.in_(_HUMAN_ANSWERERS),
            q.closed_by.is_not(None),
            q.closed_by != q.asker_id,
        )
        if since is not None:
            query = query.where(q.closed_at >= since)
        rows = await self._session.execute(query.group_by(q.closed_by))
        return {user_id: count for user_id, count in rows}

    async def reaction_points(self, chat_id: int, since: date | None) -> dict[int, int]:
        """Reactions each member received from others, at most `REACTION_POINTS_PER_DAY` a day."""
        d = member_days_table.c
        capped = case(
            (d.reactions_received > REACTION_POINTS_PER_DAY, REACTION_POINTS_PER_DAY),
            else_=d.reactions_received,
        )
        query = select(d.user_id, func.sum(capped)).where(
            d.chat_id == chat_id, d.reactions_received > 0
        )
        if since is not None:
            query = query.where(d.day >= since)
        rows = await self._session.execute(query.group_by(d.user_id))
        return {user_id: int(total) for user_id, total in rows}

    async def active_days(self, chat_id: int, since: date) -> dict[int, list[date]]:
        """The UTC days each member posted on, since `since`."""
        d = member_days_table.c
        rows = await self._session.execute(
            select(d.user_id, d.day).where(d.chat_id == chat_id, d.day >= since, d.messages > 0)
        )
        days: dict[int, list[date]] = defaultdict(list)
        for user_id, day in rows:
            days[user_id].append(day)
        return dict(days)

    # --- badges ---------------------------------------------------------------------------------

    async def badges(self, chat_id: int) -> dict[int, set[Badge]]:
        b = badges_table.c
        rows = await self._session.execute(select(b.user_id, b.badge).where(b.chat_id == chat_id))
        found: dict[int, set[Badge]] = defaultdict(set)
        for user_id, badge in rows:
            found[user_id].add(Badge(badge))
        return dict(found)

    async def add_badges(
        self, chat_id: int, earned: Sequence[tuple[int, Badge]], at: datetime
    ) -> int:
        inserted = await insert_ignore(
            self._session,
            badges_table,
            [
                {"chat_id": chat_id, "user_id": u, "badge": badge.value, "earned_at": at}
                for u, badge in sorted(earned)
            ],
            returning=["user_id"],
        )
        return len(inserted)

    async def unannounced(self, chat_id: int) -> list[EarnedBadge]:
        b = badges_table.c
        rows = await self._session.execute(
            select(b.user_id, b.badge, b.earned_at)
            .where(b.chat_id == chat_id, b.announced_at.is_(None))
            .order_by(b.earned_at, b.user_id, b.badge)
        )
        return [EarnedBadge(chat_id, u, Badge(badge), at) for u, badge, at in rows]

    async def chats_with_unannounced(self) -> list[int]:
        b = badges_table.c
        rows = await self._session.execute(
            select(b.chat_id).where(b.announced_at.is_(None)).distinct().order_by(b.chat_id)
        )
        return list(rows.scalars())

    async def last_announced(self, chat_id: int) -> datetime | None:
        g = recognition_groups_table.c
        row = await self._session.execute(select(g.announced_at).where(g.chat_id == chat_id))
        return row.scalar_one_or_none()

    async def mark_announced(
        self, chat_id: int, badges: Sequence[EarnedBadge], at: datetime
    ) -> None:
        b = badges_table.c
        for badge in badges:
            await self._session.execute(
                update(badges_table)
                .where(
                    b.chat_id == chat_id, b.user_id == badge.user_id, b.badge == badge.badge.value
                )
                .values(announced_at=at)
            )
        await upsert(
            self._session,
            recognition_groups_table,
            [{"chat_id": chat_id, "announced_at": at}],
            index_elements=["chat_id"],
            update_columns=["announced_at"],
        )

    # --- invites --------------------------------------------------------------------------------

    async def link_of(self, chat_id: int, user_id: int) -> str | None:
        i = invite_links_table.c
        row = await self._session.execute(
            select(i.link).where(i.chat_id == chat_id, i.user_id == user_id)
        )
        return row.scalar_one_or_none()

    async def save_link(self, chat_id: int, user_id: int, link: str, at: datetime) -> str:
        """Keep a member's link; if another request saved one first, that one is theirs."""
        await insert_ignore(
            self._session,
            invite_links_table,
            [{"link": link, "chat_id": chat_id, "user_id": user_id, "created_at": at}],
        )
        return await self.link_of(chat_id, user_id) or link

    async def invitees(self, chat_id: int) -> list[Invitee]:
        """Members whose latest join was by someone's personal link to this group."""
        m, i = members_table.c, invite_links_table.c
        rows = await self._session.execute(
            select(
                m.user_id,
                i.user_id,
                m.joined_at,
                m.first_seen_at,
                m.status == "member",
                m.message_count,
            )
            .join(invite_links_table, i.link == m.invite_link)
            .where(m.chat_id == chat_id, i.chat_id == chat_id, m.joined_at.is_not(None))
        )
        return [Invitee(*row) for row in rows]

    async def credited(self, chat_id: int) -> set[int]:
        c = invite_credits_table.c
        rows = await self._session.execute(
            select(c.invitee_id).where(c.chat_id == chat_id, c.invitee_id.is_not(None))
        )
        return set(rows.scalars())

    async def credit(self, chat_id: int, invitees: Sequence[Invitee], at: datetime) -> int:
        """Credit each invitee's inviter, once per newcomer; how many were new."""
        inserted = await insert_ignore(
            self._session,
            invite_credits_table,
            [
                {
                    "chat_id": chat_id,
                    "invitee_id": invitee.user_id,
                    "inviter_id": invitee.inviter_id,
                    "joined_at": invitee.joined_at,
                    "credited_at": at,
                }
                for invitee in sorted(invitees, key=lambda i: i.user_id)
            ],
            returning=["id"],
        )
        return len(inserted)

    async def credits(self, chat_id: int) -> dict[int, int]:
        """Credited invites per inviter."""
        c = invite_credits_table.c
        rows = await self._session.execute(
            select(c.inviter_id, func.count()).where(c.chat_id == chat_id).group_by(c.inviter_id)
        )
        return {user_id: count for user_id, count in rows}

    async def chats_with_links(self) -> list[int]:
        i = invite_links_table.c
        rows = await self._session.execute(select(i.chat_id).distinct().order_by(i.chat_id))
        return list(rows.scalars())

    async def display_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        """Members' names as boards show them (no @handle, so a board pings no one)."""
        u = users_table.c
        ids = sorted(set(user_ids))
        found: dict[int, str] = {}
        for start in range(0, len(ids), 1000):
            rows = await self._session.execute(
                select(u.user_id, u.first_name, u.last_name).where(
                    u.user_id.in_(ids[start : start + 1000])
                )
            )
            for user_id, first, last in rows:
                found[user_id] = f"{first} {last}" if last else first
        return found

    # --- a person's own data --------------------------------------------------------------------

    async def footprint(self, user_id: int) -> list[RecognitionFootprint]:
        """What recognition keeps about a person, group by group."""
        p, b, i, c = (
            point_awards_table.c,
            badges_table.c,
            invite_links_table.c,
            invite_credits_table.c,
        )
        s = self._session
        per_chat = select(p.chat_id, func.count()).where(p.user_id == user_id)
        awards: dict[int, int] = dict((await s.execute(per_chat.group_by(p.chat_id))).all())
        badges: dict[int, list[Badge]] = defaultdict(list)
        for chat_id, badge in await s.execute(
            select(b.chat_id, b.badge).where(b.user_id == user_id).order_by(b.earned_at)
        ):
            badges[chat_id].append(Badge(badge))
        links = dict((await s.execute(select(i.chat_id, i.link).where(i.user_id == user_id))).all())
        credited = select(c.chat_id, func.count()).where(c.inviter_id == user_id)
        credits: dict[int, int] = dict((await s.execute(credited.group_by(c.chat_id))).all())
        opted = set(await self.opted_out_chats(user_id))
        chats = sorted(set(awards) | set(badges) | set(links) | set(credits) | opted)
        g = groups_table.c
        named = select(g.chat_id, g.title).where(g.chat_id.in_(chats))
        titles = dict((await s.execute(named)).all()) if chats else {}
        return [
            RecognitionFootprint(
                chat_id=chat_id,
                title=titles.get(chat_id, str(chat_id)),
                points_messages=awards.get(chat_id, 0),
                badges=tuple(badges.get(chat_id, ())),
                invite_link=links.get(chat_id),
                invites_credited=credits.get(chat_id, 0),
                opted_out=chat_id in opted,
            )
            for chat_id in chats
        ]
