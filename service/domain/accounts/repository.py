"""Every query on staff users, tokens and the audit log."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.models import StaffUser
from service.domain.events.models import Organization


class AccountRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def user_by_username(self, username: str) -> StaffUser | None:
        stmt = select(StaffUser).where(func.lower(StaffUser.username) == username.lower())
        return (await self.db.scalars(stmt)).one_or_none()

    async def organization_by_name(self, name: str) -> Organization | None:
        return (
            await self.db.scalars(select(Organization).where(Organization.name == name))
        ).one_or_none()

    async def add_user(self, user: StaffUser) -> StaffUser:
        self.db.add(user)
        await self.db.flush()
        return user
