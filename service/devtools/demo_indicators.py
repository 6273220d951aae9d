"""Demo history for the indicators: this fiscal year's past sessions of the demo events with
check-ins, walk-ins and no-shows, the desk's records, survey answers and LINE figures, so the
report page follows from the data; and R4 with the programme report's own actuals entered as
hand figures (August to March), so that year reads like the real report."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.codes import new_code
from service.domain.bookings.models import Booking
from service.domain.bookings.repository import BookingRepository
from service.domain.bookings.schemas import ValidBooking, ValidCompanion
from service.domain.events.models import Event, EventSession, Venue
from service.domain.indicators import fiscal
from service.domain.indicators import service as indicators
from service.domain.indicators.models import DeskRecord, HandFigure, SurveyAnswer
from service.domain.indicators.repository import IndicatorRepository
from service.domain.indicators.schemas import company_key
from service.platform.local_time import TOKYO

# The R4 report's actuals (アウトプット実績 / アウトカム実績), entered as hand figures.
R4_ACTUALS = {
    "matching_supported_companies": 91,
    "matching_desk_consultations": 856,
    "matching_outreach_participants": 68,
    "care_supported_companies": 27,
    "care_job_fair_participants": 51,
    "care_job_fair_employers": 8,
    "care_training_participants": 24,
    "service_supported_companies": 29,
    "service_participants": 56,
    "community_middle_senior_seminar": 44,
    "community_side_job_seminar": 20,
    "outcome_senior_placements": 287,
    "outcome_other_placements": 22,
    "outcome_silver_registrations": 51,
    "outcome_job_openings": 118,
    "outcome_line_registrations": 180,
    "exchange_companies": 14,
    "exchange_participants": 68,
}
EXCHANGE_MATCHING_RATE = Decimal("35.7")

FAMILY = "静岡 清水 駿河 葵 望月 鈴木 杉山 渡辺 望月 佐野 山本 石川".split()
GIVEN = "太郎 花子 一郎 幸子 健 和子 誠 恵子 博 洋子".split()
HEARD = ["dm", "dm", "line", "magazine", "website", "hello_work", None]
COMPANIES = {
    "care": ["社会福祉法人あおい福祉会", "介護老人保健施設しみずの里", "デイサービスするが"],
    "security": ["駿府警備保障株式会社"],
    "building": ["清水ビルメンテナンス株式会社"],
    "cleaning": ["株式会社しずおかクリーンサービス"],
    "general": [
        "株式会社清水港運",
        "静岡茶商事株式会社",
        "株式会社駿河精機",
        "しずおか食品株式会社",
    ],
}


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


async def _hand_r4(db: AsyncSession) -> None:
    repo = IndicatorRepository(db)
    months = [date(int(m[:4]), int(m[5:]), 1) for m in fiscal.window(2022, None).months[4:]]
    for code, total in R4_ACTUALS.items():
        d = await repo.definition_by_code(code)
        if d is None:
            continue
        for month, value in zip(months, _split(total, len(months)), strict=True):
            db.add(HandFigure(definition_id=d.id, month=month, value=Decimal(value)))
    satisfaction = await repo.definition_by_code("outcome_satisfaction")
    if satisfaction is not None:
        for month in months:
            db.add(
                HandFigure(
                    definition_id=satisfaction.id, month=month, value=Decimal(99), answers=15
                )
            )
    rate = await repo.definition_by_code("exchange_matching_rate")
    if rate is not None:
        db.add(
            HandFigure(definition_id=rate.id, month=date(2022, 8, 1), value=EXCHANGE_MATCHING_RATE)
        )
    await db.flush()


def _person(rng: random.Random, n: int) -> ValidBooking:
    # Some come with a companion (同伴者), who counts as a participant too.
    companions = (ValidCompanion("同伴 者", "ドウハン シャ"),) if n % 7 == 0 else ()
    return ValidBooking(
        companions=companions,
        name=f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
        name_kana=f"デモ サンカシャ{n:05d}",
        phone=f"0543{n:06d}",
        age_band=rng.choice(["55_59", "60_64", "65_69", "70_74"]),
        ward=rng.choice(["aoi", "suruga", "shimizu"]),
        heard_from=rng.choice(HEARD),
    )


async def _past_session(
    db: AsyncSession, rng: random.Random, event: Event, venue_id: int, day: date, n0: int
) -> int:
    """A held session with check-ins, walk-ins and no-shows, through the booking core's seat
    claims. Returns how many people were made."""
    starts = datetime.combine(day, time(10), tzinfo=TOKYO)
    capacity = 40
    session = EventSession(
        event_id=event.id,
        venue_id=venue_id,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=capacity,
        waitlist_limit=0,
        booking_opens_at=starts - timedelta(days=30),
        booking_closes_at=starts - timedelta(hours=12),
    )
    db.add(session)
    await db.flush()
    await BookingRepository(db).add_seats(session.id, 1, capacity)
    bookings = BookingRepository(db)
    booked = rng.randint(6, 14)
    walk_ins = rng.randint(0, 3)
    for i in range(booked + walk_ins):
        walk_in = i >= booked
        person = _person(rng, n0 + i)
        seats = await bookings.free_seats(session.id, person.party_size)
        booking_id, _ = await bookings.confirm_directly(
            session.id,
            new_code(),
            person,
            "walk_in" if walk_in else "web",
            None,
            seat_ids=seats or [],
        )
        booking = await db.get(Booking, booking_id)
        assert booking is not None
        if walk_in or rng.random() < 0.85:
            booking.checked_in_at = starts + timedelta(minutes=rng.randint(-20, 15))
        else:
            booking.no_show_at = starts + timedelta(hours=3)
    await db.flush()
    return booked + walk_ins


async def _current_year(db: AsyncSession, today: date, events: list[Event], venue: Venue) -> None:
    rng = random.Random(20221)
    year = fiscal.fiscal_year_of_day(today)
    start = fiscal.first_day(year)
    days = (today - start).days
    if days < 2:
        return
    n = 1
    for i, event in enumerate(events):
        if event.status != "published":
            continue
        for k in (1, 2):
            day = start + timedelta(days=max(0, days * (2 * k - 1) // 4 - i) % days)
            n += await _past_session(db, rng, event, venue.id, day, n)
    for offset in range(0, days, 2):
        day = start + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for _ in range(rng.randint(1, 5)):
            db.add(
                DeskRecord(
                    kind="consultation",
                    occurred_on=day,
                    channel=rng.choice(["desk", "desk", "phone"]),
                    sector=rng.choice(list(COMPANIES)),
                )
            )
        if rng.random() < 0.3:
            sector = rng.choice(list(COMPANIES))
            company = rng.choice(COMPANIES[sector])
            db.add(
                DeskRecord(
                    kind="supported_company",
                    occurred_on=day,
                    sector=sector,
                    company=company,
                    company_key=company_key(company),
                )
            )
        if rng.random() < 0.35:
            sector = rng.choice(list(COMPANIES))
            company = rng.choice(COMPANIES[sector])
            db.add(
                DeskRecord(
                    kind="placement",
                    occurred_on=day,
                    sector=sector,
                    company=company,
                    company_key=company_key(company),
                    senior=rng.random() < 0.92,
                )
            )
        if rng.random() < 0.2:
            company = rng.choice(COMPANIES["general"])
            db.add(
                DeskRecord(
                    kind="job_opening",
                    occurred_on=day,
                    company=company,
                    company_key=company_key(company),
                    quantity=rng.randint(1, 4),
                )
            )
        if rng.random() < 0.1:
            db.add(DeskRecord(kind="silver_registration", occurred_on=day))
        if rng.random() < 0.4:
            db.add(
                SurveyAnswer(
                    answered_on=day,
                    score=rng.choice([5, 5, 5, 4, 4, 3]),
                    comment="",
                    source="paper",
                )
            )
    line = await IndicatorRepository(db).definition_by_code("outcome_line_registrations")
    if line is not None:
        for m in fiscal.month_keys(start, today - timedelta(days=1)):
            db.add(
                HandFigure(
                    definition_id=line.id,
                    month=date(int(m[:4]), int(m[5:]), 1),
                    value=Decimal(rng.randint(10, 30)),
                )
            )
    await db.flush()


async def load_indicator_demo(
    db: AsyncSession, today: date, events: list[Event], venue: Venue
) -> None:
    await _hand_r4(db)
    await _current_year(db, today, events, venue)
    await db.flush()
    for year in sorted({2022, fiscal.fiscal_year_of_day(today)}):
        await indicators.compile_year(db, year)
