"""digit booking codes: 12 digits (codes issued before keep their 10 letters and digits)

Revision ID: pages_01
Revises: refactor_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pages_01"
down_revision: str | None = "refactor_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_bookings_code_length"), "bookings", type_="check")
    op.alter_column(
        "bookings", "code", type_=sa.String(length=12), existing_type=sa.String(length=10)
    )
    op.create_check_constraint(
        op.f("ck_bookings_code_shape"),
        "bookings",
        "code ~ '^[0-9]{12}$' OR code ~ '^[2-9A-HJKMNP-Z]{10}$'",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_bookings_code_shape"), "bookings", type_="check")
    op.alter_column(
        "bookings", "code", type_=sa.String(length=10), existing_type=sa.String(length=12)
    )
    op.create_check_constraint(op.f("ck_bookings_code_length"), "bookings", "length(code) = 10")
