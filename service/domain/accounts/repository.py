"""Every query on staff users, tokens, the audit log, and who may see which event.

Accounts sit below events in the domain's layers (events check access and write the audit log
through here), so the few event tables the access scope reads are named as lightweight Core
tables, not imported as the events area's models.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import column, delete, exists, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.models import AuditEntry, StaffToken, StaffUser
from service.domain.bookings.models import Booking

_organizations = table("organizations", column("id"), column("name"), column("kind"))
_event_cohosts = table("event_cohosts", column("event_id"), column("organization_id"))
_sessions = table("sessions", column("id"), column("event_id"))
# A company login's scope: the matching days its company takes part in (service/domain/matching).
_matching_companies = table("matching_companies", column("event_id"), column("organization_id"))
_matching_meetings = table(
    "matching_meetings", column("id"), column("event_id"), column("organization_id")
)


@dataclass(frozen=True, slots=True)
class OrganizationRef:
    id: int
    name: str
    kind: str


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
            select(StaffUser, _organizations.c.name)
            .outerjoin(_organizations, _organizations.c.id == StaffUser.organization_id)
            .order_by(StaffUser.is_active.desc(), func.lower(StaffUser.username))
        )
        return [(u, name) for u, name in (await self.db.execute(stmt)).all()]

    async def organization_by_name(self, name: str) -> OrganizationRef | None:
        o = _organizations.c
        row = (await self.db.execute(select(o.id, o.name, o.kind).where(o.name == name))).first()
        return OrganizationRef(row.id, row.name, row.kind) if row else None

    async def organizations_of_kind(self, kind: str) -> list[OrganizationRef]:
        o = _organizations.c
        stmt = select(o.id, o.name, o.kind).where(o.kind == kind).order_by(o.name)
        return [OrganizationRef(r.id, r.name, r.kind) for r in await self.db.execute(stmt)]

    async def save(self) -> None:
        """Writes the changes made to loaded users now, in this transaction."""
        await self.db.flush()

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

    async def purge_expired_tokens(self, now: datetime) -> int:
        result = await self.db.execute(
            delete(StaffToken).where(StaffToken.expires_at < now).returning(StaffToken.id)
        )
        return len(result.all())

    # --- access scope ------------------------------------------------------------------
    async def event_cohosted_by(self, event_id: int, organization_id: int) -> bool:
        stmt = select(
            exists().where(
                _event_cohosts.c.event_id == event_id,
                _event_cohosts.c.organization_id == organization_id,
            )
        )
        return bool(await self.db.scalar(stmt))

    async def event_has_company(self, event_id: int, organization_id: int) -> bool:
        stmt = select(
            exists().where(
                _matching_companies.c.event_id == event_id,
                _matching_companies.c.organization_id == organization_id,
            )
        )
        return bool(await self.db.scalar(stmt))

    async def meeting_owner(self, meeting_id: int) -> tuple[int, int] | None:
        """(event id, company id) of a matching day's meeting."""
        m = _matching_meetings.c
        row = (
            await self.db.execute(select(m.event_id, m.organization_id).where(m.id == meeting_id))
        ).first()
        return (int(row.event_id), int(row.organization_id)) if row else None

    async def event_id_of_session(self, session_id: int) -> int | None:
        value = await self.db.scalar(
            select(_sessions.c.event_id).where(_sessions.c.id == session_id)
        )
        return int(value) if value is not None else None

    async def event_id_of_booking(self, booking_id: int) -> int | None:
        stmt = (
            select(_sessions.c.event_id)
            .join(Booking, Booking.session_id == _sessions.c.id)
            .where(Booking.id == booking_id)
        )
        value = await self.db.scalar(stmt)
        return int(value) if value is not None else None

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
