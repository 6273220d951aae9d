"""The mail outbox (the notifications table) as the areas below service.domain.notifications
write and read it: one naming of the table and one way of writing a notice.

The model, the sending and the retries live in the notifications area, which sits above the
bookings, people, events, matching and indicators areas (.importlinter): those may not import
its models, so they name the table by the columns they use (tests/test_layers.py checks each
against the model). They all name it here, once. A notice is written in the transaction of the
change it tells about; the workers send it after the commit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, DateTime, String, Text, column, table
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.sql.dml import ReturningInsert

notifications = table(
    "notifications",
    column("id", BigInteger),
    column("booking_id", BigInteger),
    column("kind", String),
    column("dedup_key", String),
    column("payload", JSONB),
    column("status", String),
    column("last_error", Text),
    column("sent_at", DateTime(timezone=True)),
    column("created_at", DateTime(timezone=True)),
)


def once(statement: PgInsert) -> ReturningInsert[int]:
    """`statement` (an INSERT into notifications) writing one row per dedup key: a request or
    job that runs twice adds no second notice. Returns the new rows' ids (none for a key
    written before)."""
    return statement.on_conflict_do_nothing(index_elements=[notifications.c.dedup_key]).returning(
        notifications.c.id
    )


# One notice: .values(booking_id=…, kind=…, dedup_key=…, payload=…).
NOTICE_INSERT = once(insert(notifications))
