"""The ad-share cap: the promo verdict on the event, its rollup, settings, and what it keeps.

`events.promo_score` is set on a message judged a promo (NULL for the rest), once, when its
decision is applied. `promo_hours` is the rollup the budget reads instead of events: per UTC
hour and author, the promos that stayed and the messages the bot removed (those leave the
denominator too, as they leave the group's history). `adcap_settings` holds a group's cap,
window and policy, and `version`, which an operator's reservation bumps first so that two
reservations for one group queue on that row. `removed_promos` keeps a removed promo's text
for 48 hours so it can be restored (`notice_id`: the bot's reply saying why, which /notpromo
answers); `promo_feedback` keeps moderators' /promo and /notpromo
marks for the next retrain.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 15:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("promo_score", sa.Float(), nullable=True))
    op.create_table(
        "promo_hours",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _counter("promos"),
        _counter("removed"),
        sa.PrimaryKeyConstraint("chat_id", "hour", "user_id", name=op.f("pk_promo_hours")),
    )
    op.create_index("ix_promo_hours_user_id", "promo_hours", ["user_id"])
    op.create_table(
        "adcap_settings",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("cap", sa.Float(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("mute_seconds", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _counter("version"),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_adcap_settings")),
    )
    op.create_table(
        "adcap_exemptions",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_adcap_exemptions")),
    )
    op.create_table(
        "promo_reservations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promo_reservations")),
        sa.UniqueConstraint("key", name=op.f("uq_promo_reservations_key")),
    )
    op.create_index(
        "ix_promo_reservations_chat_id_reserved_at",
        "promo_reservations",
        ["chat_id", "reserved_at"],
    )
    op.create_table(
        "removed_promos",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_removed_promos")),
    )
    op.create_index("ix_removed_promos_removed_at", "removed_promos", ["removed_at"])
    op.create_index("ix_removed_promos_user_id", "removed_promos", ["user_id"])
    op.create_table(
        "promo_feedback",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("is_promo", sa.Boolean(), nullable=False),
        sa.Column("marked_by", sa.BigInteger(), nullable=True),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_promo_feedback")),
    )
    op.create_index("ix_promo_feedback_author_id", "promo_feedback", ["author_id"])


def downgrade() -> None:
    op.drop_table("promo_feedback")
    op.drop_table("removed_promos")
    op.drop_table("promo_reservations")
    op.drop_table("adcap_exemptions")
    op.drop_table("adcap_settings")
    op.drop_table("promo_hours")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("promo_score")
