"""retention: bookings keep their counts after the retention purge removes the person
(person_id nullable once purged_at is set)

Revision ID: indicators_02
Revises: indicators_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "indicators_02"
down_revision: str | None = "indicators_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.alter_column("bookings", "person_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_check_constraint(
        op.f("ck_bookings_person_or_purged"),
        "bookings",
        "person_id IS NOT NULL OR purged_at IS NOT NULL",
    )


def downgrade() -> None:
    # Purged bookings cannot get their person back: they go with the downgrade.
    op.execute("DELETE FROM bookings WHERE person_id IS NULL")
    op.drop_constraint(op.f("ck_bookings_person_or_purged"), "bookings", type_="check")
    op.alter_column("bookings", "person_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_column("bookings", "purged_at")
