"""Indexes for /mydata and /forgetme, and the rollups reports read instead of events.

`/mydata` and `/forgetme` scanned events (user, reply-to user, inviter) and members (invited
by). Replies, invites and invited-by are mostly NULL: their indexes are partial. The rollups
(`activity_hours`, `member_days`, `responses`) are folded at ingest from the events a batch
inserted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIAL = {
    ("events", "reply_to_user_id"),
    ("events", "inviter_id"),
    ("members", "invited_by_user_id"),
    ("responses", "author_id"),
}


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def _index(table: str, *columns: str) -> None:
    name = f"ix_{table}_{'_'.join(columns)}"
    if (table, columns[0]) in _PARTIAL and len(columns) == 1:
        where = sa.text(f"{columns[0]} IS NOT NULL")
        op.create_index(name, table, list(columns), sqlite_where=where, postgresql_where=where)
    else:
        op.create_index(name, table, list(columns))


def upgrade() -> None:
    _index("events", "user_id")
    _index("events", "reply_to_user_id")
    _index("events", "inviter_id")
    _index("members", "invited_by_user_id")
    op.create_table(
        "activity_hours",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        *(_counter(name) for name in ("messages", "replies", "reactions", "joins", "leaves")),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["groups.chat_id"], name=op.f("fk_activity_hours_chat_id_groups")
        ),
        sa.PrimaryKeyConstraint("chat_id", "hour", name=op.f("pk_activity_hours")),
    )
    op.create_table(
        "member_days",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        *(
            _counter(name)
            for name in (
                "active_hours",
                "messages",
                "replies",
                "reactions",
                "replies_received",
                "reactions_received",
            )
        ),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["groups.chat_id"], name=op.f("fk_member_days_chat_id_groups")
        ),
        sa.PrimaryKeyConstraint("chat_id", "day", "user_id", name=op.f("pk_member_days")),
    )
    _index("member_days", "user_id")
    op.create_table(
        "responses",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_reply_at", sa.DateTime(timezone=True), nullable=True),
        _counter("replies"),
        _counter("reactions"),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["groups.chat_id"], name=op.f("fk_responses_chat_id_groups")
        ),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_responses")),
    )
    _index("responses", "chat_id", "posted_at")
    _index("responses", "author_id")


def downgrade() -> None:
    op.drop_table("responses")
    op.drop_table("member_days")
    op.drop_table("activity_hours")
    op.drop_index("ix_members_invited_by_user_id", table_name="members")
    op.drop_index("ix_events_inviter_id", table_name="events")
    op.drop_index("ix_events_reply_to_user_id", table_name="events")
    op.drop_index("ix_events_user_id", table_name="events")
