"""The message pipeline: watcher decisions kept until applied; an unused events index dropped.

Watchers judge a message before its event is committed, and their decisions are written in
the same transaction, so a message confirmed to Telegram has been judged and what was decided
survives a crash until it is applied. `ix_events_chat_id_kind_occurred_at` served no query and
cost every insert (216 MB at 5M events).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("watcher", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_chat_id_kind_occurred_at")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_index(
            "ix_events_chat_id_kind_occurred_at", ["chat_id", "kind", "occurred_at"], unique=False
        )
    op.drop_table("decisions")
