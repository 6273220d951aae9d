"""The seat's booking foreign key, which the initial schema declared with use_alter and so
never created (create_table leaves such constraints to a later ALTER); `alembic check` found it.

Revision ID: refactor_01
Revises: faults_01
"""

from __future__ import annotations

from alembic import op

revision = "refactor_01"
down_revision = "faults_01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_foreign_key(
        "fk_session_seats_booking_id_bookings",
        "session_seats",
        "bookings",
        ["booking_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint("fk_session_seats_booking_id_bookings", "session_seats", type_="foreignkey")
