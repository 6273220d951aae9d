"""The booking_changed notice: staff changed a booking (details, party, session).

Revision ID: changes_01
Revises: companions_04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "changes_01"
down_revision: str | None = "companions_04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "'booking_confirmed', 'booking_waitlisted', 'booking_promoted', 'booking_cancelled', "
    "'session_cancelled', 'reminder', 'survey', 'session_changed'"
)
NEW_KINDS = OLD_KINDS + ", 'booking_changed'"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_notifications_kind_valid"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_valid"), "notifications", f"kind IN ({NEW_KINDS})"
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'booking_changed'")
    op.drop_constraint(op.f("ck_notifications_kind_valid"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_valid"), "notifications", f"kind IN ({OLD_KINDS})"
    )
