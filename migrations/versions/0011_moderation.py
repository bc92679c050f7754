"""Moderation: warnings, the moderation log, and each group's warn policy, rules, welcome and
locks (issue 13).

`warnings` holds one row per warning; it counts until the group's expiry or until cleared.
`mod_log` records every action (who, whom, what, why, when, until). `moderation_settings`
holds the warn policy, rules, welcome text and locks, and `welcomed_through`, the last join
event a welcome covered.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = True) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "moderation_settings",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("warn_limit", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("warn_punishment", sa.String(length=8), server_default="mute", nullable=False),
        sa.Column("warn_seconds", sa.Integer(), server_default=sa.text("86400"), nullable=False),
        sa.Column("warn_expiry_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("rules", sa.Text(), nullable=True),
        sa.Column("welcome", sa.Text(), nullable=True),
        sa.Column("welcomed_through", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("locks", sa.String(length=64), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_moderation_settings")),
    )
    op.create_table(
        "warnings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=255), server_default="", nullable=False),
        sa.Column("given_by_id", sa.BigInteger(), nullable=True),
        sa.Column("given_by", sa.String(length=255), server_default="", nullable=False),
        _when("given_at", nullable=False),
        _when("cleared_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warnings")),
    )
    op.create_index("ix_warnings_user_id_chat_id", "warnings", ["user_id", "chat_id"])
    op.create_table(
        "mod_log",
        sa.Column("id", _ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        _when("at", nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("target_name", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=255), server_default="", nullable=False),
        _when("until"),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mod_log")),
    )
    op.create_index("ix_mod_log_chat_id_at", "mod_log", ["chat_id", "at"])
    op.create_index("ix_mod_log_target_id", "mod_log", ["target_id"])


def downgrade() -> None:
    op.drop_index("ix_mod_log_target_id", table_name="mod_log")
    op.drop_index("ix_mod_log_chat_id_at", table_name="mod_log")
    op.drop_table("mod_log")
    op.drop_index("ix_warnings_user_id_chat_id", table_name="warnings")
    op.drop_table("warnings")
    op.drop_table("moderation_settings")
