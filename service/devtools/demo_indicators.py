"""Demo history for the indicators: this fiscal year's past sessions of the demo events with
check-ins, walk-ins and no-shows, the desk's records, survey answers and LINE figures, so the
report page follows from the data; and R4 with the programme report's own actuals entered as
yearly hand figures (no months: the report gives none), its narrative and 新現役交流会 with the
past years' matching rates, so that year reads like the real report."""

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
from service.domain.indicators.models import (
    DeskRecord,
    ExchangeYear,
    HandFigure,
    Narrative,
    SurveyAnswer,
    YearHandFigure,
)
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
# 新現役交流会 as the report gives it: R4 (2022-08-26, online, 14 companies, 68 people, 5
# matched) and the past years' matching rates.
EXCHANGE_R4 = dict(
    fiscal_year=2022,
    held_on=date(2022, 8, 26),
    method="オンライン",
    companies=14,
    participants=68,
    matches=5,
    rate=None,
)
EXCHANGE_HISTORY = {2021: "60", 2020: "55", 2019: "57.1", 2018: "61.9"}
# The report's 【評価】 and 【令和5年度の取組】, per section.
R4_NARRATIVE = {
    ("matching", "evaluation"): "全ての項目のアウトプット目標を達成。\n"
    "企業宛てDMアンケートの返信を基に、シニアの採用に興味がある企業を積極的に訪問した。\n"
    "求人情報誌やLINEでの広報により、常設の相談窓口・出張相談会をPRした。",
    ("matching", "plan"): "引き続き、丁寧なヒアリング・相談対応を行う。\n"
    "出張相談会は、清水区3回、駿河区2回開催予定。\n"
    "各重点業種における就業・社会参加促進のため、スタッフと各関係機関との連携を強める。",
    ("care", "evaluation"): "全ての項目のアウトプット目標を達成。仕事説明会は、ハローワークと共催。"
    "事業所の所在地、参加募集の地域を絞り、集客・マッチング率向上を図った。",
    ("care", "plan"): "県事業や県老協との連絡調整を密にし、介護助手の就業数増加を目指す。",
    ("service", "evaluation"): "2月末時点で、全ての項目のアウトプット目標を達成。",
    ("service", "plan"): "第1四半期に仕事説明会を実施し、その後参加者のアフターフォローを行う。",
    ("community", "evaluation"): "企業向けセカンドキャリアセミナーの成果として"
    "市内中小企業の外部人材活用等に繋がった。",
    ("community", "plan"): "ミドルシニアセミナーについて、社内のミドルシニア活用や"
    "セカンドキャリア人材の採用につながる施策を再度検討する。",
    ("outcome", "evaluation"): "令和元年度から3年度まで実施した「生涯現役促進地域連携事業」の"
    "実績を引き継ぎ、概ね目標を上回る実績を上げることができた。",
}

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


async def _hand_r4(db: AsyncSession) -> None:
    """The report's yearly totals as yearly figures: no months, no count of answers (the
    report gives neither)."""
    repo = IndicatorRepository(db)
    yearly = {code: Decimal(v) for code, v in R4_ACTUALS.items()}
    yearly["outcome_satisfaction"] = Decimal(99)
    yearly["exchange_matching_rate"] = EXCHANGE_MATCHING_RATE
    for code, value in yearly.items():
        d = await repo.definition_by_code(code)
        if d is not None:
            db.add(YearHandFigure(definition_id=d.id, fiscal_year=2022, value=value))
    db.add(ExchangeYear(**EXCHANGE_R4))
    for year, rate in EXCHANGE_HISTORY.items():
        db.add(ExchangeYear(fiscal_year=year, rate=Decimal(rate)))
    for (section, part), body in R4_NARRATIVE.items():
        db.add(Narrative(fiscal_year=2022, section=section, part=part, body=body))
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
        # The day's tally by channel: one record with its count per channel.
        for channel, most in (("desk", 4), ("phone", 2)):
            count = rng.randint(0, most)
            if count:
                db.add(
                    DeskRecord(
                        kind="consultation", occurred_on=day, channel=channel, quantity=count
                    )
                )
        # Now and then someone agrees to the satisfaction survey (their own record, with a
        # contact: the record's page offers the link).
        if rng.random() < 0.15:
            db.add(
                DeskRecord(
                    kind="consultation",
                    occurred_on=day,
                    channel="desk",
                    sector=rng.choice(list(COMPANIES)),
                    contact_phone=f"0542{rng.randint(100000, 999999)}",
                    survey_consent=True,
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
                    source=rng.choice(["paper", "tablet"]),
                    subject="desk",
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
