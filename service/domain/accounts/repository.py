"""Every query on staff users, tokens, the audit log, and who may see which event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.models import AuditEntry, StaffToken, StaffUser
from service.domain.bookings.models import Booking
from service.domain.events.models import EventSession, Organization, event_cohosts


class AccountRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    # --- users -------------------------------------------------------------------------
    async def user_by_username(self, username: str) -> StaffUser | None:
        stmt = select(StaffUser).where(func.lower(StaffUser.username) == username.lower())
        return (await self.db.scalars(stmt)).one_or_none()

    async def user_by_id(self, user_id: int) -> StaffUser | None:
        return await self.db.get(StaffUser, user_id)

    async def list_users(self) -> list[tuple[StaffUser, str | None]]:
        stmt = (
            select(StaffUser, Organization.name)
            .outerjoin(Organization, Organization.id == StaffUser.organization_id)
            .order_by(StaffUser.is_active.desc(), func.lower(StaffUser.username))
        )
        return [(u, name) for u, name in (await self.db.execute(stmt)).all()]

    async def organization_by_name(self, name: str) -> Organization | None:
        return (
            await self.db.scalars(select(Organization).where(Organization.name == name))
        ).one_or_none()

    async def organization_by_id(self, organization_id: int) -> Organization | None:
        return await self.db.get(Organization, organization_id)

    async def organizations_of_kind(self, kind: str) -> list[Organization]:
        stmt = select(Organization).where(Organization.kind == kind).order_by(Organization.name)
        return list((await self.db.scalars(stmt)).all())

    async def add_user(self, user: StaffUser) -> StaffUser:
        self.db.add(user)
        await self.db.flush()
        return user

    async def set_password_hash(self, user_id: int, password_hash: str) -> None:
        await self.db.execute(
            update(StaffUser).where(StaffUser.id == user_id).values(password_hash=password_hash)
        )

    async def mark_login(self, user_id: int, at: datetime) -> None:
        await self.db.execute(
            update(StaffUser).where(StaffUser.id == user_id).values(last_login_at=at)
        )

    # --- tokens ------------------------------------------------------------------------
    async def add_token(
        self, *, user_id: int, token_hash: str, kind: str, expires_at: datetime
    ) -> None:
        self.db.add(
            StaffToken(user_id=user_id, token_hash=token_hash, kind=kind, expires_at=expires_at)
        )
        await self.db.flush()

    async def user_by_token(self, token_hash: str, kind: str, now: datetime) -> StaffUser | None:
        """The active user holding a live (unrevoked, unexpired) token of this kind."""
        stmt = (
            select(StaffUser)
            .join(StaffToken, StaffToken.user_id == StaffUser.id)
            .where(
                StaffToken.token_hash == token_hash,
                StaffToken.kind == kind,
                StaffToken.revoked_at.is_(None),
                StaffToken.expires_at > now,
                StaffUser.is_active.is_(True),
            )
        )
        return (await self.db.scalars(stmt)).one_or_none()

    async def revoke_token(self, token_hash: str, now: datetime) -> None:
        await self.db.execute(
            update(StaffToken)
            .where(StaffToken.token_hash == token_hash, StaffToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user_tokens(self, user_id: int, now: datetime) -> None:
        await self.db.execute(
            update(StaffToken)
            .where(StaffToken.user_id == user_id, StaffToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # --- access scope ------------------------------------------------------------------
    async def event_cohosted_by(self, event_id: int, organization_id: int) -> bool:
        stmt = select(
            exists().where(
                event_cohosts.c.event_id == event_id,
                event_cohosts.c.organization_id == organization_id,
            )
        )
        return bool(await self.db.scalar(stmt))

    async def event_id_of_session(self, session_id: int) -> int | None:
        return await self.db.scalar(
            select(EventSession.event_id).where(EventSession.id == session_id)
        )

    async def event_id_of_booking(self, booking_id: int) -> int | None:
        stmt = (
            select(EventSession.event_id)
            .join(Booking, Booking.session_id == EventSession.id)
            .where(Booking.id == booking_id)
        )
        return await self.db.scalar(stmt)

    # --- audit log ---------------------------------------------------------------------
    async def add_audit(self, entry: AuditEntry) -> None:
        self.db.add(entry)
        await self.db.flush()

    async def list_audit(
        self,
        *,
        entity_type: str | None,
        entity_id: int | None,
        actor_id: int | None,
        action_prefix: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[tuple[AuditEntry, str | None]], int]:
        conditions = []
        if entity_type:
            conditions.append(AuditEntry.entity_type == entity_type)
        if entity_id is not None:
            conditions.append(AuditEntry.entity_id == entity_id)
        if actor_id is not None:
            conditions.append(AuditEntry.actor_id == actor_id)
        if action_prefix:
            conditions.append(AuditEntry.action.startswith(action_prefix, autoescape=True))
        total = int(
            await self.db.scalar(select(func.count()).select_from(AuditEntry).where(*conditions))
            or 0
        )
        stmt = (
            select(AuditEntry, StaffUser.username)
            .outerjoin(StaffUser, StaffUser.id == AuditEntry.actor_id)
            .where(*conditions)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows: list[tuple[AuditEntry, str | None]] = [
            (e, name) for e, name in (await self.db.execute(stmt)).all()
        ]
        return rows, total
