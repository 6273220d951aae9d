"""What the console's event and session changes share: loading a row under its lock (the
order the booking core uses) and the values the audit log records."""

from __future__ import annotations

from typing import Any

from service.domain.bookings.errors import session_not_found
from service.domain.errors import InvalidInput, NotFound
from service.domain.events.admin_repository import EventAdminRepository
from service.domain.events.models import Event, EventSession

LIST_LIMIT = 500


def _event_not_found() -> NotFound:
    return NotFound("イベントが見つかりません。", code="event_not_found")


def _session_values(s: EventSession) -> dict[str, Any]:
    return {
        "event_id": s.event_id,
        "venue_id": s.venue_id,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "capacity": s.capacity,
        "waitlist_limit": s.waitlist_limit,
        "booking_opens_at": s.booking_opens_at,
        "booking_closes_at": s.booking_closes_at,
        "status": s.status,
        "cancel_reason": s.cancel_reason,
        "is_online": s.is_online,
        "join_url": s.join_url,
    }


async def _locked_event(repo: EventAdminRepository, event_id: int) -> Event:
    event = await repo.event_for_update(event_id)
    if event is None:
        raise _event_not_found()
    return event


async def _locked_session(repo: EventAdminRepository, session_id: int) -> EventSession:
    session = await repo.session_for_update(session_id)
    if session is None:
        raise session_not_found()
    return session


async def _check_venue(repo: EventAdminRepository, venue_id: int) -> None:
    if await repo.venue(venue_id) is None:
        raise InvalidInput(fields={"venue_id": "会場を選んでください。"})
