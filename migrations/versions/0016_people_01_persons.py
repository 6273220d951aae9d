"""People (登録者): the person record grows contact details, a postal address, interests, the
contact preference and consent; the kana is compared without spaces (kana_key); merges are
audited; the follow-up survey's campaigns, targets and answers, and desk records that name
their person. Existing persons keep their ids, so every booking keeps its link; persons that only
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
    _follow_ups_up()


def downgrade() -> None:
    _follow_ups_down()
    op.drop_index("ix_person_merges_kept_id", table_name="person_merges")
    op.drop_table("person_merges")
    for name in (
        "withdrawn_no_contact",
        "consent_recorded",
        "birth_year_range",
        "postal_code_shape",
        "contact_by_valid",
        "registered_via_valid",
    ):
        op.drop_constraint(op.f(f"ck_persons_{name}"), "persons", type_="check")
    # Withdrawn persons have no phone left; before people, every person had one (after the
    # checks are gone: withdrawn_no_contact refuses a phone on a withdrawn person).
    op.execute("UPDATE persons SET phone = '-' || id::text WHERE phone IS NULL")
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


# The follow-up survey: campaigns, whom they reach by which channel, the answers; and the
# person a desk record (a placement) was of.
def _follow_ups_up() -> None:
    op.create_table('follow_up_campaigns',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('attended_from', sa.Date(), nullable=False),
    sa.Column('attended_to', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='draft', nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'sending', 'sent', 'closed')", name=op.f('ck_follow_up_campaigns_status_valid')),
    sa.CheckConstraint('attended_from <= attended_to', name=op.f('ck_follow_up_campaigns_period_order')),
    sa.CheckConstraint('length(btrim(title)) > 0', name=op.f('ck_follow_up_campaigns_title_not_blank')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_users.id'], name=op.f('fk_follow_up_campaigns_created_by_id_staff_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_campaigns'))
    )
    op.create_table('follow_up_targets',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), server_default='pending', nullable=False),
    sa.Column('leased_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('short_code', sa.String(length=16), server_default=sa.text('substr(md5(gen_random_uuid()::text), 1, 10)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'leased') = (leased_until IS NOT NULL)", name=op.f('ck_follow_up_targets_lease_iff')),
    sa.CheckConstraint("channel IN ('mail', 'post', 'phone')", name=op.f('ck_follow_up_targets_channel_valid')),
    sa.CheckConstraint("status IN ('pending', 'leased', 'sent', 'failed')", name=op.f('ck_follow_up_targets_status_valid')),
    sa.ForeignKeyConstraint(['campaign_id'], ['follow_up_campaigns.id'], name=op.f('fk_follow_up_targets_campaign_id_follow_up_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_follow_up_targets_person_id_persons'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_targets')),
    sa.UniqueConstraint('campaign_id', 'person_id', name='uq_follow_up_targets_campaign_person'),
    sa.UniqueConstraint('short_code', name=op.f('uq_follow_up_targets_short_code'))
    )
    op.create_index('ix_follow_up_targets_due', 'follow_up_targets', ['campaign_id', 'id'], unique=False, postgresql_where=sa.text("channel = 'mail' AND status IN ('pending', 'leased')"))
    op.create_index('ix_follow_up_targets_person_id', 'follow_up_targets', ['person_id'], unique=False)
    op.create_table('follow_up_answers',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('campaign_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('employer', sa.String(length=200), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('employment_type', sa.String(length=20), nullable=True),
    sa.Column('sector', sa.String(length=20), nullable=True),
    sa.Column('comment', sa.String(length=500), server_default='', nullable=False),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.Column('entered_by_id', sa.BigInteger(), nullable=True),
    sa.Column('placement_record_id', sa.BigInteger(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("employment_type IN ('regular', 'part_time', 'dispatch', 'silver', 'other')", name=op.f('ck_follow_up_answers_employment_type_valid')),
    sa.CheckConstraint("sector IN ('care', 'security', 'building', 'cleaning', 'community', 'general')", name=op.f('ck_follow_up_answers_sector_valid')),
    sa.CheckConstraint("status = 'employed' OR (employer IS NULL AND started_on IS NULL AND employment_type IS NULL AND sector IS NULL)", name=op.f('ck_follow_up_answers_work_iff_employed')),
    sa.CheckConstraint("status IN ('employed', 'seeking', 'not_working', 'no_answer')", name=op.f('ck_follow_up_answers_status_valid')),
    sa.CheckConstraint("via IN ('web', 'paper', 'phone')", name=op.f('ck_follow_up_answers_via_valid')),
    sa.ForeignKeyConstraint(['campaign_id'], ['follow_up_campaigns.id'], name=op.f('fk_follow_up_answers_campaign_id_follow_up_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['staff_users.id'], name=op.f('fk_follow_up_answers_entered_by_id_staff_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_follow_up_answers_person_id_persons'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['placement_record_id'], ['desk_records.id'], name=op.f('fk_follow_up_answers_placement_record_id_desk_records'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_answers')),
    sa.UniqueConstraint('campaign_id', 'person_id', name='uq_follow_up_answers_campaign_person')
    )
    op.create_index('ix_follow_up_answers_person_id', 'follow_up_answers', ['person_id'], unique=False)
    op.add_column('desk_records', sa.Column('person_id', sa.BigInteger(), nullable=True))
    op.create_index('ix_desk_records_person_id', 'desk_records', ['person_id'], unique=False)
    op.create_foreign_key(op.f('fk_desk_records_person_id_persons'), 'desk_records', 'persons', ['person_id'], ['id'], ondelete='SET NULL')


def _follow_ups_down() -> None:
    op.drop_constraint(op.f('fk_desk_records_person_id_persons'), 'desk_records', type_='foreignkey')
    op.drop_index('ix_desk_records_person_id', table_name='desk_records')
    op.drop_column('desk_records', 'person_id')
    op.drop_index('ix_follow_up_answers_person_id', table_name='follow_up_answers')
    op.drop_table('follow_up_answers')
    op.drop_index('ix_follow_up_targets_person_id', table_name='follow_up_targets')
    op.drop_index('ix_follow_up_targets_due', table_name='follow_up_targets', postgresql_where=sa.text("channel = 'mail' AND status IN ('pending', 'leased')"))
    op.drop_table('follow_up_targets')
    op.drop_table('follow_up_campaigns')
