"""Recognition: points, badges, personal invite links and opt-outs (issue 13).

`point_awards` holds one row per message that earned points (keyed by the message, so a
decision applied twice awards once); answers and reactions are read from `questions` and
`member_days`. `invite_links` maps a member's personal link to them; `invite_credits` holds one
row per newcomer who stayed 7 days and posted (unique on the newcomer: credited once).
`recognition_opt_outs` is the one table that names a member who opted out.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id(name: str) -> sa.Column[sa.BigInteger]:
    return sa.Column(name, sa.BigInteger(), autoincrement=False, nullable=False)


def upgrade() -> None:
    op.create_table(
        "recognition_opt_outs",
        _id("chat_id"),
        _id("user_id"),
        _when("since"),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_recognition_opt_outs")),
    )
    op.create_table(
        "point_awards",
        _id("chat_id"),
        _id("message_id"),
        _id("user_id"),
        _when("awarded_at"),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_point_awards")),
    )
    op.create_index(
        "ix_point_awards_chat_id_awarded_at", "point_awards", ["chat_id", "awarded_at"]
    )
    op.create_index("ix_point_awards_user_id", "point_awards", ["user_id"])
    op.create_table(
        "recognition_badges",
        _id("chat_id"),
        _id("user_id"),
        sa.Column("badge", sa.String(length=32), nullable=False),
        _when("earned_at"),
        _when("announced_at", nullable=True),
        sa.PrimaryKeyConstraint("chat_id", "user_id", "badge", name=op.f("pk_recognition_badges")),
    )
    op.create_index("ix_recognition_badges_user_id", "recognition_badges", ["user_id"])
    op.create_table(
        "invite_links",
        sa.Column("link", sa.String(length=255), nullable=False),
        _id("chat_id"),
        _id("user_id"),
        _when("created_at"),
        sa.PrimaryKeyConstraint("link", name=op.f("pk_invite_links")),
    )
    op.create_index(
        "ix_invite_links_chat_id_user_id", "invite_links", ["chat_id", "user_id"], unique=True
    )
    op.create_index("ix_invite_links_user_id", "invite_links", ["user_id"])
    op.create_table(
        "invite_credits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("invitee_id", sa.BigInteger(), nullable=True),
        sa.Column("inviter_id", sa.BigInteger(), nullable=False),
        _when("joined_at"),
        _when("credited_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite_credits")),
    )
    op.create_index(
        "ix_invite_credits_chat_id_invitee_id",
        "invite_credits",
        ["chat_id", "invitee_id"],
        unique=True,
    )
    op.create_index("ix_invite_credits_inviter_id", "invite_credits", ["inviter_id"])
    op.create_table(
        "recognition_groups",
        _id("chat_id"),
        _when("announced_at", nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_recognition_groups")),
    )


def downgrade() -> None:
    op.drop_table("recognition_groups")
    op.drop_index("ix_invite_credits_inviter_id", table_name="invite_credits")
    op.drop_index("ix_invite_credits_chat_id_invitee_id", table_name="invite_credits")
    op.drop_table("invite_credits")
    op.drop_index("ix_invite_links_user_id", table_name="invite_links")
    op.drop_index("ix_invite_links_chat_id_user_id", table_name="invite_links")
    op.drop_table("invite_links")
    op.drop_index("ix_recognition_badges_user_id", table_name="recognition_badges")
    op.drop_table("recognition_badges")
    op.drop_index("ix_point_awards_user_id", table_name="point_awards")
    op.drop_index("ix_point_awards_chat_id_awarded_at", table_name="point_awards")
    op.drop_table("point_awards")
    op.drop_table("recognition_opt_outs")
