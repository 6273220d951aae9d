"""Staff API: finding bookings across every event (a caller who lost their code)."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from service.domain.rosters.schemas import SearchResult
from service.domain.rosters.search import SHOWN, find_bookings
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff


@get(
    "/search",
    tags=["staff: rosters"],
    summary="Find bookings across every event by code, phone or name",
    description=(
        "q: the booking code (with or without hyphens, full-width, or its last four digits), "
        f"a phone number in any format, or a name or reading. Newest session first, at most "
        f"{SHOWN} (more: true when there were more). Co-host staff find only their events' "
        "bookings. Audited."
    ),
)
async def search_bookings(
    db: DB, staff: Staff, q: Annotated[str | None, QueryParameter(max_length=100)] = None
) -> SearchResult:
    return await find_bookings(db, staff, q)
