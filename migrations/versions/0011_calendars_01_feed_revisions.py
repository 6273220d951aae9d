"""calendar feeds: session revisions, installation id, stored feed links and booking tokens

Revision ID: calendars_01
Revises: resilience_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "calendars_01"
down_revision: str | None = "resilience_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A session's revision (iCalendar SEQUENCE) rises when what a calendar shows about it changes:
# time, place, online or in person, status. In PostgreSQL so every write path counts.
# Online fields are compared through to_jsonb so the trigger works before and after those
# columns exist.
BUMP_SESSION = """
CREATE FUNCTION sessions_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.starts_at IS DISTINCT FROM OLD.starts_at
       OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
       OR NEW.venue_id IS DISTINCT FROM OLD.venue_id
       OR NEW.status IS DISTINCT FROM OLD.status
       OR (to_jsonb(NEW) -> 'is_online') IS DISTINCT FROM (to_jsonb(OLD) -> 'is_online')
       OR (to_jsonb(NEW) -> 'mode') IS DISTINCT FROM (to_jsonb(OLD) -> 'mode') THEN
        NEW.revision := OLD.revision + 1;
        NEW.updated_at := clock_timestamp();
        UPDATE calendar_changes SET generation = generation + 1, changed_at = clock_timestamp();
    END IF;
    RETURN NEW;
END $$
;;
CREATE TRIGGER sessions_bump_revision BEFORE UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessions_bump_revision();
"""

# An event's status is every session's status in a feed (a cancelled event's sessions are shown
# cancelled); the first publication is remembered so a cancelled draft never reaches the public.
EVENT_STATUS = """
CREATE FUNCTION events_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'published' AND NEW.published_at IS NULL THEN
        NEW.published_at := clock_timestamp();
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        UPDATE sessions SET revision = revision + 1, updated_at = clock_timestamp()
         WHERE event_id = NEW.id;
    END IF;
    RETURN NEW;
END $$
;;
CREATE TRIGGER events_status_changed BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION events_status_changed()
;;
CREATE FUNCTION events_published_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'published' AND NEW.published_at IS NULL THEN
        NEW.published_at := clock_timestamp();
    END IF;
    RETURN NEW;
END $$
;;
CREATE TRIGGER events_published_on_insert BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_published_on_insert();
"""

# A venue's new address or coordinates move every session held there.
VENUE_MOVED = """
CREATE FUNCTION venues_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.name, NEW.address, NEW.ward, NEW.access_notes, NEW.latitude, NEW.longitude)
       IS DISTINCT FROM
       (OLD.name, OLD.address, OLD.ward, OLD.access_notes, OLD.latitude, OLD.longitude) THEN
        UPDATE sessions SET revision = revision + 1, updated_at = clock_timestamp()
         WHERE venue_id = NEW.id;
    END IF;
    RETURN NEW;
END $$
;;
CREATE TRIGGER venues_moved AFTER UPDATE ON venues
    FOR EACH ROW EXECUTE FUNCTION venues_moved();
"""

# One counter for "something a public feed shows may have changed": a poll that finds it
# unchanged answers 304 after reading one row. Bookings never touch it (the public feed shows
# no counts), so the booking rush does not queue on it.
CHANGES = """
CREATE FUNCTION calendar_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE calendar_changes SET generation = generation + 1, changed_at = clock_timestamp();
    RETURN NULL;
END $$
;;
CREATE TRIGGER sessions_calendar_changed AFTER INSERT OR DELETE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed()
;;
CREATE TRIGGER events_calendar_changed AFTER INSERT OR UPDATE OR DELETE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed()
;;
CREATE TRIGGER venues_calendar_changed AFTER INSERT OR UPDATE OR DELETE ON venues
    FOR EACH STATEMENT EXECUTE FUNCTION calendar_changed()
"""

# Disabling a user or changing what they may see ends every feed link they had, so enabling
# them again brings no old link back.
STAFF_CHANGED = """
CREATE FUNCTION staff_users_revoke_feed_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.is_active, NEW.role, NEW.organization_id)
       IS DISTINCT FROM (OLD.is_active, OLD.role, OLD.organization_id) THEN
        UPDATE staff_feed_links SET revoked_at = clock_timestamp()
         WHERE user_id = NEW.id AND revoked_at IS NULL;
    END IF;
    RETURN NEW;
END $$
;;
CREATE TRIGGER staff_users_revoke_feed_links AFTER UPDATE ON staff_users
    FOR EACH ROW EXECUTE FUNCTION staff_users_revoke_feed_links();
