"""Pages answer a refused action the way the API does: the one mapping (service.edge.http_errors)
gives the status, code, message and fields, and the form is shown again with them."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.errors import DomainError
from service.edge.http_errors import describe
from service.platform.transaction import abandon, keep_despite_status


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    code: str
    message: str
    fields: dict[str, str]
    error: DomainError


async def refusal_of(db: AsyncSession, exc: DomainError) -> Refusal:
    """What the mapping says of a refused action, once what the attempt wrote (and the jobs it
    queued) is undone: the answer may then read afresh, and commit what it writes itself."""
    await abandon(db)
    keep_despite_status(db)
    status, code, message, fields = describe(exc)
    return Refusal(status, code, message, fields, exc)


async def rerender(
    db: AsyncSession,
    exc: DomainError,
    page: Callable[[Refusal], Template | Awaitable[Template]],
) -> Template:
    """The page for a refused action, answered with the mapping's status code. What the
    attempt wrote (and the jobs it queued) is undone first, so the page can read afresh; what
    the page itself records (who was shown a roster) is kept."""
    refusal = await refusal_of(db, exc)
    shown = page(refusal)
    template = await shown if inspect.isawaitable(shown) else shown
    template.status_code = refusal.status
    return template
