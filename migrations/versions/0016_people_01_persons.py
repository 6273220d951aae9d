"""People (登録者): the person record grows contact details, a postal address, interests, the
contact preference and consent; the kana is compared without spaces (kana_key); merges are
audited. Existing persons keep their ids, so every booking keeps its link; persons that only
differed by spaces in the kana are merged first (their bookings move to the oldest).

Revision ID: people_01
Revises: companions_04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "people_01"
down_revision: str | None = "changes_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KANA_KEY = "translate(name_kana, ' ・', '')"


def upgrade() -> None:
    # Same phone, same kana but for spaces: one person (the oldest row keeps the links).
    op.execute(f"""
        WITH ranked AS (
            SELECT id, min(id) OVER (PARTITION BY phone, {KANA_KEY}) AS keep FROM persons
        ), moved AS (
            UPDATE bookings b SET person_id = r.keep FROM ranked r
            WHERE b.person_id = r.id AND r.id <> r.keep RETURNING b.id
        )
        DELETE FROM persons p USING ranked r WHERE p.id = r.id AND r.id <> r.keep
    """)
    op.drop_constraint("uq_persons_phone_kana", "persons", type_="unique")
    op.alter_column("persons", "phone", existing_type=sa.String(length=20), nullable=True)
    op.add_column(
        "persons",
        sa.Column(
            "kana_key", sa.String(length=100), sa.Computed(KANA_KEY, persisted=True), nullable=False
        ),
    )
    op.add_column("persons", sa.Column("phone_alt", sa.String(length=20), nullable=True))
    op.add_column("persons", sa.Column("postal_code", sa.String(length=7), nullable=True))
    op.add_column("persons", sa.Column("address", sa.String(length=200), nullable=True))
    op.add_column("persons", sa.Column("birth_year", sa.SmallInteger(), nullable=True))
    op.add_column(
        "persons",
        sa.Column(
            "interests",
            postgresql.ARRAY(sa.String(length=20)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "persons",
        sa.Column(
            "contact_by",
            postgresql.ARRAY(sa.String(length=10)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "persons",
        sa.Column("consent_privacy", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column("persons", sa.Column("consent_version", sa.String(length=20), nullable=True))
    op.add_column(
        "persons", sa.Column("consent_agreed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "persons", sa.Column("consent_news", sa.Boolean(), server_default="false", nullable=False)
    )
    op.add_column("persons", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "persons",
        sa.Column(
            "registered_via", sa.String(length=20), server_default="booking", nullable=False
        ),
    )
    op.add_column(
        "persons",
        sa.Column(
            "last_active_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    )
    op.add_column("persons", sa.Column("created_by_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_persons_created_by_id_staff_users"),
        "persons",
        "staff_users",
        ["created_by_id"],
        ["id"],
        ondelete="SET NULL",
    )
    # Those who booked before people existed agreed to the privacy text with their booking
    # (the booking form links it); mail first when they gave an address, else the phone.
    op.execute("""
        UPDATE persons SET consent_privacy = true, consent_version = '2026-11',
            consent_agreed_at = created_at,
            contact_by = CASE WHEN email IS NULL THEN '{phone}'::varchar[]
                              ELSE '{mail,phone}'::varchar[] END,
            last_active_at = updated_at
    """)
    op.create_unique_constraint("uq_persons_phone_kana_key", "persons", ["phone", "kana_key"])
    op.create_index("ix_persons_kana_key", "persons", ["kana_key"], unique=False)
    op.create_index("ix_persons_phone_alt", "persons", ["phone_alt"], unique=False)
    op.create_index("ix_persons_email", "persons", [sa.text("lower(email)")], unique=False)
    op.create_check_constraint(
        op.f("ck_persons_registered_via_valid"),
        "persons",
        "registered_via IN ('desk', 'phone', 'web', 'booking')",
    )
    op.create_check_constraint(
        op.f("ck_persons_contact_by_valid"),
        "persons",
        "contact_by <@ CAST('{mail,phone,post}' AS varchar[])",
    )
    op.create_check_constraint(
        op.f("ck_persons_postal_code_shape"), "persons", "postal_code ~ '^[0-9]{7}$'"
    )
    op.create_check_constraint(
        op.f("ck_persons_birth_year_range"), "persons", "birth_year BETWEEN 1900 AND 2100"
    )
    op.create_check_constraint(
        op.f("ck_persons_consent_recorded"),
        "persons",
        "NOT consent_privacy OR (consent_version IS NOT NULL AND consent_agreed_at IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_persons_withdrawn_no_contact"),
        "persons",
        "withdrawn_at IS NULL OR (phone IS NULL AND phone_alt IS NULL AND email IS NULL "
        "AND postal_code IS NULL AND address IS NULL AND NOT consent_news)",
    )
    op.create_table(
        "person_merges",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("kept_id", sa.BigInteger(), nullable=True),
        sa.Column("duplicate_id", sa.BigInteger(), nullable=False),
        sa.Column("moved", postgresql.JSONB(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("staff_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "merged_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["kept_id"],
            ["persons.id"],
            name=op.f("fk_person_merges_kept_id_persons"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_users.id"],
            name=op.f("fk_person_merges_staff_id_staff_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_merges")),
        sa.UniqueConstraint("duplicate_id", name=op.f("uq_person_merges_duplicate_id")),
    )
    op.create_index("ix_person_merges_kept_id", "person_merges", ["kept_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_person_merges_kept_id", table_name="person_merges")
    op.drop_table("person_merges")
    # Withdrawn persons have no phone left; before people, every person had one.
    op.execute("UPDATE persons SET phone = '-' || id::text WHERE phone IS NULL")
    for name in (
        "withdrawn_no_contact",
        "consent_recorded",
        "birth_year_range",
        "postal_code_shape",
        "contact_by_valid",
        "registered_via_valid",
    ):
        op.drop_constraint(op.f(f"ck_persons_{name}"), "persons", type_="check")
    op.drop_index("ix_persons_email", table_name="persons")
    op.drop_index("ix_persons_phone_alt", table_name="persons")
    op.drop_index("ix_persons_kana_key", table_name="persons")
    op.drop_constraint("uq_persons_phone_kana_key", "persons", type_="unique")
    op.drop_constraint(op.f("fk_persons_created_by_id_staff_users"), "persons", type_="foreignkey")
    for column in (
        "created_by_id",
        "last_active_at",
        "registered_via",
        "withdrawn_at",
        "consent_news",
        "consent_agreed_at",
        "consent_version",
        "consent_privacy",
        "contact_by",
        "interests",
        "birth_year",
        "address",
        "postal_code",
        "phone_alt",
        "kana_key",
    ):
        op.drop_column("persons", column)
    op.alter_column("persons", "phone", existing_type=sa.String(length=20), nullable=False)
    op.create_unique_constraint("uq_persons_phone_kana", "persons", ["phone", "name_kana"])
