"""Content items, their transitions, occurrences and measures, settings and operators (issue 11).

`content_items.due_at` is when the tick publishes an item next (indexed: the tick selects due
rows every second). `content_posts` holds one row per occurrence, keyed by the same dedup key
the outbox row of its send carries, so an occurrence is claimed once; its `measures` are JSON
(1 h, 6 h, 24 h), `next_measure_at` indexed for the measuring tick. `content_focus` remembers
which group an operator plans in their private chat, and which item awaits its body.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:15:00+00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "content_items",
        _id(),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("body", sa.JSON(), nullable=True),
        sa.Column("variant", sa.JSON(), nullable=True),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("locale", sa.String(length=16), server_default="en", nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=True),
        _when("planned_at"),
        _when("due_at"),
        sa.Column("posts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("experiment", sa.String(length=16), nullable=True),
        sa.Column("slots", sa.JSON(), nullable=False),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_items")),
    )
    op.create_index("ix_content_items_due_at", "content_items", ["due_at"])
    op.create_index("ix_content_items_chat_id_state", "content_items", ["chat_id", "state"])
    op.create_table(
        "content_transitions",
        _id(),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("by_user", sa.BigInteger(), nullable=True),
        _when("at", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_transitions")),
    )
    op.create_index("ix_content_transitions_item_id", "content_transitions", ["item_id"])
    op.create_table(
        "content_posts",
        _id(),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=191), nullable=False),
        _when("planned_at", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("arm", sa.Integer(), nullable=True),
        sa.Column("arm_label", sa.String(length=32), nullable=True),
        _when("published_at"),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("measures", sa.JSON(), nullable=False),
        _when("next_measure_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_posts")),
    )
    op.create_index("ix_content_posts_key", "content_posts", ["key"], unique=True)
    op.create_index("ix_content_posts_item_id", "content_posts", ["item_id"])
    op.create_index(
        "ix_content_posts_chat_id_planned_at", "content_posts", ["chat_id", "planned_at"]
    )
    op.create_index("ix_content_posts_next_measure_at", "content_posts", ["next_measure_at"])
    op.create_table(
        "content_settings",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("grace_seconds", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_content_settings")),
    )
    op.create_table(
        "content_operators",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), server_default="", nullable=False),
        _when("added_at", nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "user_id", name=op.f("pk_content_operators")),
    )
    op.create_index("ix_content_operators_user_id", "content_operators", ["user_id"])
    op.create_table(
        "content_focus",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("awaiting", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_content_focus")),
    )


def downgrade() -> None:
    op.drop_table("content_focus")
    op.drop_index("ix_content_operators_user_id", table_name="content_operators")
    op.drop_table("content_operators")
    op.drop_table("content_settings")
    for index in ("next_measure_at", "chat_id_planned_at", "item_id", "key"):
        op.drop_index(f"ix_content_posts_{index}", table_name="content_posts")
    op.drop_table("content_posts")
    op.drop_index("ix_content_transitions_item_id", table_name="content_transitions")
    op.drop_table("content_transitions")
    op.drop_index("ix_content_items_chat_id_state", table_name="content_items")
    op.drop_index("ix_content_items_due_at", table_name="content_items")
    op.drop_table("content_items")
