"""The queries of placements learnt about a known person (desk_records of kind placement with
their person_id)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, and_, column, exists, func, literal_column, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators.models import DeskRecord

# Follow-up answers live in an area above this one (.importlinter): only the column read here.
_answers = table("follow_up_answers", column("placement_record_id", BigInteger))


class PlacementRepository:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db

    async def existing(self, person_id: int, name_key: str, first: date, last: date) -> int | None:
        """A placement of the person already recorded in the fiscal year: linked to them, or
        typed by the desk with their name (spaces and width ignored)."""
        d = DeskRecord
        # The typed name as the key compares it. normalize(x, NFKC): the form is a keyword of
        # PostgreSQL's syntax, not a value.
        typed = func.lower(
            func.regexp_replace(
                func.normalize(d.person_name, literal_column("NFKC")), r"\s", "", "g"
            )
        )
        found = await self.db.scalar(
            select(d.id)
            .where(
                d.kind == "placement",
                d.occurred_on.between(first, last),
                or_(
                    d.person_id == person_id,
                    and_(d.person_id.is_(None), d.person_name.is_not(None), typed == name_key),
                ),
            )
            .order_by(d.id)
            .limit(1)
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

    async def answered(self, record_id: int) -> bool:
        """Whether a follow-up answer counts as this placement."""
        found = await self.db.scalar(
            select(exists().where(_answers.c.placement_record_id == record_id))
        )
        return bool(found)

    async def delete(self, row: DeskRecord) -> None:
        await self.db.delete(row)
        await self.db.flush()
