"""Setting a matching day up: its settings, the companies and their tables, participants'
profiles, and the choices both ways. Company staff (role "company") reach only their own
company: its choices, the participants' names, age bands and profiles, never another company's
choices nor a participant's phone or e-mail before a match with it."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain import clock
from service.domain.accounts.access import require_role
from service.domain.accounts.actor import Actor
from service.domain.accounts.audit import record
from service.domain.bookings import use_cases as booking_use_cases
from service.domain.bookings.idempotency import Outcome
from service.domain.bookings.schemas import BookingView
from service.domain.errors import Conflict, InvalidInput, NotFound
from service.domain.matching.enums import MATCHING_KINDS
from service.domain.matching.models import MatchingCompany, MatchingDay
from service.domain.matching.repository import MatchingRepository, ParticipantRow
from service.domain.matching.schemas import (
    CompanyView,
    MatchingView,
    ParticipantView,
    SlotView,
    TableView,
    slot_times,
    validate_company,
    validate_profile,
    validate_ranked,
    validate_settings,
)

COMPANY_ROLE = "company"


def day_not_found() -> NotFound:
    return NotFound(
        "この催しは面談会（マッチング）として設定されていません。", code="matching_not_found"
    )


def company_not_found() -> NotFound:
    return NotFound("この面談会の参加企業ではありません。", code="matching_company_not_found")


def require_own_company(actor: Actor, organization_id: int) -> None:
    """Company staff act only for their own company (others: not found, as for co-hosts)."""
    if actor.role == COMPANY_ROLE and actor.organization_id != organization_id:
        raise company_not_found()


async def get_day(repo: MatchingRepository, event_id: int) -> MatchingDay:
    day = await repo.day(event_id)
    if day is None:
        raise day_not_found()
    return day


async def configure(
    db: AsyncSession, actor: Actor, event_id: int, raw: Mapping[str, object]
) -> MatchingView:
    """PUT /events/{id}/matching: turns matching on with these settings (or changes them)."""
    require_role(actor, "cohost")
    valid = validate_settings(raw)
    repo = MatchingRepository(db)
    kind = await repo.event_kind(event_id)
    if kind is None:
        raise NotFound("イベントが見つかりません。", code="event_not_found")
    if kind[0] not in MATCHING_KINDS:
        raise Conflict(
            "面談会（マッチング）にできるのは仕事説明会・面談会と交流会だけです。",
            code="not_a_matching_kind",
        )
    session = await repo.first_session(event_id)
    if session is None:
        raise Conflict("先に開催日時（回）を登録してください。", code="no_session")
    if not slot_times(session.starts_at, session.ends_at, valid.slot_minutes, valid.break_minutes):
        raise InvalidInput(fields={"slot_minutes": "開催時間の中に面談の枠が1つも入りません。"})
    day = await repo.lock_day(event_id)
    before = _settings_of(day) if day is not None else None
    values = {
        "slot_minutes": valid.slot_minutes,
        "break_minutes": valid.break_minutes,
        "max_per_company": valid.max_per_company,
        "max_per_person": valid.max_per_person,
        "online": valid.online,
    }
    if day is None:
        day = MatchingDay(event_id=event_id, session_id=session.session_id, unmet=[], **values)
        await repo.add(day)
    else:
        for name, value in values.items():
            setattr(day, name, value)
    await repo.flush()
    await record(
        db,
        actor,
        "matching.configure",
        "event",
        event_id,
        before=before,
        after=_settings_of(day),
    )
    return await view(db, actor, event_id)


def _settings_of(day: MatchingDay) -> dict[str, object]:
    return {
        "slot_minutes": day.slot_minutes,
        "break_minutes": day.break_minutes,
        "max_per_company": day.max_per_company,
        "max_per_person": day.max_per_person,
        "online": day.online,
    }


async def add_company(
    db: AsyncSession, actor: Actor, event_id: int, raw: Mapping[str, object]
) -> CompanyView:
    """POST /events/{id}/matching/companies: a company takes part (or changes what it brings
    and its tables)."""
    require_role(actor, "cohost")
    valid = validate_company(raw)
    repo = MatchingRepository(db)
    await get_day(repo, event_id)
    org = await repo.organization(valid.organization_id)
    if org is None or org[1] != "employer":
        raise InvalidInput(
            fields={"organization_id": "参加企業（企業として登録した団体）を選んでください。"}
        )
    company = await repo.company(event_id, valid.organization_id)
    if company is None:
        company = MatchingCompany(
            event_id=event_id, organization_id=valid.organization_id, brings=valid.brings
        )
        await repo.add(company)
    else:
        company.brings = valid.brings
    await repo.replace_tables(event_id, valid.organization_id, valid.tables)
    await record(
        db,
        actor,
        "matching.company",
        "event",
        event_id,
        after={"organization_id": valid.organization_id, "tables": len(valid.tables)},
    )
    tables = [t for t in await repo.tables(event_id) if t.organization_id == valid.organization_id]
    return CompanyView(
        valid.organization_id,
        org[0],
        company.brings,
        [TableView(t.id, t.number, t.place, t.join_url) for t in tables],
    )


async def set_company_choices(
    db: AsyncSession, actor: Actor, event_id: int, organization_id: int, raw: Mapping[str, object]
) -> list[int]:
    require_own_company(actor, organization_id)
    ranked = validate_ranked(raw)
    repo = MatchingRepository(db)
    day = await get_day(repo, event_id)
    if await repo.company(event_id, organization_id) is None:
        raise company_not_found()
    known = {p.booking_id for p in await repo.participants(day.session_id)}
    unknown = [b for b in ranked if b not in known]
    if unknown:
        raise InvalidInput(
            fields={"ranked": f"この面談会の参加者ではない番号があります：{unknown[:5]}"}
        )
    await repo.set_company_choices(event_id, organization_id, ranked)
    await record(
        db,
        actor,
        "matching.company_choices",
        "event",
        event_id,
        after={"organization_id": organization_id, "ranked": ranked},
    )
    return ranked


async def set_participant_choices(
    db: AsyncSession, actor: Actor | None, event_id: int, booking_id: int, raw: Mapping[str, object]
) -> list[int]:
    """Staff on a participant's behalf (actor), or the participant from the look-up page
    (actor None, after the code-and-phone check)."""
    if actor is not None:
        require_role(actor, "cohost")
    ranked = validate_ranked(raw)
    repo = MatchingRepository(db)
    day = await get_day(repo, event_id)
    if booking_id not in {p.booking_id for p in await repo.participants(day.session_id)}:
        raise NotFound("この面談会の参加者が見つかりません。", code="participant_not_found")
    companies = {c.organization_id for c, _ in await repo.companies(event_id)}
    unknown = [o for o in ranked if o not in companies]
    if unknown:
        raise InvalidInput(
            fields={"ranked": f"この面談会の参加企業ではない番号があります：{unknown[:5]}"}
        )
    await repo.set_participant_choices(event_id, booking_id, ranked)
    await record(
        db,
        actor,
        "matching.participant_choices",
        "booking",
        booking_id,
        after={"ranked": ranked},
    )
    return ranked


async def is_matching_session(db: AsyncSession, session_id: int) -> bool:
    """Whether bookings of this session are a matching day's participants (the form asks for
    the profile and consent)."""
    return await MatchingRepository(db).day_of_session(session_id) is not None


async def matching_day_of_booking(db: AsyncSession, booking_id: int) -> int | None:
    """The event id when this booking is a participant's of a matching day (look-up page)."""
    repo = MatchingRepository(db)
    session_id = await repo.booking_session(booking_id)
    if session_id is None:
        return None
    day = await repo.day_of_session(session_id)
    return day.event_id if day else None


