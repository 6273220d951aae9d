"""A matching day for the browser: seeded through the domain (a 新現役交流会 with 6 companies,
20 participants with profiles, choices both ways and a built timetable), then walked as a
company choosing on a tablet, the printed timetable, and a participant's timetable on a
phone. Used by tests/browser/test_matching_pages.py and `make screenshots`."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.bookings import service as bookings
from service.domain.matching import schedule, service, solver
from service.platform.local_time import TOKYO
from tests.factories import make_event, make_org, make_session
from tests.manage_support import PASSWORD, make_staff, person

Stop = Callable[[str], Awaitable[None]]
PROFILES = [
    "元自動車部品メーカーの品質管理部長。ISO9001の導入と工場の改善活動を20年。",
    "地方銀行で中小企業の融資と事業承継の相談を担当。財務の見直しが得意です。",
    "食品会社の営業一筋35年。首都圏の百貨店・量販店への販路があります。",
    "IT企業でシステム開発のプロジェクトマネージャー。社内のデジタル化を手伝えます。",
    "商社で海外調達を担当（中国・ベトナム）。輸出入の手続きに詳しいです。",
]
COMPANIES = [
    ("株式会社駿河精機", "新製品の販路開拓（首都圏の取引先を増やしたい）"),
    ("しずおか食品株式会社", "工場の生産性向上と品質管理の仕組みづくり"),
    ("清水港運輸株式会社", "事業承継の準備と財務の見直し"),
    ("葵テック株式会社", "社内のデジタル化（受発注のシステム化）"),
    ("用宗水産株式会社", "海外への輸出（ベトナム向け）"),
    ("丸子茶園株式会社", "ネット通販の立ち上げ"),
]


@dataclass(frozen=True)
class MatchingData:
    event_id: int
    company_id: int
    company_user: str
    code: str
    phone: str


async def seed_matching(db: AsyncSession, *, suffix: str = "") -> MatchingData:
    organizer = await make_staff(db, "organizer", username=f"matching-org{suffix}")
    actor = Actor.of(organizer)
    event = await make_event(db, title="令和4年度 静岡市新現役交流会", kind="exchange")
    session = await make_session(db, event=event, capacity=30, waitlist_limit=0)
    # 13:00-17:00 Japan time, two weeks ahead: six 40-minute meetings with 10-minute breaks.
    day = datetime.now(TOKYO).date() + timedelta(days=14)
    session.starts_at = datetime.combine(day, time(13), tzinfo=TOKYO)
    session.ends_at = datetime.combine(day, time(17), tzinfo=TOKYO)
    session.booking_closes_at = session.starts_at - timedelta(days=1)
    await db.commit()
    await service.configure(
        db,
        actor,
        event.id,
        {
            "slot_minutes": 40,
            "break_minutes": 10,
            "max_per_company": 5,
            "max_per_person": 3,
            "online": True,
        },
    )
    orgs = []
    branches = ["本店", "清水支店", "藤枝支店", "焼津支店", "草薙支店", "用宗支店"]
    for i, (name, brings) in enumerate(COMPANIES):
        org = await make_org(db, f"{name}{suffix}", kind="employer")
        await service.add_company(
            db,
            actor,
            event.id,
            {
                "organization_id": org.id,
                "brings": brings,
                "tables": [
                    {
                        "place": f"しずおか信用金庫 {branches[i]}",
                        "join_url": f"https://meet.example.jp/room{i + 1}",
                    }
                ],
            },
        )
        orgs.append(org)
    people = []
    for n in range(20):
        booked = await bookings.book(
            db, session.id, person(500 + n, age_band=["60_64", "65_69", "70_74"][n % 3])
        )
        await service.save_profile(
            db, actor, event.id, booked.id, {"profile": PROFILES[n % 5], "consent": True}
        )
        people.append(booked)
    rng = random.Random(2022)
    ids = [p.id for p in people]
    for org in orgs[1:]:
        await service.set_company_choices(
            db, actor, event.id, org.id, {"ranked": rng.sample(ids, 4)}
        )
    await service.set_company_choices(db, actor, event.id, orgs[0].id, {"ranked": ids[:3]})
    for p in ids:
        ranked = [o.id for o in rng.sample(orgs, 2)]
        if p == ids[0] and orgs[0].id not in ranked:
            ranked = [orgs[0].id, ranked[0]]
        await service.set_participant_choices(db, actor, event.id, p, {"ranked": ranked})
    built = await schedule.request_build(db, actor, event.id)
    assert built.status == "building"
    read = await schedule.read_instance(db, event.id)
    assert read is not None
    inst, tables, table_of = read
    solution = solver.solve(inst, time_limit=5)
    await schedule.store(db, event.id, 1, inst, tables, table_of, solution)
    company = await make_staff(db, "company", username=f"suruga{suffix}", organization=orgs[0])
    await db.commit()
    first = people[0]
    return MatchingData(event.id, orgs[0].id, company.username, first.code, first.phone)


async def company_tour(page: Page, base_url: str, data: MatchingData, stop: Stop) -> None:
    """A company's staff on a tablet: log in, rank participants, see and print the timetable."""
    await page.goto(f"{base_url}/manage/login")
    await page.get_by_label("ユーザー名").fill(data.company_user)
    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    await expect(page.get_by_role("heading", name="面談会（マッチング）")).to_be_visible()
    await page.get_by_role("link", name="のページを開く").first.click()
    await expect(page.get_by_role("heading", name="面談したい方を選ぶ")).to_be_visible()
    await page.locator("select[name^=rank_]").nth(3).select_option("1")
    await page.get_by_role("button", name="保存する").click()
    await expect(page.get_by_role("status")).to_contain_text("順位を保存しました")
    await stop("matching-company")
    await page.get_by_role("link", name="印刷用（A4・テーブルごと）").click()
    await expect(page.get_by_role("heading", name="テーブル 1")).to_be_visible()
    await stop("matching-print")


