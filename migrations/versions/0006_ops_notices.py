"""What the ops chat has been told about each group, so each fact reaches it once across restarts.

One row per group and topic (`bot_removed`, `missing_rights`, `readiness`); `detail` tells a
changed fact from a repeated one (the readiness row holds the rights still lacking). A group
with a `bot_removed` row is left: it is not checked again until the bot is back in it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ops_notices",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=255), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "topic", name=op.f("pk_ops_notices")),
    )


def downgrade() -> None:
    op.drop_table("ops_notices")
