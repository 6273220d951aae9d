"""notifications: a lease while a mail is being sent, and its stored Message-ID

A worker marks a notice "sending" with a lease before it talks to the SMTP server and "sent"
right after the server accepts it; a notice whose lease ran out (the worker was killed) is sent
again with the same stored Message-ID.

Revision ID: resilience_01
Revises: indicators_03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "resilience_01"
down_revision: str | None = "indicators_03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "status IN ('pending', 'sent', 'skipped', 'failed')"
NEW_STATUSES = "status IN ('pending', 'sending', 'sent', 'skipped', 'failed')"


def upgrade() -> None:
    op.add_column("notifications", sa.Column("lease_until", sa.DateTime(timezone=True)))
    op.add_column("notifications", sa.Column("message_id", sa.String(length=250)))
    op.add_column(
        "notifications",
        sa.Column("claims", sa.Integer(), server_default="0", nullable=False),
    )
    op.drop_constraint(op.f("ck_notifications_status_valid"), "notifications", type_="check")
    op.create_check_constraint(op.f("ck_notifications_status_valid"), "notifications", NEW_STATUSES)
    op.create_check_constraint(
        op.f("ck_notifications_sending_has_lease"),
        "notifications",
        "status <> 'sending' OR lease_until IS NOT NULL",
    )
    op.create_index(
        op.f("ix_notifications_sending"),
        "notifications",
        ["lease_until"],
        postgresql_where=sa.text("status = 'sending'"),
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_notifications_sending"), table_name="notifications")
    op.drop_constraint(op.f("ck_notifications_sending_has_lease"), "notifications", type_="check")
    # A mail in flight when the schema goes back is sent again (at least once).
    op.execute("UPDATE notifications SET status = 'pending' WHERE status = 'sending'")
    op.drop_constraint(op.f("ck_notifications_status_valid"), "notifications", type_="check")
    op.create_check_constraint(op.f("ck_notifications_status_valid"), "notifications", OLD_STATUSES)
    op.drop_column("notifications", "claims")
    op.drop_column("notifications", "message_id")
    op.drop_column("notifications", "lease_until")
