"""The queries of placements learnt about a known person (desk_records of kind placement with
their person_id)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators.models import DeskRecord


class PlacementRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def existing(self, person_id: int, name_key: str, first: date, last: date) -> int | None:
        """A placement of the person already recorded in the fiscal year: linked to them, or
        typed by the desk with their name (spaces and width ignored)."""
        found = await self.db.scalar(
            text("""
                SELECT id FROM desk_records
                WHERE kind = 'placement' AND occurred_on BETWEEN :first AND :last
                  AND (person_id = :person_id
                       OR (person_id IS NULL AND person_name IS NOT NULL
                           AND lower(regexp_replace(normalize(person_name, NFKC), '\\s', '', 'g'))
                               = :name_key))
                ORDER BY id LIMIT 1
            """),
            {"person_id": person_id, "name_key": name_key, "first": first, "last": last},
        )
        return int(found) if found is not None else None

    async def add(self, row: DeskRecord) -> int:
        self.db.add(row)
        await self.db.flush()
        return row.id

    async def flush(self) -> None:
        await self.db.flush()

    async def get(self, record_id: int) -> DeskRecord | None:
        return await self.db.get(DeskRecord, record_id)

    async def delete(self, row: DeskRecord) -> None:
        await self.db.delete(row)
        await self.db.flush()
