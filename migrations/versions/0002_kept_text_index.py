"""A partial index over events that keep their text, for the retention sweep.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEPT = sa.text("text IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_events_kept_text",
        "events",
        ["chat_id", "occurred_at"],
        unique=False,
        sqlite_where=KEPT,
        postgresql_where=KEPT,
    )


def downgrade() -> None:
    op.drop_index("ix_events_kept_text", table_name="events")