async def participant_tour(page: Page, base_url: str, data: MatchingData, stop: Stop) -> None:
    """A participant on a phone: look the booking up, read the timetable."""
    await page.goto(f"{base_url}/bookings/lookup?code={data.code}")
    await page.get_by_label("電話番号").fill(data.phone)
    await page.get_by_role("button", name="予約を確認する").click()
    await expect(page.get_by_role("heading", name="面談の時間割")).to_be_visible()
    link = page.get_by_role("link", name="面談の予定をカレンダーに登録")
    assert "/timetable.ics?t=" in (await link.get_attribute("href") or "")
    await stop("matching-participant")


async def hire_tour(page: Page, base_url: str, data: MatchingData, stop: Stop) -> None:
    """The company records a match, then 「採用を記録」: the form refuses blanks, then takes
    the start month and how the person works; the timetable says 採用."""
    await page.goto(f"{base_url}/manage/login")
    await page.get_by_label("ユーザー名").fill(data.company_user)
    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    path = f"/manage/events/{data.event_id}/matching/companies/{data.company_id}"
    await page.goto(f"{base_url}{path}")
    row = page.locator("tr[id^=m]").first
    await row.locator("select[name=result]").select_option("matched")
    await row.get_by_role("button", name="記録").click()
    await expect(page.get_by_role("status")).to_contain_text("面談の結果を記録しました")
    await page.get_by_role("link", name="採用を記録").first.click()
    await expect(page.get_by_role("heading", name="採用を記録")).to_be_visible()
    await stop("matching-hire")
    await page.locator("#started_on").evaluate("e => e.removeAttribute('required')")
    await page.locator("#employment_type").evaluate("e => e.removeAttribute('required')")
    await page.get_by_role("button", name="採用を記録する").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.locator("#started_on-error")).to_contain_text("働き始めた月")
    await stop("matching-hire-errors")
    month = datetime.now(TOKYO).date()
    await page.locator("#started_on").fill(f"{month:%Y-%m}")
    await page.get_by_label("働き方").select_option("regular")
    await page.get_by_role("button", name="採用を記録する").click()
    await expect(page.get_by_role("status")).to_contain_text("採用を記録しました")
    hired = f"採用：{month.year}年{month.month}月から（正社員）"
    await expect(page.get_by_text(hired)).to_be_visible()
    # A typo in the way of working: corrected from the same page, prefilled.
    await page.get_by_role("link", name="訂正・取り消し").first.click()
    await expect(page.get_by_role("heading", name="採用の記録を訂正")).to_be_visible()
    await expect(page.locator("#started_on")).to_have_value(f"{month:%Y-%m}")
    await stop("matching-hire-correct")
    await page.get_by_label("働き方").select_option("part_time")
    await page.get_by_role("button", name="訂正する").click()
    await expect(page.get_by_role("status")).to_contain_text("採用の記録を訂正しました")
    # Recorded by mistake: withdrawn after one more question, never on the first tap.
    await page.get_by_role("link", name="訂正・取り消し").first.click()
    await page.get_by_role("link", name="採用の記録を取り消す").click()
    await expect(page.get_by_role("heading", name="採用の記録を取り消しますか")).to_be_visible()
    await stop("matching-hire-withdraw")
    await page.get_by_role("button", name="はい、取り消す").click()
    await expect(page.get_by_role("status")).to_contain_text("採用の記録を取り消しました")
    await expect(page.get_by_role("link", name="採用を記録").first).to_be_visible()
