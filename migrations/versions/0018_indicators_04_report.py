"""indicators: the yearly report. Every change that can move a figure marks its year stale
(triggers on sessions, events, bookings, targets, definitions and the reporting window too);
yearly hand figures (no months), unknown months (NULL); desk consultations with a contact and
consent get the survey; survey answers say whom they are about; a record's count up to 500;
per-definition excluded sub-kinds; plan periods; the narrative; 新現役交流会 history.

Revision ID: indicators_04
Revises: companions_04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "indicators_04"
down_revision: str | None = "line_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FY = "(extract(year FROM ({t} AT TIME ZONE 'Asia/Tokyo') - interval '3 months'))::int"

TRIGGERS = [
    # Bookings: any change of what attendance reads (a move between sessions touches both), and
    # no-shows. A booking that never attended moves no figure when it is cancelled, promoted
    # or moved: those (the booking rush's own writes) leave the year's row alone, so a rush
    # never queues on it.
    "DROP TRIGGER IF EXISTS indicators_booking_updated ON bookings",
    "DROP TRIGGER IF EXISTS indicators_booking_inserted ON bookings",
    "DROP FUNCTION IF EXISTS indicators_booking_changed()",
    f"""
    CREATE FUNCTION indicators_booking_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
    CREATE TRIGGER indicators_booking_inserted AFTER INSERT ON bookings
    FOR EACH ROW WHEN (NEW.checked_in_at IS NOT NULL)
    EXECUTE FUNCTION indicators_booking_changed()
    """,
    """
    CREATE TRIGGER indicators_booking_updated AFTER UPDATE ON bookings
    FOR EACH ROW WHEN (
        OLD.checked_in_at IS DISTINCT FROM NEW.checked_in_at
        OR OLD.no_show_at IS DISTINCT FROM NEW.no_show_at
        OR (NEW.checked_in_at IS NOT NULL AND (
            OLD.status IS DISTINCT FROM NEW.status
            OR OLD.session_id IS DISTINCT FROM NEW.session_id
            OR OLD.heard_from IS DISTINCT FROM NEW.heard_from
            OR OLD.party_size IS DISTINCT FROM NEW.party_size))
    )
    EXECUTE FUNCTION indicators_booking_changed()
    """,
    """
    CREATE TRIGGER indicators_booking_deleted AFTER DELETE ON bookings
    FOR EACH ROW WHEN (OLD.checked_in_at IS NOT NULL)
    EXECUTE FUNCTION indicators_booking_changed()
    """,
    # Sessions: added, removed, moved, cancelled or restored.
    "DROP TRIGGER IF EXISTS indicators_session_updated ON sessions",
    "DROP FUNCTION IF EXISTS indicators_session_changed()",
    f"""
    CREATE FUNCTION indicators_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM indicators_touch({_FY.format(t="OLD.starts_at")});
            PERFORM indicators_touch({_FY.format(t="OLD.ends_at")});
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM indicators_touch({_FY.format(t="NEW.starts_at")});
            PERFORM indicators_touch({_FY.format(t="NEW.ends_at")});
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_session_added AFTER INSERT OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION indicators_session_changed()
    """,
    """
    CREATE TRIGGER indicators_session_updated
    AFTER UPDATE OF starts_at, ends_at, event_id, status ON sessions
    FOR EACH ROW WHEN (
        OLD.starts_at IS DISTINCT FROM NEW.starts_at OR OLD.ends_at IS DISTINCT FROM NEW.ends_at
        OR OLD.event_id IS DISTINCT FROM NEW.event_id OR OLD.status IS DISTINCT FROM NEW.status
    )
    EXECUTE FUNCTION indicators_session_changed()
    """,
    # Events: published, cancelled, or classified differently.
    "DROP TRIGGER IF EXISTS indicators_event_updated ON events",
    """
    CREATE TRIGGER indicators_event_updated AFTER UPDATE OF kind, sector, sub_kind, status ON events
    FOR EACH ROW WHEN (
        OLD.kind IS DISTINCT FROM NEW.kind OR OLD.sector IS DISTINCT FROM NEW.sector
        OR OLD.sub_kind IS DISTINCT FROM NEW.sub_kind OR OLD.status IS DISTINCT FROM NEW.status
    )
    EXECUTE FUNCTION indicators_event_changed()
    """,
    # Rows that belong to one fiscal year: targets, the window, yearly hand figures.
    """
    CREATE FUNCTION indicators_year_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM indicators_touch((to_jsonb(OLD) ->> 'fiscal_year')::int);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM indicators_touch((to_jsonb(NEW) ->> 'fiscal_year')::int);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_targets_changed AFTER INSERT OR UPDATE OR DELETE
    ON indicator_targets FOR EACH ROW EXECUTE FUNCTION indicators_year_row_changed()
    """,
    """
    CREATE TRIGGER indicators_window_changed AFTER INSERT OR UPDATE OR DELETE
    ON fiscal_years FOR EACH ROW EXECUTE FUNCTION indicators_year_row_changed()
    """,
    """
    CREATE TRIGGER indicators_year_figures_changed AFTER INSERT OR UPDATE OR DELETE
    ON indicator_year_figures FOR EACH ROW EXECUTE FUNCTION indicators_year_row_changed()
    """,
    # A definition counts in every year compiled so far.
    """
    CREATE FUNCTION indicators_definitions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM indicators_touch(fiscal_year) FROM indicator_compilations;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_definitions_changed AFTER INSERT OR UPDATE OR DELETE
    ON indicator_definitions FOR EACH STATEMENT EXECUTE FUNCTION indicators_definitions_changed()
    """,
]

DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS indicators_definitions_changed ON indicator_definitions",
    "DROP FUNCTION IF EXISTS indicators_definitions_changed()",
    "DROP TRIGGER IF EXISTS indicators_year_figures_changed ON indicator_year_figures",
    "DROP TRIGGER IF EXISTS indicators_window_changed ON fiscal_years",
    "DROP TRIGGER IF EXISTS indicators_targets_changed ON indicator_targets",
    "DROP FUNCTION IF EXISTS indicators_year_row_changed()",
    "DROP TRIGGER IF EXISTS indicators_event_updated ON events",
    """
    CREATE TRIGGER indicators_event_updated AFTER UPDATE OF kind, sector, sub_kind ON events
    FOR EACH ROW WHEN (
        OLD.kind IS DISTINCT FROM NEW.kind OR OLD.sector IS DISTINCT FROM NEW.sector
        OR OLD.sub_kind IS DISTINCT FROM NEW.sub_kind
    )
    EXECUTE FUNCTION indicators_event_changed()
    """,
    "DROP TRIGGER IF EXISTS indicators_session_updated ON sessions",
    "DROP TRIGGER IF EXISTS indicators_session_added ON sessions",
    "DROP FUNCTION IF EXISTS indicators_session_changed()",
    f"""
    CREATE FUNCTION indicators_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM indicators_touch({_FY.format(t="OLD.starts_at")});
        PERFORM indicators_touch({_FY.format(t="NEW.starts_at")});
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_session_updated AFTER UPDATE OF starts_at, event_id ON sessions
    FOR EACH ROW WHEN (
        OLD.starts_at IS DISTINCT FROM NEW.starts_at OR OLD.event_id IS DISTINCT FROM NEW.event_id
    )
    EXECUTE FUNCTION indicators_session_changed()
    """,
    "DROP TRIGGER IF EXISTS indicators_booking_deleted ON bookings",
    "DROP TRIGGER IF EXISTS indicators_booking_updated ON bookings",
    "DROP TRIGGER IF EXISTS indicators_booking_inserted ON bookings",
    "DROP FUNCTION IF EXISTS indicators_booking_changed()",
    f"""
    CREATE FUNCTION indicators_booking_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM indicators_touch({_FY.format(t="s.starts_at")})
        FROM sessions s WHERE s.id = NEW.session_id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_booking_inserted AFTER INSERT ON bookings
    FOR EACH ROW WHEN (NEW.checked_in_at IS NOT NULL)
    EXECUTE FUNCTION indicators_booking_changed()
    """,
    """
    CREATE TRIGGER indicators_booking_updated AFTER UPDATE ON bookings
    FOR EACH ROW WHEN (
        OLD.checked_in_at IS DISTINCT FROM NEW.checked_in_at
        OR (NEW.checked_in_at IS NOT NULL AND (
            OLD.status IS DISTINCT FROM NEW.status
            OR OLD.heard_from IS DISTINCT FROM NEW.heard_from
            OR OLD.party_size IS DISTINCT FROM NEW.party_size))
    )
    EXECUTE FUNCTION indicators_booking_changed()
    """,
]


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("updated_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "indicator_year_figures",
        sa.Column("definition_id", sa.BigInteger(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=1), nullable=False),
        sa.Column("answers", sa.Integer(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "answers IS NULL OR answers >= 1",
            name=op.f("ck_indicator_year_figures_answers_positive"),
        ),
        sa.CheckConstraint("value >= 0", name=op.f("ck_indicator_year_figures_value_not_negative")),
        sa.ForeignKeyConstraint(
            ["definition_id"],
            ["indicator_definitions.id"],
            name=op.f("fk_indicator_year_figures_definition_id_indicator_definitions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_indicator_year_figures_updated_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint(
            "definition_id", "fiscal_year", name=op.f("pk_indicator_year_figures")
        ),
    )
    op.create_table(
        "indicator_plan_periods",
        sa.Column("first_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_year", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "last_year >= first_year AND last_year - first_year < 10",
            name=op.f("ck_indicator_plan_periods_years_in_order"),
        ),
        sa.PrimaryKeyConstraint("first_year", name=op.f("pk_indicator_plan_periods")),
    )
    op.execute("INSERT INTO indicator_plan_periods VALUES (2022, 2024)")
    op.create_table(
        "indicator_narratives",
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("section", sa.String(length=20), nullable=False),
        sa.Column("part", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=2000), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "section IN ('matching', 'care', 'service', 'community', 'outcome', 'exchange')",
            name=op.f("ck_indicator_narratives_section_valid"),
        ),
        sa.CheckConstraint(
            "part IN ('evaluation', 'plan')", name=op.f("ck_indicator_narratives_part_valid")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_indicator_narratives_updated_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint(
            "fiscal_year", "section", "part", name=op.f("pk_indicator_narratives")
        ),
    )
    op.create_table(
        "exchange_years",
        sa.Column("fiscal_year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("method", sa.String(length=100), server_default="", nullable=False),
        sa.Column("companies", sa.Integer(), nullable=True),
        sa.Column("participants", sa.Integer(), nullable=True),
        sa.Column("matches", sa.Integer(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=4, scale=1), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "matches IS NULL OR companies IS NULL OR matches <= companies",
            name=op.f("ck_exchange_years_matches_within_companies"),
        ),
        sa.CheckConstraint(
            "rate IS NULL OR (rate >= 0 AND rate <= 100)", name=op.f("ck_exchange_years_rate_range")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["staff_users.id"],
            name=op.f("fk_exchange_years_updated_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("fiscal_year", name=op.f("pk_exchange_years")),
    )
    op.create_table(
        "indicator_event_figures",
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("people", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_indicator_event_figures_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "fiscal_year", "event_id", "month", name=op.f("pk_indicator_event_figures")
        ),
    )
    op.alter_column("indicator_figures", "value", existing_type=sa.Numeric(14, 1), nullable=True)

    for name in ("exclude_sub_kinds",):
        op.add_column(
            "indicator_definitions",
            sa.Column(
                name,
                postgresql.ARRAY(sa.String(length=20)),
                server_default=sa.text("'{}'"),
                nullable=False,
            ),
        )
    op.add_column(
        "indicator_definitions",
        sa.Column(
            "survey_subjects",
            postgresql.ARRAY(sa.String(length=10)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )

    op.add_column("desk_records", sa.Column("contact_phone", sa.String(length=20), nullable=True))
    op.add_column("desk_records", sa.Column("contact_email", sa.String(length=254), nullable=True))
    op.add_column(
        "desk_records",
        sa.Column("survey_consent", sa.Boolean(), server_default="false", nullable=False),
    )
    op.drop_constraint(op.f("ck_desk_records_quantity_range"), "desk_records", type_="check")
    op.execute("UPDATE desk_records SET quantity = 500 WHERE quantity > 500")
    op.create_check_constraint(
        op.f("ck_desk_records_quantity_range"), "desk_records", "quantity >= 1 AND quantity <= 500"
    )
    op.create_check_constraint(
        op.f("ck_desk_records_consent_needs_contact"),
        "desk_records",
        "NOT survey_consent OR contact_phone IS NOT NULL OR contact_email IS NOT NULL",
    )

    op.add_column("survey_answers", sa.Column("desk_record_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "survey_answers",
        sa.Column("subject", sa.String(length=10), server_default="event", nullable=False),
    )
    # Answers entered on paper before this change were the desk's.
    op.execute("UPDATE survey_answers SET subject = 'desk' WHERE booking_id IS NULL")
    op.create_foreign_key(
        op.f("fk_survey_answers_desk_record_id_desk_records"),
        "survey_answers",
        "desk_records",
        ["desk_record_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_unique_constraint(
        op.f("uq_survey_answers_desk_record_id"), "survey_answers", ["desk_record_id"]
    )
    op.create_check_constraint(
        op.f("ck_survey_answers_subject_valid"), "survey_answers", "subject IN ('desk', 'event')"
    )
    op.drop_constraint(op.f("ck_survey_answers_source_valid"), "survey_answers", type_="check")
    op.create_check_constraint(
        op.f("ck_survey_answers_source_valid"),
        "survey_answers",
        "source IN ('web', 'paper', 'tablet')",
    )

    # 相談窓口の利用満足度 counts the desk's answers; the seminars' get a row of their own.
    op.execute(
        "UPDATE indicator_definitions SET survey_subjects = '{desk}' "
        "WHERE code = 'outcome_satisfaction'"
    )
    op.execute("""
        INSERT INTO indicator_definitions (code, name, unit, section, policy, position, measure,
                                           survey_subjects)
        SELECT 'outcome_event_satisfaction', 'イベント満足度', 'percent', 'outcome',
               '全事業共通項目', position + 1, 'satisfaction', '{event}'
        FROM indicator_definitions WHERE code = 'outcome_satisfaction'
        ON CONFLICT (code) DO NOTHING
    """)
    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS:
        op.execute(statement)
    op.execute("DELETE FROM indicator_definitions WHERE code = 'outcome_event_satisfaction'")
    op.drop_constraint(op.f("ck_survey_answers_source_valid"), "survey_answers", type_="check")
    op.execute("UPDATE survey_answers SET source = 'paper' WHERE source = 'tablet'")
    op.create_check_constraint(
        op.f("ck_survey_answers_source_valid"), "survey_answers", "source IN ('web', 'paper')"
    )
    op.drop_constraint(op.f("ck_survey_answers_subject_valid"), "survey_answers", type_="check")
    op.drop_constraint(op.f("uq_survey_answers_desk_record_id"), "survey_answers", type_="unique")
    op.drop_constraint(
        op.f("fk_survey_answers_desk_record_id_desk_records"), "survey_answers", type_="foreignkey"
    )
    op.drop_column("survey_answers", "subject")
    op.drop_column("survey_answers", "desk_record_id")
    op.drop_constraint(op.f("ck_desk_records_consent_needs_contact"), "desk_records", type_="check")
    op.drop_constraint(op.f("ck_desk_records_quantity_range"), "desk_records", type_="check")
    op.create_check_constraint(
        op.f("ck_desk_records_quantity_range"),
        "desk_records",
        "quantity >= 1 AND quantity <= 10000",
    )
    op.drop_column("desk_records", "survey_consent")
    op.drop_column("desk_records", "contact_email")
    op.drop_column("desk_records", "contact_phone")
    op.drop_column("indicator_definitions", "survey_subjects")
    op.drop_column("indicator_definitions", "exclude_sub_kinds")
    op.execute("DELETE FROM indicator_figures WHERE value IS NULL")
    op.alter_column("indicator_figures", "value", existing_type=sa.Numeric(14, 1), nullable=False)
    op.drop_table("indicator_event_figures")
    op.drop_table("exchange_years")
    op.drop_table("indicator_narratives")
    op.drop_table("indicator_plan_periods")
    op.drop_table("indicator_year_figures")
