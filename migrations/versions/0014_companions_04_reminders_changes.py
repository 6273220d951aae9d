"""Reminders per event (days before, at 9:00 Japan time) and the change notice.

Revision ID: companions_04
Revises: companions_03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "companions_04"
down_revision: str | None = "companions_03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "'booking_confirmed', 'booking_waitlisted', 'booking_promoted', 'booking_cancelled', "
    "'session_cancelled', 'reminder', 'survey'"
)
NEW_KINDS = OLD_KINDS + ", 'session_changed'"


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column(
            "reminder_days",
            postgresql.ARRAY(sa.SmallInteger()),
            server_default=sa.text("'{3,1}'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_events_reminder_days_range"),
        "events",
        "reminder_days <@ ARRAY[1,2,3,4,5,6,7,8,9,10,11,12,13,14]::smallint[]",
    )
    op.drop_constraint(op.f("ck_notifications_kind_valid"), "notifications", type_="check")
    op.create_check_constraint(op.f("ck_notifications_kind_valid"), "notifications", f"kind IN ({NEW_KINDS})")


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'session_changed'")
    op.drop_constraint(op.f("ck_notifications_kind_valid"), "notifications", type_="check")
    op.create_check_constraint(op.f("ck_notifications_kind_valid"), "notifications", f"kind IN ({OLD_KINDS})")
    op.drop_constraint(op.f("ck_events_reminder_days_range"), "events", type_="check")
    op.drop_column("events", "reminder_days")
