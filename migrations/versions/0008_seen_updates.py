"""Updates handled without an event (private commands, button presses), so a redelivery after
a crash is answered once; rows older than a week are swept (Telegram keeps updates 24 hours).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:20:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_seen_updates")),
    )


def downgrade() -> None:
    op.drop_table("seen_updates")