async def book(
    db: AsyncSession,
    session_id: int,
    raw: Mapping[str, object],
    *,
    key: str | None = None,
    channel: str = "web",
    join_waitlist: bool = True,
) -> Outcome[BookingView]:
    """A booking that may be for a matching day: then "matching": {"profile", "consent"} is
    required, and the profile is stored with the booking in the same transaction (an error
    after the seat was taken rolls the whole request back). The booking statement runs first,
    so the booking hot path is unchanged for every other day."""
    body = dict(raw)
    matching = body.pop("matching", None)
    profile = validate_profile(matching) if matching is not None else None
    outcome = await booking_use_cases.book(
        db, session_id, body, key=key, channel=channel, join_waitlist=join_waitlist
    )
    repo = MatchingRepository(db)
    # The booking statement read the session's flag (kept by a trigger on matching_days), so a
    # booking pays no extra round trip to learn whether its day is a matching day.
    if not outcome.value.session.matching_day:
        if profile is not None:
            raise InvalidInput(
                fields={"matching": "この催しは面談の申し込みを受け付けていません。"}
            )
        return outcome
    if outcome.replayed:
        return outcome
    if profile is None:
        validate_profile(None)
        raise AssertionError("unreachable")
    await repo.save_profile(outcome.value.id, profile.profile, clock.now())
    return outcome


