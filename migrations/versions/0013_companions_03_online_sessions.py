"""Online sessions: a join link and instructions, for booked people only.

Revision ID: companions_03
Revises: companions_02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "companions_03"
down_revision: str | None = "companions_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sessions", sa.Column("is_online", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("sessions", sa.Column("join_url", sa.String(length=500), nullable=True))
    op.add_column("sessions", sa.Column("join_instructions", sa.Text(), nullable=True))
    # The venue "オンライン" stood for online sessions until now.
    op.execute("""
        UPDATE sessions SET is_online = true
        WHERE venue_id IN (SELECT id FROM venues WHERE ward = 'online')
    """)


def downgrade() -> None:
    op.drop_column("sessions", "join_instructions")
    op.drop_column("sessions", "join_url")
    op.drop_column("sessions", "is_online")
