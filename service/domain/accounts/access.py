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
    if actor.role == "company":
        # Company staff: only the matching days their company takes part in.
        if actor.organization_id is None or not await AccountRepository(db).event_has_company(
            event_id, actor.organization_id
        ):
            raise NotFound("イベントが見つかりません。", code="event_not_found")
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


async def require_organization(db: AsyncSession, actor: Actor, organization_id: int) -> None:
    """Company staff act for their own company only; other staff are judged by the event."""
    if actor.role == "company" and actor.organization_id != organization_id:
        raise NotFound("参加企業が見つかりません。", code="matching_company_not_found")


async def require_meeting(db: AsyncSession, actor: Actor, meeting_id: int) -> None:
    if actor.sees_everything:
        return
    owner = await AccountRepository(db).meeting_owner(meeting_id)
    not_found = NotFound("面談が見つかりません。", code="meeting_not_found")
    if owner is None:
        raise not_found
    if actor.role == "company" and actor.organization_id != owner[1]:
        raise not_found
    try:
        await require_event(db, actor, owner[0])
    except NotFound:
        raise not_found from None


# Path parameters naming an object whose event (or company) decides who may touch it.
SCOPED_PARAMS = {
    "event_id": require_event,
    "session_id": require_session,
    "booking_id": require_booking,
    "organization_id": require_organization,
    "meeting_id": require_meeting,
}


async def require_path_scope(db: AsyncSession, actor: Actor, params: dict[str, object]) -> None:
    for name, check in SCOPED_PARAMS.items():
        value = params.get(name)
        if isinstance(value, int):
            await check(db, actor, value)
