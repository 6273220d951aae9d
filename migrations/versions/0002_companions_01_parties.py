"""Companions: a booking holds a party (the holder and up to N companions), and needs.

Revision ID: companions_01
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "companions_01"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("max_companions", sa.SmallInteger(), server_default="1", nullable=False),
    )
    op.create_check_constraint(
        "ck_events_max_companions_range", "events", "max_companions BETWEEN 0 AND 5"
    )
    op.add_column(
        "bookings", sa.Column("party_size", sa.Integer(), server_default="1", nullable=False)
    )
    op.create_check_constraint("ck_bookings_party_size_positive", "bookings", "party_size >= 1")
    op.add_column("bookings", sa.Column("needs", sa.Text(), nullable=True))
    op.create_table(
        "booking_companions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_kana", sa.String(length=100), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("position >= 1", name=op.f("ck_booking_companions_position_positive")),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_companions_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_companions")),
        sa.UniqueConstraint(
            "booking_id", "position", name="uq_booking_companions_booking_position"
        ),
    )
    # A party holds as many seats as people: a booking is no longer unique among seats.
    op.drop_constraint("uq_session_seats_booking_id", "session_seats", type_="unique")
    op.create_index("ix_session_seats_booking_id", "session_seats", ["booking_id"])


def downgrade() -> None:
    # Back to one seat per booking: a party keeps its lowest-numbered seat.
    op.execute("""
        UPDATE session_seats st SET booking_id = NULL
        WHERE booking_id IS NOT NULL AND seat_no > (
            SELECT min(o.seat_no) FROM session_seats o
            WHERE o.session_id = st.session_id AND o.booking_id = st.booking_id)
    """)
    op.drop_index("ix_session_seats_booking_id", table_name="session_seats")
    op.create_unique_constraint("uq_session_seats_booking_id", "session_seats", ["booking_id"])
    op.drop_table("booking_companions")
    op.drop_column("bookings", "needs")
    op.drop_constraint("ck_bookings_party_size_positive", "bookings", type_="check")
    op.drop_column("bookings", "party_size")
    op.drop_constraint("ck_events_max_companions_range", "events", type_="check")
    op.drop_column("events", "max_companions")
