"""Probable duplicates and merging them: every link of the duplicate (bookings, the desk's
records, follow-up targets and answers) moves to the person kept, the details the kept record
lacks are taken over, and the merge is audited (person_merges and the audit log)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.errors import Conflict
from service.domain.people.errors import merge_same_person, person_not_found, person_withdrawn
from service.domain.people.history_repository import HistoryRepository
from service.domain.people.models import Person
from service.domain.people.repository import PeopleRepository, view
from service.domain.people.schemas import MergeOutcome, PersonView
from service.domain.people.service import require_people_access

_TAKE_OVER = ("email", "postal_code", "address", "age_band", "birth_year", "ward")


async def duplicates(db: AsyncSession, actor: Actor, person_id: int) -> list[PersonView]:
    """Same phone (either), or the same kana with the same birth year or ward."""
    require_people_access(actor)
    repo = PeopleRepository(db)
    person = await repo.get(person_id)
    if person is None:
        raise person_not_found()
    return [view(p) for p in await repo.duplicates_of(person)]


def _take_over(kept: Person, dup: Person) -> None:
    for name in _TAKE_OVER:
        if getattr(kept, name) is None and getattr(dup, name) is not None:
            setattr(kept, name, getattr(dup, name))
    if kept.phone_alt is None:
        # The duplicate's first number the kept record does not have (its landline may be the
        # kept one's, its mobile not).
        known = {kept.phone}
        kept.phone_alt = next((p for p in (dup.phone, dup.phone_alt) if p and p not in known), None)
    kept.interests = list(dict.fromkeys([*(kept.interests or []), *(dup.interests or [])]))
    if not kept.contact_by:
        kept.contact_by = list(dup.contact_by or [])
    kept.consent_news = kept.consent_news or dup.consent_news
    if dup.last_active_at > kept.last_active_at:
        kept.last_active_at = dup.last_active_at


async def merge(db: AsyncSession, actor: Actor, kept_id: int, duplicate_id: int) -> MergeOutcome:
    require_people_access(actor)
    if kept_id == duplicate_id:
        raise merge_same_person()
    repo = PeopleRepository(db)
    # Both rows locked, in id order (two staff merging crosswise never deadlock).
    first, second = sorted((kept_id, duplicate_id))
    locked = {first: await repo.get(first, lock=True), second: await repo.get(second, lock=True)}
    kept, dup = locked[kept_id], locked[duplicate_id]
    if kept is None or dup is None:
        raise person_not_found()
    if kept.withdrawn_at is not None or dup.withdrawn_at is not None:
        raise person_withdrawn()
    history = HistoryRepository(db)
    if await history.shared_live_sessions(kept_id, duplicate_id):
        raise Conflict(
            "2人とも同じ日程に予約があります。どちらかの予約を取り消してから統合してください。",
            code="merge_shared_session",
        )
    moved = await history.move_links(duplicate_id, kept_id)
    _take_over(kept, dup)
    await repo.delete(dup)
    await repo.refresh(kept)
    await repo.record_merge(kept_id, duplicate_id, moved, actor.id)
    await record(
        db,
        actor,
        "person.merge",
        "person",
        kept_id,
        after={"duplicate_id": duplicate_id, "moved": moved},
    )
    return MergeOutcome(kept_id=kept_id, duplicate_id=duplicate_id, moved=moved)
