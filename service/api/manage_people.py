"""Staff API: people (登録者), their history, duplicates and merges (organizers and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from service.domain.errors import InvalidInput
from service.domain.people import merge as merging
from service.domain.people import service as people
from service.domain.people.schemas import BookingLine, HistoryEntry, PersonView
from service.domain.people.validation import check_person
from service.edge.dependencies import DB
from service.edge.staff_auth import Staff

ORGANIZER = {"staff_role": "organizer"}
UNSET: Any = msgspec.UNSET


class ConsentIn(msgspec.Struct, forbid_unknown_fields=True):
    privacy: bool = False
    news: bool = False


class ConsentChange(msgspec.Struct, forbid_unknown_fields=True):
    news: bool | msgspec.UnsetType = UNSET
    # True withdraws consent: every contact detail is removed at once.
    withdrawn: bool = False


class PersonIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    name_kana: str
    phone: str
    consent: ConsentIn
    phone_alt: str | None = None
    email: str | None = None
    postal_code: str | None = None
    address: str | None = None
    age_band: str | None = None
    birth_year: int | None = None
    ward: str | None = None
    interests: list[str] = msgspec.field(default_factory=list)
    contact_by: list[str] = msgspec.field(default_factory=list)
    # desk (the tablet form at the desk) or phone (read out over the phone).
    via: str = "desk"


class PersonPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = UNSET
    name_kana: str | msgspec.UnsetType = UNSET
    phone: str | msgspec.UnsetType | None = UNSET
    phone_alt: str | msgspec.UnsetType | None = UNSET
    email: str | msgspec.UnsetType | None = UNSET
    postal_code: str | msgspec.UnsetType | None = UNSET
    address: str | msgspec.UnsetType | None = UNSET
    age_band: str | msgspec.UnsetType | None = UNSET
    birth_year: int | msgspec.UnsetType | None = UNSET
    ward: str | msgspec.UnsetType | None = UNSET
    interests: list[str] | msgspec.UnsetType = UNSET
    contact_by: list[str] | msgspec.UnsetType = UNSET
    consent: ConsentChange | msgspec.UnsetType = UNSET


class MergeIn(msgspec.Struct, forbid_unknown_fields=True):
    duplicate_id: int


class ConsentOut(msgspec.Struct):
    privacy: bool
    news: bool
    version: str | None
    agreed_at: datetime | None
    withdrawn_at: datetime | None


class PersonOut(msgspec.Struct):
    id: int
    name: str
    name_kana: str
    phone: str | None
    phone_alt: str | None
    email: str | None
    postal_code: str | None
    address: str | None
    age_band: str | None
    birth_year: int | None
    ward: str | None
    interests: list[str]
    contact_by: list[str]
    consent: ConsentOut
    registered_via: str
    created_at: datetime


class PersonDetailOut(PersonOut):
    bookings: list[BookingLine]
    history: list[HistoryEntry]
    duplicate_ids: list[int]


class MergeOut(msgspec.Struct):
    kept_id: int
    duplicate_id: int
    moved: dict[str, int]


def _fields(p: PersonView) -> dict[str, Any]:
    c = p.consent
    return {
        "id": p.id,
        "name": p.name,
        "name_kana": p.name_kana,
        "phone": p.phone,
        "phone_alt": p.phone_alt,
        "email": p.email,
        "postal_code": p.postal_code,
        "address": p.address,
        "age_band": p.age_band,
        "birth_year": p.birth_year,
        "ward": p.ward,
        "interests": list(p.interests),
        "contact_by": list(p.contact_by),
        "consent": ConsentOut(c.privacy, c.news, c.version, c.agreed_at, c.withdrawn_at),
        "registered_via": p.registered_via,
        "created_at": p.created_at,
    }


def person_out(p: PersonView) -> PersonOut:
    return PersonOut(**_fields(p))


class ManagePeopleController(Controller):
    path = "/people"
    tags = ["staff: people"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Register a person at the desk or by phone (consent.privacy must be true)",
        description="`address` is filled from `postal_code` when left out. 409 person_exists "
        "when the phone and kana are already known.",
        opt=ORGANIZER,
    )
    async def create(self, db: DB, staff: Staff, data: JSONBody[PersonIn]) -> PersonOut:
        people.require_people_access(staff)
        raw = msgspec.to_builtins(data)
        if data.via not in ("desk", "phone"):
            raise InvalidInput(fields={"via": "desk か phone を指定してください。"})
        view = await people.create(
            db,
            check_person(raw),
            via=data.via,
            consent_privacy=data.consent.privacy,
            consent_news=data.consent.news,
            actor=staff,
        )
        return person_out(view)

    @get(
        "/",
        summary="Find people by booking code, phone, name or kana (the newest without q)",
        opt=ORGANIZER,
    )
    async def search(
        self,
        db: DB,
        staff: Staff,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ) -> list[PersonOut]:
        return [person_out(p) for p in await people.search(db, staff, q or "")]

    @get(
        "/{person_id:int}",
        summary="A person with bookings, history and probable duplicates. Audited.",
        opt=ORGANIZER,
    )
    async def show(self, db: DB, staff: Staff, person_id: FromPath[int]) -> PersonDetailOut:
        d = await people.detail(db, staff, person_id)
        return PersonDetailOut(
            **_fields(d.person),
            bookings=list(d.bookings),
            history=list(d.history),
            duplicate_ids=[p.id for p in d.duplicates],
        )

    @patch(
        "/{person_id:int}",
        summary="Change a person's details, news consent, or withdraw consent",
        description='Only the fields given change. `consent: {"withdrawn": true}` removes '
        "every contact detail at once; the person is never contacted again. Audited.",
        opt=ORGANIZER,
    )
    async def change(
        self, db: DB, staff: Staff, person_id: FromPath[int], data: JSONBody[PersonPatch]
    ) -> PersonOut:
        people.require_people_access(staff)
        changes = {
            k: v
            for k, v in msgspec.structs.asdict(data).items()
            if v is not msgspec.UNSET and k != "consent"
        }
        consent = data.consent if isinstance(data.consent, ConsentChange) else None
        if consent is not None and consent.withdrawn:
            return person_out(await people.withdraw(db, person_id, actor=staff))
        news = consent.news if consent is not None and isinstance(consent.news, bool) else None
        view = await people.update(db, person_id, changes, actor=staff, consent_news=news)
        return person_out(view)

    @post(
        "/{person_id:int}/merge",
        status_code=HTTP_200_OK,
        summary="Merge a duplicate into this person: every link moves here. Audited.",
        opt=ORGANIZER,
    )
    async def merge(
        self, db: DB, staff: Staff, person_id: FromPath[int], data: JSONBody[MergeIn]
    ) -> MergeOut:
        outcome = await merging.merge(db, staff, person_id, data.duplicate_id)
        return MergeOut(outcome.kept_id, outcome.duplicate_id, dict(outcome.moved))
