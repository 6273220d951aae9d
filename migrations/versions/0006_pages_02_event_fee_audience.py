"""events: 参加費 (fee_yen, 0 is free), 対象 (audience) and 来場の目安 (arrival_note)

Revision ID: pages_02
Revises: pages_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pages_02"
down_revision: str | None = "pages_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("fee_yen", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "events", sa.Column("audience", sa.String(length=300), server_default="", nullable=False)
    )
    op.add_column(
        "events",
        sa.Column("arrival_note", sa.String(length=500), server_default="", nullable=False),
    )
    op.create_check_constraint(op.f("ck_events_fee_not_negative"), "events", "fee_yen >= 0")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_events_fee_not_negative"), "events", type_="check")
    op.drop_column("events", "arrival_note")
    op.drop_column("events", "audience")
    op.drop_column("events", "fee_yen")
