"""Small helpers shared by the public pages: months, form values, the per-client rate limit."""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from litestar import Request
from litestar.response import Template
from redis.asyncio import Redis

from service.edge import rate_limit
from service.platform.settings import Settings

# Pages with a person's details: never kept by the browser or a proxy.
NO_STORE = "no-store"
RATE_WINDOW_SECONDS = 60
MAX_VALUE_CHARS = 2000
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_range(month: str) -> tuple[date, date] | None:
    """'2026-09' -> (1 Sep, 30 Sep), both inclusive; None for anything else."""
    match = _MONTH.match(month)
    if not match:
        return None
    year, mon = int(match.group(1)), int(match.group(2))
    if not 1 <= mon <= 12 or not 2000 <= year <= 2100:
        return None
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def retention_period(months: int) -> str:
    """RETENTION_MONTHS as the privacy page says it: 24 -> 2年（24か月）, 18 -> 18か月."""
    if months % 12 == 0:
        return f"{months // 12}年（{months}か月）"
    return f"{months}か月"


async def limit_client(
    request: Request[Any, Any, Any], redis: Redis, settings: Settings, action: str
) -> None:
    """Counts one attempt at action (booking, lookup, cancel) for this client; raises
    RateLimited (a 429 page that explains) past RATE_LIMIT_PER_MINUTE."""
    await rate_limit.hit_per_client(
        redis, request, f"public:{action}", settings.rate_limit_per_minute, RATE_WINDOW_SECONDS
    )


async def form_values(request: Request[Any, Any, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The named fields as text, each cut to a sane length (a bigger body is refused earlier)."""
    form = await request.form()
    values: dict[str, str] = {}
    for name in names:
        raw = form.get(name)
        values[name] = raw[:MAX_VALUE_CHARS] if isinstance(raw, str) else ""
    return values


def private_page(template: str, status: int = 200, **context: Any) -> Template:
    """A page showing what a person typed or their booking: kept out of caches and the
    back-forward cache."""
    return Template(
        template_name=template,
        context=context,
        status_code=status,
        headers={"Cache-Control": NO_STORE},
    )
