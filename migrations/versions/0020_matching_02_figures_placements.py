"""matching: the days' figures mark their year stale (meetings' outcomes, meetings, companies
and days added or removed), as issue 20's triggers do for bookings and sessions; a hire after
a match (start month, employment type, the placement record it counts as).

Check-ins and no-shows of the day's bookings already mark the year (indicators_04's booking
triggers).

Revision ID: matching_02
Revises: matching_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "matching_02"
down_revision: str | None = "matching_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FY = "(extract(year FROM ({t} AT TIME ZONE 'Asia/Tokyo') - interval '3 months'))::int"

EMPLOYMENT_TYPES = ("regular", "part_time", "dispatch", "silver", "other")

TRIGGERS = [
    # The fiscal year of a matching day is its session's (matching/figures.py reads the same).
    f"""
    CREATE FUNCTION indicators_touch_matching_day(eid bigint) RETURNS void LANGUAGE sql AS $$
        SELECT indicators_touch({_FY.format(t="s.starts_at")})
        FROM matching_days d JOIN sessions s ON s.id = d.session_id WHERE d.event_id = eid
    $$
    """,
    f"""
    CREATE FUNCTION indicators_matching_day_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM indicators_touch({_FY.format(t="s.starts_at")})
            FROM sessions s WHERE s.id = OLD.session_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM indicators_touch({_FY.format(t="s.starts_at")})
            FROM sessions s WHERE s.id = NEW.session_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_matching_day_added AFTER INSERT OR DELETE ON matching_days
    FOR EACH ROW EXECUTE FUNCTION indicators_matching_day_changed()
    """,
    """
    CREATE TRIGGER indicators_matching_day_updated AFTER UPDATE OF session_id ON matching_days
    FOR EACH ROW WHEN (OLD.session_id IS DISTINCT FROM NEW.session_id)
    EXECUTE FUNCTION indicators_matching_day_changed()
    """,
    # Companies: 参加企業.
    """
    CREATE FUNCTION indicators_matching_company_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM indicators_touch_matching_day(OLD.event_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM indicators_touch_matching_day(NEW.event_id);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_matching_company_changed
    AFTER INSERT OR DELETE OR UPDATE OF event_id ON matching_companies
    FOR EACH ROW EXECUTE FUNCTION indicators_matching_company_changed()
    """,
    # Meetings: a timetable writes hundreds at once, so once per statement and year (transition
    # tables); an update counts only when what the figures read changed (outcome, who, which
    # day), not a move to another slot or table.
    f"""
    CREATE FUNCTION indicators_matching_meetings_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            PERFORM indicators_touch(fy) FROM (
                SELECT DISTINCT {_FY.format(t="coalesce(s.starts_at, n.starts_at)")} AS fy
                FROM new_meetings n
                LEFT JOIN matching_days d ON d.event_id = n.event_id
                LEFT JOIN sessions s ON s.id = d.session_id
            ) years;
        ELSIF TG_OP = 'DELETE' THEN
            PERFORM indicators_touch(fy) FROM (
                SELECT DISTINCT {_FY.format(t="coalesce(s.starts_at, o.starts_at)")} AS fy
                FROM old_meetings o
                LEFT JOIN matching_days d ON d.event_id = o.event_id
                LEFT JOIN sessions s ON s.id = d.session_id
            ) years;
        ELSE
            PERFORM indicators_touch(fy) FROM (
                SELECT DISTINCT {_FY.format(t="coalesce(s.starts_at, m.starts_at)")} AS fy
                FROM (
                    SELECT o.event_id, o.starts_at FROM old_meetings o
                    JOIN new_meetings n ON n.id = o.id
                    WHERE o.outcome IS DISTINCT FROM n.outcome
                       OR o.event_id IS DISTINCT FROM n.event_id
                       OR o.booking_id IS DISTINCT FROM n.booking_id
                       OR o.organization_id IS DISTINCT FROM n.organization_id
                    UNION ALL
                    SELECT n.event_id, n.starts_at FROM old_meetings o
                    JOIN new_meetings n ON n.id = o.id
                    WHERE o.event_id IS DISTINCT FROM n.event_id
                ) m
                LEFT JOIN matching_days d ON d.event_id = m.event_id
                LEFT JOIN sessions s ON s.id = d.session_id
            ) years;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_matching_meetings_inserted AFTER INSERT ON matching_meetings
    REFERENCING NEW TABLE AS new_meetings
    FOR EACH STATEMENT EXECUTE FUNCTION indicators_matching_meetings_changed()
    """,
    """
    CREATE TRIGGER indicators_matching_meetings_updated AFTER UPDATE ON matching_meetings
    REFERENCING OLD TABLE AS old_meetings NEW TABLE AS new_meetings
    FOR EACH STATEMENT EXECUTE FUNCTION indicators_matching_meetings_changed()
    """,
    """
    CREATE TRIGGER indicators_matching_meetings_deleted AFTER DELETE ON matching_meetings
    REFERENCING OLD TABLE AS old_meetings
    FOR EACH STATEMENT EXECUTE FUNCTION indicators_matching_meetings_changed()
    """,
]

DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS indicators_matching_meetings_deleted ON matching_meetings",
    "DROP TRIGGER IF EXISTS indicators_matching_meetings_updated ON matching_meetings",
    "DROP TRIGGER IF EXISTS indicators_matching_meetings_inserted ON matching_meetings",
    "DROP FUNCTION IF EXISTS indicators_matching_meetings_changed()",
    "DROP TRIGGER IF EXISTS indicators_matching_company_changed ON matching_companies",
    "DROP FUNCTION IF EXISTS indicators_matching_company_changed()",
    "DROP TRIGGER IF EXISTS indicators_matching_day_updated ON matching_days",
    "DROP TRIGGER IF EXISTS indicators_matching_day_added ON matching_days",
    "DROP FUNCTION IF EXISTS indicators_matching_day_changed()",
    "DROP FUNCTION IF EXISTS indicators_touch_matching_day(bigint)",
]


def upgrade() -> None:
    op.add_column("matching_meetings", sa.Column("hired_on", sa.Date(), nullable=True))
    op.add_column(
        "matching_meetings", sa.Column("employment_type", sa.String(length=20), nullable=True)
    )
    op.add_column(
        "matching_meetings", sa.Column("placement_record_id", sa.BigInteger(), nullable=True)
    )
    op.create_foreign_key(
        op.f("fk_matching_meetings_placement_record_id_desk_records"),
        "matching_meetings",
        "desk_records",
        ["placement_record_id"],
        ["id"],
        ondelete="SET NULL",
    )
    allowed = ", ".join(f"'{t}'" for t in EMPLOYMENT_TYPES)
    op.create_check_constraint(
        op.f("ck_matching_meetings_employment_type_valid"),
        "matching_meetings",
        f"employment_type IN ({allowed})",
    )
    op.create_check_constraint(
        op.f("ck_matching_meetings_hire_follows_match"),
        "matching_meetings",
        "hired_on IS NULL OR (outcome = 'matched' AND employment_type IS NOT NULL)",
    )
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS:
        op.execute(statement)
    op.drop_constraint(
        op.f("ck_matching_meetings_hire_follows_match"), "matching_meetings", type_="check"
    )
    op.drop_constraint(
        op.f("ck_matching_meetings_employment_type_valid"), "matching_meetings", type_="check"
    )
    op.drop_constraint(
        op.f("fk_matching_meetings_placement_record_id_desk_records"),
        "matching_meetings",
        type_="foreignkey",
    )
    op.drop_column("matching_meetings", "placement_record_id")
    op.drop_column("matching_meetings", "employment_type")
    op.drop_column("matching_meetings", "hired_on")
