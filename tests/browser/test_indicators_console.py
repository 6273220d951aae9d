"""The indicators in a real Chromium: the report page laid out like the programme's report
(with its chart), the print view, and a desk record added on the console form; each page
checked with axe-core (WCAG 2.2 A and AA)."""

from __future__ import annotations

from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators import service as indicators
from tests.browser.a11y import assert_accessible
from tests.browser.live_server import LiveServer
from tests.indicator_support import build_year
from tests.manage_support import PASSWORD, make_staff


async def test_an_organizer_reads_the_report_and_adds_a_record(
    live_server: LiveServer, page: Page, db: AsyncSession
) -> None:
    await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    await make_staff(db, "organizer", username="aoki")
    await page.goto(live_server.url("/manage"))
    await page.get_by_label("ユーザー名").fill("aoki")
    await page.get_by_label("パスワード").fill(PASSWORD)
    await page.get_by_role("button", name="ログイン").click()
    await expect(page.get_by_role("link", name="事業報告の指標")).to_be_visible()
    await page.get_by_role("link", name="事業報告の指標").click()
    await page.get_by_label("年度", exact=True).select_option("2022")
    await page.get_by_role("button", name="表示").click()

    await expect(page.get_by_role("heading", name="令和4年度 事業報告の指標")).to_be_visible()
    outreach = page.get_by_role("row").filter(has_text="出張相談会参加者（人）").first
    await expect(outreach).to_contain_text("19 (45)")
    await expect(page.get_by_role("img", name="令和4年度 実績と目標")).to_be_visible()
    await assert_accessible(page, "indicators report")

    await page.get_by_role("link", name="印刷用（A4）").click()
    await expect(page.get_by_role("heading", name="事業報告（令和4年度）")).to_be_visible()
    await assert_accessible(page, "indicators print view")

    await page.goto(live_server.url("/manage/indicators/records?fy=2022"))
    await page.get_by_label("記録の種類").select_option("job_opening")
    await page.get_by_label("日付").fill("2022-10-03")
    await page.get_by_label("企業名（支援企業・就業・求人のとき）").fill("しずおか食品株式会社")
    await page.get_by_label("件数（1〜500").fill("3")
    await page.get_by_role("button", name="追加する").click()
    await expect(page.get_by_role("status")).to_contain_text("記録を追加しました。")
    await expect(page.get_by_role("cell", name="しずおか食品株式会社")).to_be_visible()
    await assert_accessible(page, "desk records")

    # The narrative and 新現役交流会 for the report, written in the console.
    await page.goto(live_server.url("/manage/indicators/narrative?fy=2022"))
    await page.get_by_label("【評価】").first.fill("全ての項目のアウトプット目標を達成。")
    await page.get_by_role("button", name="評価を保存する").first.click()
    await expect(page.get_by_role("status")).to_contain_text("評価・取組を保存しました。")
    await assert_accessible(page, "report narrative")
    await page.goto(live_server.url("/manage/indicators?fy=2022"))
    await expect(page.get_by_text("全ての項目のアウトプット目標を達成。")).to_be_visible()
    await expect(page.get_by_role("link", name="報告書（PDF）")).to_be_visible()
    # The row of links shows no bullets: in a flex row each one sat on the previous link's end
    # (「印刷用（A4）•」, 「新現•役交流会」).
    markers = await page.locator("ul.actions li").evaluate_all(
        "items => items.map(li => getComputedStyle(li).listStyleType)"
    )
    assert markers and set(markers) == {"none"}
