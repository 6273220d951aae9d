"""A session's revision (the .ics SEQUENCE) also rises when its join link or joining
instructions change: the change mail of an online session carries the new link in its .ics,
and a calendar takes that file as newer only from a higher SEQUENCE. It also keeps each link
change a notice of its own (the notice's dedup key carries the revision), so a link changed back
to an earlier one is told again.

Revision ID: sessions_02
Revises: calls_02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "sessions_02"
down_revision: str | None = "calls_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BODY = """
CREATE OR REPLACE FUNCTION sessions_bump_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.starts_at IS DISTINCT FROM OLD.starts_at
       OR NEW.ends_at IS DISTINCT FROM OLD.ends_at
       OR NEW.venue_id IS DISTINCT FROM OLD.venue_id
       OR NEW.status IS DISTINCT FROM OLD.status
       OR (to_jsonb(NEW) -> 'is_online') IS DISTINCT FROM (to_jsonb(OLD) -> 'is_online')
       OR (to_jsonb(NEW) -> 'mode') IS DISTINCT FROM (to_jsonb(OLD) -> 'mode'){more} THEN
        NEW.revision := OLD.revision + 1;
        NEW.updated_at := clock_timestamp();
        UPDATE calendar_changes SET generation = generation + 1, changed_at = clock_timestamp();
    END IF;
    RETURN NEW;
END $$
"""
_JOINING = """
       OR NEW.join_url IS DISTINCT FROM OLD.join_url
       OR NEW.join_instructions IS DISTINCT FROM OLD.join_instructions"""


def upgrade() -> None:
    op.execute(_BODY.format(more=_JOINING))


def downgrade() -> None:
    op.execute(_BODY.format(more=""))
