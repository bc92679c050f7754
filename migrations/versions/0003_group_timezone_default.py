"""A group without its own time zone follows DEFAULT_TIMEZONE: groups.timezone becomes nullable.

Until now a new group was stored with 'UTC', so DEFAULT_TIMEZONE never reached a recorded
group. 'UTC' rows become NULL (no group could choose a time zone before /settings).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 02:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch:
        batch.alter_column(
            "timezone",
            existing_type=sa.String(length=64),
            nullable=True,
            server_default=None,
        )
    op.execute("UPDATE groups SET timezone = NULL WHERE timezone = 'UTC'")


def downgrade() -> None:
    op.execute("UPDATE groups SET timezone = 'UTC' WHERE timezone IS NULL")
    with op.batch_alter_table("groups") as batch:
        batch.alter_column(
            "timezone",
            existing_type=sa.String(length=64),
            nullable=False,
            server_default="UTC",
        )