async def save_profile(
    db: AsyncSession, actor: Actor, event_id: int, booking_id: int, raw: object
) -> None:
    """Staff enter a phone registration's profile and consent (asked on the phone)."""
    require_role(actor, "cohost")
    valid = validate_profile(raw)
    repo = MatchingRepository(db)
    day = await get_day(repo, event_id)
    if await repo.booking_session(booking_id) != day.session_id:
        raise NotFound("この面談会の予約が見つかりません。", code="participant_not_found")
    await repo.save_profile(booking_id, valid.profile, clock.now())
    await record(db, actor, "matching.profile", "booking", booking_id)


def participant_view(p: ParticipantRow, *, full: bool) -> ParticipantView:
    return ParticipantView(
        booking_id=p.booking_id,
        name=p.name,
        age_band=p.age_band,
        profile=p.profile,
        phone=p.phone if full else None,
        email=p.email if full else None,
        checked_in=p.checked_in,
        no_show=p.no_show,
    )


async def view(db: AsyncSession, actor: Actor, event_id: int) -> MatchingView:
    """GET /events/{id}/matching. A company login sees its own choices and no contact details
    except of the people it matched with."""
    repo = MatchingRepository(db)
    day = await get_day(repo, event_id)
    window = await repo.session_window(day.session_id)
    assert window is not None
    slots = slot_times(window.starts_at, window.ends_at, day.slot_minutes, day.break_minutes)
    tables = await repo.tables(event_id)
    companies = [
        CompanyView(
            c.organization_id,
            name,
            c.brings,
            [
                TableView(t.id, t.number, t.place, t.join_url)
                for t in tables
                if t.organization_id == c.organization_id
            ],
        )
        for c, name in await repo.companies(event_id)
    ]
    is_company = actor.role == COMPANY_ROLE
    own = actor.organization_id if is_company else None
    matched: set[int] = set()
    if is_company:
        matched = {
            m.booking_id
            for m in await repo.meetings(event_id, organization_id=own)
            if m.outcome == "matched"
        }
    participants = [
        participant_view(p, full=not is_company or p.booking_id in matched)
        for p in await repo.participants(day.session_id)
    ]
    company_choices: dict[int, list[int]] = {}
    for c in await repo.company_choices(event_id, own):
        company_choices.setdefault(c.organization_id, []).append(c.booking_id)
    participant_choices: dict[int, list[int]] = {}
    if not is_company:
        for pc in await repo.participant_choices(event_id):
            participant_choices.setdefault(pc.booking_id, []).append(pc.organization_id)
    return MatchingView(
        event_id=event_id,
        session_id=day.session_id,
        slot_minutes=day.slot_minutes,
        break_minutes=day.break_minutes,
        max_per_company=day.max_per_company,
        max_per_person=day.max_per_person,
        online=day.online,
        status=day.schedule_status,
        slots=[SlotView(i, s, e) for i, (s, e) in enumerate(slots)],
        companies=companies,
        participants=participants,
        company_choices=company_choices,
        participant_choices=participant_choices,
    )
