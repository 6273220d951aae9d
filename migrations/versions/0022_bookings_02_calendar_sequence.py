"""A booking's own calendar SEQUENCE: an offset added to its session's revision, raised by
staff changes and carried over by a move, so the number a calendar saw never goes down.

Revision ID: bookings_02
Revises: sessions_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "bookings_02"
down_revision: str | None = "sessions_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "bookings",
        sa.Column("calendar_sequence_offset", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_bookings_calendar_sequence_offset_not_negative"),
        "bookings",
        "calendar_sequence_offset >= 0",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_bookings_calendar_sequence_offset_not_negative"), "bookings", type_="check"
    )
    op.drop_column("bookings", "calendar_sequence_offset")
