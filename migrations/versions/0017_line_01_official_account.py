"""The desk's official LINE account: webhook events, follows (hashed), account links, desk
codes, pushes and news sends; a follow marks its fiscal year's indicators stale.

Revision ID: line_01
Revises: people_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "line_01"
down_revision: str | None = "people_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_FY = "(extract(year FROM (NEW.occurred_at AT TIME ZONE 'Asia/Tokyo') - interval '3 months'))::int"

# A new follow changes 公式LINE新規登録者数 of its fiscal year (as the other triggers of
# indicators_01 do for check-ins): the minute's compile picks the year up.
TRIGGERS = [
    f"""
    CREATE FUNCTION indicators_line_follow_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM indicators_touch({_FY});
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER indicators_line_follow AFTER INSERT ON line_follows
    FOR EACH ROW WHEN (NEW.kind = 'follow')
    EXECUTE FUNCTION indicators_line_follow_changed()
    """,
]


def upgrade() -> None:
    op.create_table(
        "line_follows",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("webhook_event_id", sa.String(length=64), nullable=False),
        sa.Column("user_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('follow', 'unfollow')", name=op.f("ck_line_follows_kind_valid")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_follows")),
        sa.UniqueConstraint("webhook_event_id", name=op.f("uq_line_follows_webhook_event_id")),
    )
    op.create_index("ix_line_follows_occurred_at", "line_follows", ["occurred_at"], unique=False)
    op.create_index("ix_line_follows_user_hash", "line_follows", ["user_hash"], unique=False)
    op.create_table(
        "line_webhook_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("webhook_event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("is_redelivery", sa.Boolean(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_webhook_events")),
        sa.UniqueConstraint(
            "webhook_event_id", name=op.f("uq_line_webhook_events_webhook_event_id")
        ),
    )
    op.create_index(
        "ix_line_webhook_events_received_at", "line_webhook_events", ["received_at"], unique=False
    )
    op.create_index(
        "ix_line_webhook_events_unprocessed",
        "line_webhook_events",
        ["id"],
        unique=False,
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.create_table(
        "line_link_nonces",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("news_consent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "news_sectors",
            postgresql.ARRAY(sa.String(length=20)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "news_kinds",
            postgresql.ARRAY(sa.String(length=20)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_line_link_nonces_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_line_link_nonces")),
    )
    op.create_table(
        "line_links",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("line_user_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("following", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("prefers_line", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("news_consent", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "news_sectors",
            postgresql.ARRAY(sa.String(length=20)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "news_kinds",
            postgresql.ARRAY(sa.String(length=20)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_line_links_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_links")),
        sa.UniqueConstraint("line_user_id", name=op.f("uq_line_links_line_user_id")),
        sa.UniqueConstraint("person_id", name=op.f("uq_line_links_person_id")),
    )
    op.create_table(
        "line_desk_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_line_desk_codes_created_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name=op.f("fk_line_desk_codes_person_id_persons"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_line_desk_codes")),
    )
    op.create_index("ix_line_desk_codes_person_id", "line_desk_codes", ["person_id"], unique=False)
    op.create_table(
        "line_news_sends",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retry_key", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "audience IN ('subscribers', 'broadcast')",
            name=op.f("ck_line_news_sends_audience_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('sending', 'sent', 'failed')", name=op.f("ck_line_news_sends_status_valid")
        ),
        sa.CheckConstraint(
            "recipients >= 0", name=op.f("ck_line_news_sends_recipients_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_line_news_sends_created_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_line_news_sends_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_news_sends")),
        sa.UniqueConstraint("event_id", "audience", name="uq_line_news_sends_event_audience"),
    )
    op.create_table(
        "line_deliveries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("retry_key", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('sending', 'sent', 'failed')", name=op.f("ck_line_deliveries_status_valid")
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_line_deliveries_notification_id_notifications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_deliveries")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_line_deliveries_notification_id")),
    )

    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS indicators_line_follow ON line_follows")
    op.execute("DROP FUNCTION IF EXISTS indicators_line_follow_changed()")
    op.drop_table("line_deliveries")
    op.drop_table("line_news_sends")
    op.drop_index("ix_line_desk_codes_person_id", table_name="line_desk_codes")
    op.drop_table("line_desk_codes")
    op.drop_table("line_links")
    op.drop_table("line_link_nonces")
    op.drop_index(
        "ix_line_webhook_events_unprocessed",
        table_name="line_webhook_events",
        postgresql_where=sa.text("processed_at IS NULL"),
    )
    op.drop_index("ix_line_webhook_events_received_at", table_name="line_webhook_events")
    op.drop_table("line_webhook_events")
    op.drop_index("ix_line_follows_user_hash", table_name="line_follows")
    op.drop_index("ix_line_follows_occurred_at", table_name="line_follows")
    op.drop_table("line_follows")
