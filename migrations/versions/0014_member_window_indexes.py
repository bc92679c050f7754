"""Indexes for the members first seen, and the members who joined, in a window (issue 12).

`/stats` and the overview count the members first seen and the members who joined over each
window. Without an index each count read every membership of the group: 60,000 rows of a large
group, 70 to 100 ms a count at 5M events on SQLite; these make each a range read of the
window's few thousand (under 2 ms). `(chat_id, first_seen_at, user_id)` covers the ids the
overview reads.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_members_chat_id_first_seen_at_user_id": ("chat_id", "first_seen_at", "user_id"),
    "ix_members_chat_id_joined_at": ("chat_id", "joined_at"),
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "members", list(columns))


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="members")
