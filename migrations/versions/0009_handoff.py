"""Questions and their hand-offs, the FAQ, the on-call rota and each group's hand-off settings.

`questions` holds one row per member question, keyed by its chat and message so that opening
it twice (a decision applied again after a crash) is harmless. `due_at` is the record's next
deadline (hand-off, then SLA; NULL once none is left), indexed because the tick selects due
rows every second. `text` is the question's text, kept only while it is open and 48 hours
after (erased then, and by /forgetme); the rest of the row stays for the measures.
`notices` lists the hand-off messages sent (chat, message) so a claim can edit them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 15:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = True) -> sa.Column[sa.DateTime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("asker_id", sa.BigInteger(), nullable=False),
        sa.Column("asker_name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("follow_ups", sa.JSON(), nullable=False),
        _when("asked_at", nullable=False),
        _when("last_message_at", nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _when("handoff_at", nullable=False),
        _when("sla_at", nullable=False),
        _when("due_at"),
        _when("handed_off_at"),
        sa.Column("claimed_by", sa.BigInteger(), nullable=True),
        _when("breached_at"),
        _when("closed_at"),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.Column("answerer", sa.String(length=16), nullable=True),
        sa.Column("faq_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("notices", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "message_id", name=op.f("pk_questions")),
    )
    op.create_index("ix_questions_due_at", "questions", ["due_at"])
    op.create_index("ix_questions_chat_id_state", "questions", ["chat_id", "state"])
    op.create_index("ix_questions_asker_id", "questions", ["asker_id"])
    op.create_index("ix_questions_closed_at", "questions", ["closed_at"])
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("added_by", sa.BigInteger(), nullable=True),
        _when("added_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_faq_entries")),
    )
    op.create_index("ix_faq_entries_chat_id", "faq_entries", ["chat_id"])
    op.create_table(
        "oncall_shifts",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("moderator_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("shift", sa.String(length=64), nullable=False),
        sa.Column("moderator_name", sa.String(length=255), server_default="", nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "moderator_id", "shift", name=op.f("pk_oncall_shifts")),
    )
    op.create_table(
        "handoff_settings",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("handoff_after_seconds", sa.Integer(), nullable=True),
        sa.Column("sla_seconds", sa.Integer(), nullable=True),
        sa.Column("ops_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("sla_follows_hours", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_handoff_settings")),
    )


def downgrade() -> None:
    op.drop_table("handoff_settings")
    op.drop_table("oncall_shifts")
    op.drop_index("ix_faq_entries_chat_id", table_name="faq_entries")
    op.drop_table("faq_entries")
    for index in ("closed_at", "asker_id", "chat_id_state", "due_at"):
        op.drop_index(f"ix_questions_{index}", table_name="questions")
    op.drop_table("questions")
