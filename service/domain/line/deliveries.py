"""A notice's way by LINE, as the notifications area asks for it: whom to push to, the delivery
record whose retry key every try carries (LINE sends a push with a key it has seen only once),
and how it ended."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.line.models import LineDelivery
from service.domain.line.repository import LineRepository


async def push_target(db: AsyncSession, booking_id: int) -> str | None:
    """The LINE user a booking's notices go to: linked, following, preferring LINE."""
    return await LineRepository(db).push_target(booking_id)


async def delivery_for(db: AsyncSession, notification_id: int, retry_key: str) -> LineDelivery:
    """The notice's delivery, made on first use with its retry key (kept for every try)."""
    return await LineRepository(db).delivery_for(notification_id, retry_key)


async def finish_delivery(
    db: AsyncSession, delivery_id: int, *, sent: bool, attempts: int, error: str | None
) -> None:
    await LineRepository(db).finish_delivery(delivery_id, sent=sent, attempts=attempts, error=error)