"""

# 128 bits from PostgreSQL's strong random source (gen_random_uuid), without pgcrypto.
RANDOM_TOKEN = "md5(gen_random_uuid()::text || gen_random_uuid()::text)"


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("singleton", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("singleton", name=op.f("ck_installation_singleton")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
        sa.UniqueConstraint("singleton", name=op.f("uq_installation_singleton")),
    )
    op.execute("INSERT INTO installation DEFAULT VALUES")
    op.create_table(
        "calendar_changes",
        sa.Column("singleton", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("generation", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("singleton", name=op.f("ck_calendar_changes_singleton")),
        sa.PrimaryKeyConstraint("singleton", name=op.f("pk_calendar_changes")),
    )
    op.execute("INSERT INTO calendar_changes DEFAULT VALUES")

    op.add_column(
        "sessions", sa.Column("revision", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "sessions",
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.execute("UPDATE sessions SET updated_at = created_at")
    op.create_check_constraint("revision_not_negative", "sessions", "revision >= 0")

    op.add_column("events", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE events SET published_at = created_at WHERE status = 'published'"
        " OR (status = 'cancelled' AND EXISTS (SELECT 1 FROM audit_log a"
        " WHERE a.action = 'event.publish' AND a.entity_type = 'event' AND a.entity_id = events.id))"
    )
    op.add_column(
        "events",
        sa.Column("alarm_day_before", sa.Boolean(), server_default="true", nullable=False),
    )
    op.add_column(
        "events",
        sa.Column("alarm_minutes_before", sa.Integer(), server_default="120", nullable=True),
    )
    op.create_check_constraint(
        "alarm_minutes_before_range",
        "events",
        "alarm_minutes_before IS NULL OR alarm_minutes_before BETWEEN 5 AND 10080",
    )

    op.add_column("venues", sa.Column("latitude", sa.Float(), nullable=True))
    op.add_column("venues", sa.Column("longitude", sa.Float(), nullable=True))
    op.create_check_constraint(
        "coordinates_valid",
        "venues",
        "(latitude IS NULL AND longitude IS NULL) OR (latitude BETWEEN -90 AND 90"
        " AND longitude BETWEEN -180 AND 180)",
    )

    op.add_column(
        "bookings",
        sa.Column(
            "calendar_token",
            sa.String(length=64),
            server_default=sa.text(RANDOM_TOKEN),
            nullable=False,
        ),
    )

    op.create_table(
        "staff_feed_links",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("sector", sa.String(length=20), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("organization_id", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.BigInteger(), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fetched_from", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("length(btrim(name)) > 0", name=op.f("ck_staff_feed_links_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_feed_links_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_feed_links_revoked_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_staff_feed_links_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_feed_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_feed_links_token_hash")),
    )
    op.create_index("ix_staff_feed_links_user_id", "staff_feed_links", ["user_id"])

    for script in (BUMP_SESSION, EVENT_STATUS, VENUE_MOVED, CHANGES, STAFF_CHANGED):
        # asyncpg runs one statement per call.
        for statement in script.split("\n;;\n"):
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER staff_users_revoke_feed_links ON staff_users")
    op.execute("DROP FUNCTION staff_users_revoke_feed_links()")
    for table in ("sessions", "events", "venues"):
        op.execute(f"DROP TRIGGER {table}_calendar_changed ON {table}")
    op.execute("DROP FUNCTION calendar_changed()")
    op.execute("DROP TRIGGER venues_moved ON venues")
    op.execute("DROP FUNCTION venues_moved()")
    op.execute("DROP TRIGGER events_published_on_insert ON events")
    op.execute("DROP FUNCTION events_published_on_insert()")
    op.execute("DROP TRIGGER events_status_changed ON events")
    op.execute("DROP FUNCTION events_status_changed()")
    op.execute("DROP TRIGGER sessions_bump_revision ON sessions")
    op.execute("DROP FUNCTION sessions_bump_revision()")
    op.drop_index("ix_staff_feed_links_user_id", table_name="staff_feed_links")
    op.drop_table("staff_feed_links")
    op.drop_column("bookings", "calendar_token")
    op.drop_constraint(op.f("ck_venues_coordinates_valid"), "venues", type_="check")
    op.drop_column("venues", "longitude")
    op.drop_column("venues", "latitude")
    op.drop_constraint(op.f("ck_events_alarm_minutes_before_range"), "events", type_="check")
    op.drop_column("events", "alarm_minutes_before")
    op.drop_column("events", "alarm_day_before")
    op.drop_column("events", "published_at")
    op.drop_constraint(op.f("ck_sessions_revision_not_negative"), "sessions", type_="check")
    op.drop_column("sessions", "updated_at")
    op.drop_column("sessions", "revision")
    op.drop_table("calendar_changes")
    op.drop_table("installation")
