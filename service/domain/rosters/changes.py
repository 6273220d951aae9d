"""Staff changing a booking for someone (by phone or at the desk): the person's details,
companions and 配慮事項 (PATCH semantics: what is given replaces, the rest stays), or a move to
another session of the same event. The seat rules live in bookings/changes.py; here: who may,
what the change is merged from, and the audit log (which fields changed, not their values:
the log keeps a booking's state, not the person's details).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_booking, require_session
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.bookings import changes as booking_changes
from service.domain.bookings import session_seats
from service.domain.bookings.changes import Changed
from service.domain.bookings.schemas import validate_booking_input
from service.domain.errors import InvalidInput, NotFound
from service.domain.rosters.repository import RosterRepository
from service.domain.rosters.schemas import RosterEntry, SessionHeader

# What staff may change on a booking (as in the booking body).
EDITABLE = (
    "name",
    "name_kana",
    "phone",
    "email",
    "needs",
    "age_band",
    "ward",
    "heard_from",
    "companions",
)
MAX_ID = 2**63 - 1


def _not_found() -> NotFound:
    return NotFound("予約が見つかりません。", code="booking_not_found")


def current_values(entry: RosterEntry) -> dict[str, object]:
    """The booking as a booking body (the edit form's starting values)."""
    return {
        "name": entry.name,
        "name_kana": entry.name_kana,
        "phone": entry.phone,
        "email": entry.email,
        "needs": entry.needs,
        "age_band": entry.age_band,
        "ward": entry.ward,
        "heard_from": entry.heard_from,
        "companions": [{"name": c.name, "name_kana": c.name_kana} for c in entry.live_companions],
    }


async def _entry(db: AsyncSession, booking_id: int) -> RosterEntry:
    entry = await RosterRepository(db).entry(booking_id)
    if entry is None:
        raise _not_found()
    return entry


async def _audit(
    db: AsyncSession, actor: Actor, action: str, before: RosterEntry, done: Changed, **extra: object
) -> RosterEntry:
    after = await _entry(db, done.booking.id)
    state = ("status", "waitlist_position", "party_size")
    await record(
        db,
        actor,
        action,
        "booking",
        after.id,
        before={k: getattr(before, k) for k in state},
        after={
            **{k: getattr(after, k) for k in state},
            "changed": [booking_changes.CHANGE_LABELS[c] for c in done.changed],
            "promoted": list(done.promoted),
            **extra,
        },
    )
    return after


async def change_booking(
    db: AsyncSession, actor: Actor, booking_id: int, patch: Mapping[str, object]
) -> RosterEntry:
    """Sets the given fields (`companions` replaces the list; email or needs None clears)."""
    await require_booking(db, actor, booking_id)
    unknown = sorted(set(patch) - set(EDITABLE))
    if unknown:
        raise InvalidInput(fields={k: "変更できない項目です。" for k in unknown})
    # The merge base is read under the booking's locks: a PATCH read before them would write
    # back the values another clerk changed meanwhile.
    await booking_changes.lock_for_change(db, booking_id)
    before = await _entry(db, booking_id)
    valid = validate_booking_input({**current_values(before), **patch}, email_required=False)
    done = await booking_changes.change_booking(db, booking_id, valid, staff_id=actor.id)
    if not done.changed:
        return before
    return await _audit(db, actor, "booking.change", before, done)


async def move_booking(
    db: AsyncSession, actor: Actor, booking_id: int, session_id: object
) -> RosterEntry:
    """To another session of the same event: a seat there or its waiting list."""
    await require_booking(db, actor, booking_id)
    if (
        isinstance(session_id, bool)
        or not isinstance(session_id, int)
        or not (1 <= session_id <= MAX_ID)
    ):
        raise InvalidInput(fields={"session_id": "移動先の回を選んでください。"})
    await require_session(db, actor, session_id)
    before = await _entry(db, booking_id)
    from_session = await session_seats.session_of(db, booking_id)
    done = await booking_changes.move_booking(db, booking_id, session_id, staff_id=actor.id)
    return await _audit(
        db, actor, "booking.move", before, done, from_session=from_session, to_session=session_id
    )


async def move_targets(db: AsyncSession, actor: Actor, booking_id: int) -> list[SessionHeader]:
    """The sessions a booking could move to (the move page's choices), with their seats."""
    await require_booking(db, actor, booking_id)
    session_id = await session_seats.session_of(db, booking_id)
    if session_id is None:
        raise _not_found()
    repo = RosterRepository(db)
    headers = [await repo.header(sid) for sid in await repo.move_targets(session_id)]
    return [h for h in headers if h is not None]
