"""A call task can be superseded: a later change notice for the same booking, written while the
earlier call was still to be made, is told in one call (the first before → the last after), and
the earlier task closes as superseded instead of being phoned with what is no longer true.

Revision ID: calls_02
Revises: bookings_02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "calls_02"
down_revision: str | None = "bookings_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_call_tasks_state_valid"  # the full name: op.f() keeps it from the naming convention


def upgrade() -> None:
    op.drop_constraint(op.f(_NAME), "call_tasks", type_="check")
    op.create_check_constraint(
        op.f(_NAME), "call_tasks", "state IN ('open', 'done', 'declined', 'superseded')"
    )


def downgrade() -> None:
    op.execute("UPDATE call_tasks SET state = 'done' WHERE state = 'superseded'")
    op.drop_constraint(op.f(_NAME), "call_tasks", type_="check")
    op.create_check_constraint(op.f(_NAME), "call_tasks", "state IN ('open', 'done', 'declined')")
