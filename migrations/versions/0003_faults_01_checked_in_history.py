"""a cancelled booking keeps its check-in as history

Revision ID: faults_01
Revises: companions_01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "faults_01"
down_revision: str | None = "companions_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A session cancelled on its day cancels the bookings of people already checked in; their
    # check-in stays on the cancelled booking as a record of who came.
    op.drop_constraint(op.f("ck_bookings_checked_in_only_confirmed"), "bookings", type_="check")
    op.create_check_constraint(
        op.f("ck_bookings_checked_in_not_waitlisted"),
        "bookings",
        "checked_in_at IS NULL OR status <> 'waitlisted'",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_bookings_checked_in_not_waitlisted"), "bookings", type_="check")
    # The old rule cannot hold a cancelled booking's check-in: it goes with the downgrade.
    op.execute("UPDATE bookings SET checked_in_at = NULL WHERE status <> 'confirmed'")
    op.create_check_constraint(
        op.f("ck_bookings_checked_in_only_confirmed"),
        "bookings",
        "checked_in_at IS NULL OR status = 'confirmed'",
    )
