"""sessions.matching_day: a matching day's session says so itself, kept by a trigger on
matching_days, so that the booking statement (which reads the session anyway) tells a booking
whether its profile and consent are required without a second round trip.

Revision ID: sessions_01
Revises: matching_02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "sessions_01"
down_revision: str | None = "matching_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "sessions",
        sa.Column("matching_day", sa.Boolean(), server_default="false", nullable=False),
    )
    op.execute(
        "UPDATE sessions SET matching_day = true WHERE id IN (SELECT session_id FROM matching_days)"
    )
    op.execute("""
        CREATE FUNCTION sessions_matching_day() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN
                UPDATE sessions SET matching_day = false
                WHERE id = OLD.session_id AND matching_day;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                UPDATE sessions SET matching_day = true
                WHERE id = NEW.session_id AND NOT matching_day;
            END IF;
            RETURN NULL;
        END $$
    """)
    op.execute("""
        CREATE TRIGGER matching_days_flag_session
        AFTER INSERT OR DELETE OR UPDATE OF session_id ON matching_days
        FOR EACH ROW EXECUTE FUNCTION sessions_matching_day()
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER matching_days_flag_session ON matching_days")
    op.execute("DROP FUNCTION sessions_matching_day()")
    op.drop_column("sessions", "matching_day")
