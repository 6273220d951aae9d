"""Who may see and change what: organizers and admins everything, co-host staff only the events
their organization co-hosts, and only admins manage users.

Out-of-scope objects answer "not found", so co-host staff cannot probe for other events."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import ROLE_RANK, Actor
from service.domain.accounts.repository import AccountRepository
from service.domain.bookings.errors import session_not_found
from service.domain.errors import NotFound, PermissionDenied


def require_role(actor: Actor, minimum: str) -> None:
    if minimum not in ROLE_RANK:
        raise ValueError(f"unknown role {minimum!r}")
    if not actor.has_role(minimum):
        raise PermissionDenied()


async def require_event(db: AsyncSession, actor: Actor, event_id: int) -> None:
    if actor.sees_everything:
        return
    if actor.organization_id is None or not await AccountRepository(db).event_cohosted_by(
        event_id, actor.organization_id
    ):
        raise NotFound("イベントが見つかりません。", code="event_not_found")


async def require_session(db: AsyncSession, actor: Actor, session_id: int) -> None:
    if actor.sees_everything:
        return
    event_id = await AccountRepository(db).event_id_of_session(session_id)
    if event_id is None:
        raise session_not_found()
    try:
        await require_event(db, actor, event_id)
    except NotFound:
        raise session_not_found() from None


async def require_booking(db: AsyncSession, actor: Actor, booking_id: int) -> None:
    if actor.sees_everything:
        return
    event_id = await AccountRepository(db).event_id_of_booking(booking_id)
    if event_id is None:
        raise NotFound("予約が見つかりません。", code="booking_not_found")
    try:
        await require_event(db, actor, event_id)
    except NotFound:
        raise NotFound("予約が見つかりません。", code="booking_not_found") from None


# Path parameters naming an object whose event decides who may touch it.
SCOPED_PARAMS = {
    "event_id": require_event,
    "session_id": require_session,
    "booking_id": require_booking,
}


async def require_path_scope(db: AsyncSession, actor: Actor, params: dict[str, object]) -> None:
    for name, check in SCOPED_PARAMS.items():
        value = params.get(name)
        if isinstance(value, int):
            await check(db, actor, value)
