"""Reports: the weekly digest and exports (issue 12).

Reserved in the chain so that features built in parallel each own one revision; it changes
nothing until its feature fills it in.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 17:15:00+00:00
"""

from collections.abc import Sequence

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
