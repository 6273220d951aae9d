"""The call list (電話連絡リスト): a call task for every notice that could not go by mail.

Revision ID: companions_02
Revises: calendars_01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "companions_02"
down_revision: str | None = "calendars_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("call_reminders", sa.Boolean(), server_default="false", nullable=False),
    )
    op.create_table(
        "call_tasks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "state IN ('open', 'done', 'declined')", name=op.f("ck_call_tasks_state_valid")
        ),
        sa.CheckConstraint(
            "reason IN ('no_email', 'mail_failed')", name=op.f("ck_call_tasks_reason_valid")
        ),
        sa.CheckConstraint(
            "(state = 'open') = (closed_at IS NULL)", name=op.f("ck_call_tasks_closed_iff_not_open")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_call_tasks_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_call_tasks_notification_id_notifications"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_call_tasks_closed_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_tasks")),
        sa.UniqueConstraint("notification_id", name=op.f("uq_call_tasks_notification_id")),
    )
    op.create_index("ix_call_tasks_booking_id", "call_tasks", ["booking_id"])
    op.create_index(
        "ix_call_tasks_open_due",
        "call_tasks",
        ["due_at"],
        postgresql_where=sa.text("state = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("ix_call_tasks_open_due", table_name="call_tasks")
    op.drop_index("ix_call_tasks_booking_id", table_name="call_tasks")
    op.drop_table("call_tasks")
    op.drop_column("events", "call_reminders")
