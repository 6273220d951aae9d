"""公式LINE新規登録者数 from the follows the webhook recorded: each LINE user's first follow of a
fiscal year counts once, in its month (a user who follows, unfollows and follows again in the
same year is one new follower). The indicators area asks for this when it compiles a year."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.line.repository import LineRepository


@dataclass(frozen=True, slots=True)
class FollowerCounts:
    """New followers per 'YYYY-MM' of one fiscal year, and the first month the service counted
    at all: months before it keep the desk's hand figures."""

    by_month: dict[str, int]
    counted_from: str


async def new_followers(
    db: AsyncSession, fiscal_year_starts_at: datetime, fiscal_year_ends_before: datetime
) -> FollowerCounts | None:
    """None when the webhook has never recorded a follow (LINE not connected yet)."""
    repo = LineRepository(db)
    first = await repo.first_follow_month()
    if first is None:
        return None
    by_month = await repo.new_follows_by_month(fiscal_year_starts_at, fiscal_year_ends_before)
    return FollowerCounts(by_month, first)
