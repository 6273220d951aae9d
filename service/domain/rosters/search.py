"""Finding a person's bookings across every event: by booking code (with or without hyphens,
full-width, or its last four digits), phone number (any format) or name and reading. For a
caller who lost their code. Scoped like the rosters: co-host staff find only bookings of the
events their organization co-hosts. Each search is written to the audit log."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.rosters.schemas import SearchResult
from service.domain.rosters.search_repository import SearchRepository
from service.domain.rosters.service import parse_search

# A page's worth: a search that finds more should be narrowed, not scrolled.
SHOWN = 50


async def find_bookings(db: AsyncSession, actor: Actor, query: str | None) -> SearchResult:
    search = parse_search(query)
    if search is None:
        return SearchResult("", [], more=False)
    found = await SearchRepository(db).find(
        search,
        organization_id=None if actor.sees_everything else actor.organization_id or -1,
        limit=SHOWN + 1,
    )
    await record(
        db,
        actor,
        "booking.search",
        "booking",
        None,
        after={"query": search.text, "rows": min(len(found), SHOWN)},
    )
    return SearchResult(search.text, found[:SHOWN], more=len(found) > SHOWN)
