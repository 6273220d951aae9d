"""The audit log: who changed or looked at what, when, with the values before and after."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.models import AuditEntry
from service.domain.accounts.repository import AccountRepository


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def changed(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose value differs, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


async def record(
    db: AsyncSession,
    actor: Actor | None,
    action: str,
    entity_type: str,
    entity_id: int | None,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    await AccountRepository(db).add_audit(
        AuditEntry(
            actor_id=actor.id if actor else None,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=_plain(before) if before is not None else None,
            after=_plain(after) if after is not None else None,
        )
    )


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str | None
    action: str
    entity_type: str
    entity_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class AuditPage:
    items: list[AuditView]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def list_entries(
    db: AsyncSession,
    actor: Actor,
    *,
    entity_type: str | None = None,
    entity_id: int | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> AuditPage:
    require_role(actor, "admin")
    page = max(1, min(page, 100_000))
    per_page = max(1, min(per_page, 200))
    rows, total = await AccountRepository(db).list_audit(
        entity_type=entity_type or None,
        entity_id=entity_id,
        actor_id=actor_id,
        action_prefix=action or None,
        limit=per_page,
        offset=(page - 1) * per_page,
    )
    items = [
        AuditView(
            id=e.id,
            at=e.at,
            actor=name,
            action=e.action,
            entity_type=e.entity_type,
            entity_id=e.entity_id,
            before=e.before,
            after=e.after,
        )
        for e, name in rows
    ]
    return AuditPage(items=items, total=total, page=page, per_page=per_page)
