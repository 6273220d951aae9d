"""survey mail: notifications of kind 'survey' (the satisfaction survey the day after)

Revision ID: indicators_03
Revises: indicators_02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "indicators_03"
down_revision: str | None = "indicators_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = (
    "booking_confirmed",
    "booking_waitlisted",
    "booking_promoted",
    "booking_cancelled",
    "session_cancelled",
    "reminder",
)
AFTER = (*BEFORE, "survey")


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_notifications_kind_valid"), "notifications", type_="check")
    op.create_check_constraint(op.f("ck_notifications_kind_valid"), "notifications", _kinds(AFTER))


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'survey'")
    op.drop_constraint(op.f("ck_notifications_kind_valid"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_valid"), "notifications", _kinds(BEFORE)
    )
