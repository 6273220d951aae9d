"""The rules of the person record: registering (desk, phone, public page), finding, changing,
consent and withdrawal, linking a booking. Only organizers and admins see people: co-host staff
see a person only on their own events' rosters (service.domain.rosters)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.bookings.normalize import (
    InvalidValue,
    normalize_code,
    normalize_kana,
    normalize_phone,
)
from service.domain.errors import InvalidInput
from service.domain.people.enums import REGISTERED_VIA
from service.domain.people.errors import person_exists, person_not_found, person_withdrawn
from service.domain.people.history_repository import HistoryRepository
from service.domain.people.models import Person
from service.domain.people.repository import PeopleRepository, view
from service.domain.people.schemas import BookingLine, PersonDetail, PersonInput, PersonView
from service.domain.people.validation import FIELDS, check_fields, complete
from service.domain.privacy import PRIVACY_VERSION

SEARCH_LIMIT = 50


def kana_key(kana: str) -> str:
    """The kana as persons are matched (service.domain.people.models.KANA_KEY_SQL)."""
    return kana.replace(" ", "").replace("・", "")


def require_people_access(actor: Actor) -> None:
    require_role(actor, "organizer")


async def create(
    db: AsyncSession,
    data: PersonInput,
    *,
    via: str,
    consent_privacy: bool,
    consent_news: bool,
    actor: Actor | None = None,
) -> PersonView:
    """A new person with the consent they gave (the public page shows the text; the desk
    and the phone read it out). The same phone and kana already known is a conflict: staff
    open that person instead."""
    if via not in REGISTERED_VIA:
        raise ValueError(f"unknown registration channel {via!r}")
    if not consent_privacy:
        raise InvalidInput(
            fields={"consent_privacy": "個人情報の取り扱いに同意いただくと登録できます。"}
        )
    repo = PeopleRepository(db)
    if data.phone and await repo.by_phone_and_kana(data.phone, kana_key(data.name_kana)):
        raise person_exists()
    now = clock.now()
    person = await repo.add(
        Person(
            **asdict(data)
            | {"interests": list(data.interests), "contact_by": list(data.contact_by)},
            consent_privacy=True,
            consent_version=PRIVACY_VERSION,
            consent_agreed_at=now,
            consent_news=consent_news,
            registered_via=via,
            last_active_at=now,
            created_by_id=actor.id if actor else None,
        )
    )
    if actor is not None:
        await record(db, actor, "person.create", "person", person.id, after={"via": via})
    return view(person)


async def get(db: AsyncSession, person_id: int) -> PersonView:
    person = await PeopleRepository(db).get(person_id)
    if person is None:
        raise person_not_found()
    return view(person)


async def find_by_phone_and_kana(db: AsyncSession, phone: str, kana: str) -> PersonView | None:
    """The person with this phone (either of theirs) and kana; spaces in the kana and the way
    the phone is typed do not matter."""
    try:
        digits = normalize_phone(phone)
    except InvalidValue:
        return None
    try:
        key = kana_key(normalize_kana(kana))
    except InvalidValue:
        return None
    found = await PeopleRepository(db).by_phone_and_kana(digits, key)
    return view(found) if found else None


async def link_booking(db: AsyncSession, booking_id: int, person_id: int) -> None:
    """Points a booking at a person (staff correcting a link; new bookings are linked as they
    are made, in the booking's own statement)."""
    repo = PeopleRepository(db)
    if await repo.get(person_id) is None:
        raise person_not_found()
    if not await repo.link_booking(booking_id, person_id):
        raise InvalidInput(fields={"booking_id": "予約が見つかりません。"})
    await repo.touch(person_id, clock.now())


async def search(db: AsyncSession, actor: Actor, q: str) -> list[PersonView]:
    require_people_access(actor)
    words = " ".join(q.split())
    repo = PeopleRepository(db)
    if not words:
        return [view(p) for p in await repo.recent(SEARCH_LIMIT)]
    try:
        phone: str | None = normalize_phone(words)
    except InvalidValue:
        phone = None
    code = normalize_code(words)
    return [view(p) for p in await repo.search(words, phone, code, SEARCH_LIMIT)]


async def update(
    db: AsyncSession,
    person_id: int,
    changes: Mapping[str, object],
    *,
    actor: Actor | None,
    consent_news: bool | None = None,
) -> PersonView:
    """Changes the fields given (others stay); the address is filled again from a new postal
    code when none is given with it."""
    repo = PeopleRepository(db)
    person = await repo.get(person_id, lock=True)
    if person is None:
        raise person_not_found()
    if person.withdrawn_at is not None:
        raise person_withdrawn()
    given = tuple(name for name in FIELDS if name in changes)
    checked = check_fields(changes, given)
    before = view(person)
    current: dict[str, object] = {
        name: (tuple(v) if isinstance(v := getattr(person, name), list) else v) for name in FIELDS
    }
    if "postal_code" in checked and "address" not in checked:
        current["address"] = None
    merged = complete(current | checked)
    for name in FIELDS:
        value = getattr(merged, name)
        setattr(person, name, list(value) if isinstance(value, tuple) else value)
    if consent_news is not None:
        person.consent_news = consent_news
    person.last_active_at = clock.now()
    await repo.refresh(person)
    after = view(person)
    if actor is not None:
        await record(
            db,
            actor,
            "person.update",
            "person",
            person_id,
            before={"fields": sorted(k for k in given if getattr(before, k) != getattr(after, k))},
        )
    return after


async def withdraw(db: AsyncSession, person_id: int, *, actor: Actor | None) -> PersonView:
    """Consent withdrawn: every contact detail goes at once and the person is never contacted
    again (campaigns select only persons not withdrawn; there is nothing left to reach them by).
    The name stays with the bookings' history and counts."""
    repo = PeopleRepository(db)
    person = await repo.get(person_id, lock=True)
    if person is None:
        raise person_not_found()
    if person.withdrawn_at is None:
        person.phone = None
        person.phone_alt = None
        person.email = None
        person.postal_code = None
        person.address = None
        person.contact_by = []
        person.consent_news = False
        person.withdrawn_at = clock.now()
        await repo.scrub_booking_contacts(person_id)
        await repo.refresh(person)
        await record(db, actor, "person.withdraw", "person", person_id, after={})
    return view(person)


HISTORY_LIMIT = 200


async def detail(db: AsyncSession, actor: Actor, person_id: int) -> PersonDetail:
    """The staff person page: details, consent, bookings, history and probable duplicates.
    Audited (a look at personal data)."""
    require_people_access(actor)
    repo = PeopleRepository(db)
    person = await repo.get(person_id)
    if person is None:
        raise person_not_found()
    history = await HistoryRepository(db).history(person_id, HISTORY_LIMIT)
    duplicates = [] if person.withdrawn_at else await repo.duplicates_of(person)
    await record(db, actor, "person.view", "person", person_id)
    return PersonDetail(
        person=view(person),
        bookings=tuple(await repo.bookings(person_id)),
        history=tuple(history),
        duplicates=tuple(view(p) for p in duplicates),
    )


async def person_by_proof(db: AsyncSession, phone: str, code: str) -> int | None:
    """The public proof: a phone number of the person and the code of any one of their
    bookings. None when they do not go together (the caller says so without telling which)."""
    try:
        digits = normalize_phone(phone)
    except InvalidValue:
        return None
    canonical = normalize_code(code)
    if canonical is None:
        return None
    return await PeopleRepository(db).person_of_booking(canonical, digits)


async def own_bookings(db: AsyncSession, person_id: int, now: datetime) -> list[BookingLine]:
    """Every booking of the person, upcoming first (soonest first), then past ones (latest
    first)."""
    lines = await PeopleRepository(db).bookings(person_id)
    upcoming = sorted((b for b in lines if b.ends_at > now), key=lambda b: b.starts_at)
    past = [b for b in lines if b.ends_at <= now]
    return upcoming + past


async def booking_of(db: AsyncSession, person_id: int, booking_id: int) -> tuple[str, str] | None:
    """(code, the phone it was booked with) of one of the person's bookings, for cancelling it
    on their behalf once they proved who they are; None when it is not theirs."""
    return await PeopleRepository(db).booking_of(person_id, booking_id)


# What a person may change themselves (「登録内容の変更」): how to reach them, and where.
SELF_SERVICE_FIELDS = ("email", "postal_code", "address", "contact_by")


async def change_own(
    db: AsyncSession, person_id: int, raw: Mapping[str, object], *, news: bool
) -> PersonView:
    changes = {name: raw.get(name) for name in SELF_SERVICE_FIELDS}
    return await update(db, person_id, changes, actor=None, consent_news=news)
