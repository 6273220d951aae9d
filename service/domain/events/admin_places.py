"""Venues and organizations (co-hosts, employers) added from the console, audited."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.constraints import named_violations
from service.domain.errors import Conflict
from service.domain.events.admin_repository import EventAdminRepository
from service.domain.events.admin_schemas import (
    OrganizationInput,
    VenueInput,
)
from service.domain.events.models import Organization, Venue


async def add_venue(db: AsyncSession, actor: Actor, data: VenueInput) -> int:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    if await repo.venue_named(data.name) is not None:
        message = "同じ名前の会場がすでにあります。"
        raise Conflict(message, code="venue_exists", fields={"name": message})
    with named_violations():  # the same name sent twice at once
        venue = await repo.add_venue(
            Venue(
                name=data.name,
                address=data.address,
                ward=data.ward,
                latitude=data.latitude,
                longitude=data.longitude,
            )
        )
    await record(
        db,
        actor,
        "venue.create",
        "venue",
        venue.id,
        after={
            "name": data.name,
            "address": data.address,
            "ward": data.ward,
            "latitude": data.latitude,
            "longitude": data.longitude,
        },
    )
    return venue.id


async def add_organization(db: AsyncSession, actor: Actor, data: OrganizationInput) -> int:
    require_role(actor, "organizer")
    repo = EventAdminRepository(db)
    if await repo.organization_named(data.name) is not None:
        message = "同じ名前の団体がすでにあります。"
        raise Conflict(message, code="organization_exists", fields={"name": message})
    with named_violations():
        org = await repo.add_organization(Organization(name=data.name, kind=data.kind))
    await record(
        db,
        actor,
        "organization.create",
        "organization",
        org.id,
        after={"name": data.name, "kind": data.kind},
    )
    return org.id
