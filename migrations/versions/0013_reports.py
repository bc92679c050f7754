"""Reports: the weekly digest's opt-in and the week each group was last told about (issue 12).

`digests` holds one row per group that ever chose: whether the weekly digest goes to the ops chat
(`/settings digest on|off`) and the local Monday of the last week reported, so a week is told
once even across restarts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_week", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["groups.chat_id"], name=op.f("fk_digests_chat_id_groups")
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_digests")),
    )


def downgrade() -> None:
    op.drop_table("digests")
