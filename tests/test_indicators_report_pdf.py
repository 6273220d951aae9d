"""The yearly report as a PDF (/manage/indicators/report.pdf): R4 built from events held
through the service plus the rest of the programme report's figures entered as yearly totals,
its narrative and 新現役交流会; the PDF's text read back holds every row with the report's
figures, the 実施状況 list, the narrative and the 新現役交流会 page, on A4 portrait pages, with
its fonts embedded."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pdfplumber
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.accounts.actor import Actor
from service.domain.indicators import document as documents
from service.domain.indicators import service as indicators
from service.domain.indicators.repository import IndicatorRepository
from service.platform.settings import Settings
from tests import indicator_support as w
from tests.manage_support import make_staff, post_form, web_login

# The programme report's R4 tables: (項目 as printed, R4 actual (target), R5, R6).
R4_ROWS = [
    ("支援企業（社）", "91 (70)", "- (120)", "- (120)"),
    ("相談窓口での相談（件）", "856 (700)", "- (900)", "- (900)"),
    ("出張相談会参加者（人）", "68 (45)", "- (75)", "- (75)"),
    ("支援企業（社）", "27 (5)", "- (10)", "- (10)"),
    ("仕事説明会参加者（人）", "51 (30)", "- (30)", "- (30)"),
    ("仕事説明会参加企業（社）", "8 (5)", "- (5)", "- (5)"),
    ("研修参加者（人）", "24 (10)", "- (10)", "- (10)"),
    ("支援企業（社）", "29 (5)", "- (10)", "- (10)"),
    ("仕事説明会、セミナー、研修会参加者（人）", "56 (35)", "- (35)", "- (45)"),
    ("ミドルシニアセミナー参加者（人）", "44 (30)", "- (30)", "- (40)"),
    ("兼業・副業・プロボノセミナー参加者（人）", "20 (10)", "- (10)", "- (20)"),
    ("高齢求職者の雇用・就業数（人）", "287 (160)", "- (280)", "- (280)"),
    ("高年齢者以外の雇用・就業数（人）", "22 (20)", "- (40)", "- (40)"),
    ("シルバー人材センターへの新規会員登録数（人）", "51 (30)", "- (60)", "- (60)"),
    ("相談窓口の利用満足度（%）", "99 (90)", "- (90)", "- (90)"),
    ("求人獲得（掲載）数（件）", "118 (25)", "- (80)", "- (80)"),
    ("公式LINE新規登録者数（人）", "180 (100)", "- (100)", "- (100)"),
]
# What the service counted from the events below; the rest is entered as the year's total.
COUNTED = {
    "matching_outreach_participants": 12,
    "care_job_fair_participants": 9,
    "care_job_fair_employers": 2,
    "community_middle_senior_seminar": 15,
}
REPORTED = {
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
    "outcome_satisfaction": 99,
    "outcome_job_openings": 118,
    "outcome_line_registrations": 180,
}
NARRATIVE = {
    ("matching", "evaluation"): "全ての項目のアウトプット目標を達成。\n"
    "求人情報誌やLINEでの広報により、常設の相談窓口・出張相談会をPRした。",
    ("matching", "plan"): "出張相談会は、清水区3回、駿河区2回開催予定。",
    ("care", "evaluation"): "仕事説明会は、ハローワークと共催。",
    ("service", "evaluation"): "2月末時点で、全ての項目のアウトプット目標を達成。",
    ("community", "plan"): "ミドルシニアセミナーについて、施策を再度検討する。",
    ("outcome", "evaluation"): "概ね目標を上回る実績を上げることができた。",
}


async def build_r4(db: AsyncSession) -> Actor:
    admin = Actor.of(await make_staff(db, "admin"))
    organizer = await w.org(db, "NEXTワークしずおか", "organizer")
    hello_work = await w.org(db, "ハローワーク静岡", "cohost")
    employers = [await w.org(db, f"介護法人{x}", "employer") for x in "AB"]
    place = await w.venue(db)
    place.name = "清水区役所"
    outreach = await w.event(db, organizer, kind="consultation")
    outreach.title = "シニア向け就職相談会 in 清水区"
    s = await w.held_session(db, outreach, place, w.jst(2022, 9, 21))
    await w.bookings(db, s, checked_in=7, walk_ins=5)
    fair = await w.event(
        db,
        organizer,
        kind="job_fair",
        sector="care",
        cohosts=(hello_work,),
        employers=tuple(employers),
    )
    fair.title = "お仕事面談会②"
    s = await w.held_session(db, fair, place, w.jst(2023, 1, 18))
    await w.bookings(db, s, checked_in=9)
    seminar = await w.event(
        db, organizer, kind="seminar", sector="community", sub_kind="middle_senior"
    )
    seminar.title = "ミドルシニア向けセカンドキャリアセミナー"
    s = await w.held_session(db, seminar, place, w.jst(2023, 2, 15))
    await w.bookings(db, s, checked_in=15)
    await db.flush()
    repo = IndicatorRepository(db)
    for code, value in REPORTED.items():
        d = await repo.definition_by_code(code)
        assert d is not None
        await indicators.set_year_figure(
            db,
            admin,
            {"definition_id": d.id, "fiscal_year": 2022, "value": value - COUNTED.get(code, 0)},
        )
    for (section, part), body in NARRATIVE.items():
        await documents.save_narrative(
            db, admin, {"fiscal_year": 2022, "section": section, "part": part, "body": body}
        )
    await documents.save_exchange(
        db,
        admin,
        {"fiscal_year": 2022, "held_on": "2022-08-26", "method": "オンライン",
         "companies": "14", "participants": "68", "matches": "5"},
    )  # fmt: skip
    for year, rate in [(2021, "60"), (2020, "55"), (2019, "57.1"), (2018, "61.9")]:
        await documents.save_exchange(db, admin, {"fiscal_year": year, "rate": rate})
    await indicators.compile_year(db, 2022)
    await db.commit()
    return admin


async def r4_pdf(client: AsyncClient, db: AsyncSession) -> bytes:
    await build_r4(db)
    await web_login(client, db, await make_staff(db, "organizer"))
    r = await client.get("/manage/indicators/report.pdf?fy=2022")
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    return r.content


def normalized(text: str) -> str:
    return " ".join(text.split())


async def test_the_pdf_holds_every_row_of_r4_with_the_reports_figures(
    client: AsyncClient, db: AsyncSession, tmp_path: Path
) -> None:
    pdf = await r4_pdf(client, db)
    (tmp_path / "r4.pdf").write_bytes(pdf)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        pages = [normalized(p.extract_text() or "") for p in doc.pages]
        sizes = {(round(p.width), round(p.height)) for p in doc.pages}
        # Table rows, each cell's text without the line breaks wrapping put in.
        rows = {
            tuple("".join((cell or "").split()) for cell in row)
            for p in doc.pages
            for table in p.extract_tables()
            for row in table
        }
        # Column headings as laid out: 「R4の達成」 broke in two in its narrow column.
        headings = {cell for p in doc.pages for t in p.extract_tables() for cell in t[0] if cell}
    assert sizes == {(595, 842)}  # A4 portrait, in points
    assert "R4の達成" in headings and not [h for h in headings if "\n" in h], headings
    text = "\n".join(pages)
    cover = pages[0]
    assert "令和4年度" in cover and "NEXTワークしずおか" in cover
    assert re.search(r"集計日時 20\d\d年\d{1,2}月\d{1,2}日 \d{1,2}:\d\d", cover), cover
    cells = {row[-5:] for row in rows}
    for title, r4, r5, r6 in R4_ROWS:
        expected = tuple(v.replace(" ", "") for v in (title, r4, r5, r6, "達成"))
        assert expected in cells, title
    assert "未達成" not in text
    assert "※8月～3月末実績" in text
    # 【実施状況】 from the data: month, title, venue, participants, co-hosts.
    assert "2022年9月 シニア向け就職相談会 in 清水区（清水区役所） 参加 12人" in text
    assert "2023年1月 お仕事面談会②（清水区役所） 参加 9人 共催：ハローワーク静岡" in text
    assert "2023年2月 ミドルシニア向けセカンドキャリアセミナー（清水区役所） 参加 15人" in text
    # The narrative, per section, and the next year's 取組.
    for body in NARRATIVE.values():
        for line in body.splitlines():
            assert line in text, line
    assert "【令和5年度の取組】" in text
    # 新現役交流会 on its own page: no target table, the past years' rates as entered.
    exchange = next(p for p in pages if "新現役交流会" in p and "マッチング率" in p)
    for expected in [
        "2022年8月26日", "オンライン", "14社", "68人", "5社", "35.7%（14社中5社がマッチング）",
        "R3 R2 H31 H30", "60% 55% 57.1% 61.9%",
    ]:  # fmt: skip
        assert expected in exchange, expected
    assert "(-)" not in text
    # The chart, each bar labelled with its section.
    chart = pages[-1].replace(" ", "")
    for label in [
        "I支援企業（社）",
        "II仕事説明会参加企業（社）",
        "IVミドルシニアセミナー参加者（人）",
    ]:
        assert label in chart, label


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
async def test_the_pdf_embeds_its_japanese_fonts(
    client: AsyncClient, db: AsyncSession, tmp_path: Path
) -> None:
    path = tmp_path / "r4.pdf"
    path.write_bytes(await r4_pdf(client, db))
    out = subprocess.run(  # noqa: ASYNC221 - a short local tool run, in a test
        ["pdffonts", str(path)], capture_output=True, text=True, check=True
    )
    fonts = out.stdout.splitlines()[2:]
    assert fonts, out.stdout
    assert any("Noto-Sans-CJK-JP" in line for line in fonts), out.stdout
    # Columns: name type encoding emb sub uni object ID; every font embedded.
    assert all(line.split()[-5] == "yes" for line in fonts), out.stdout


async def test_the_console_offers_the_pdf_and_the_yearly_figures_have_no_months(
    client: AsyncClient, db: AsyncSession
) -> None:
    await build_r4(db)
    await web_login(client, db, await make_staff(db, "organizer"))
    page = (await client.get("/manage/indicators?fy=2022")).text
    assert "報告書（PDF）" in page and "/manage/indicators/report.pdf?fy=2022" in page
    assert "全ての項目のアウトプット目標を達成。" in page
    assert "回答 " not in page  # the report gives no count of answers: none is shown
    assert '<td class="num">—</td>' in page  # the months of a yearly figure: not known
    csv = (await client.get("/manage/indicators/csv?fy=2022")).content.decode("utf-8-sig")
    line = next(ln for ln in csv.split("\r\n") if "相談窓口での相談" in ln)
    assert "856" in line and line.count("—") == 8
    # A year nobody recorded: 「記録なし」, not "no participants yet".
    empty = (await client.get("/manage/indicators?fy=2021")).text
    assert "記録なし" in empty and "参加者はまだいません" not in empty


async def test_the_console_forms_for_the_document_save_audit_and_refuse_bad_input(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    from sqlalchemy import text

    from service.domain.indicators.survey import desk_survey_path

    await web_login(client, db, await make_staff(db, "organizer"))
    saved = await post_form(
        client,
        "/manage/indicators/narrative",
        {"fiscal_year": "2022", "section": "care", "part": "plan", "body": "介護助手を増やす。"},
    )
    assert saved.status_code == 303
    page = (await client.get("/manage/indicators/narrative?fy=2022")).text
    assert "介護助手を増やす。" in page and "【令和5年度の取組】" in page
    bad = await post_form(
        client, "/manage/indicators/exchange", {"fy": "2022", "fiscal_year": "2021", "rate": "150"}
    )
    assert bad.status_code == 422 and "0から100まで" in bad.text
    ok = await post_form(
        client, "/manage/indicators/exchange", {"fy": "2022", "fiscal_year": "2021", "rate": "60"}
    )
    assert ok.status_code == 303
    yearly = await post_form(
        client,
        "/manage/indicators/year-figures",
        {"fy": "2022", "fiscal_year": "2022", "definition_id": "999999", "value": "3"},
    )
    assert yearly.status_code == 422 and "has-error" in yearly.text
    actions = set(
        (
            await db.scalars(text("SELECT action FROM audit_log WHERE action LIKE 'indicators.%'"))
        ).all()
    )
    assert actions == {"indicators.narrative", "indicators.exchange"}
    # The records page lists each hand figure with its section, once, uncut; 全般 once.
    records = (await client.get("/manage/indicators/records?fy=2022")).text
    assert "I 支援企業（社）［窓口の記録に加算］" in records
    assert "II 支援企業（社）［窓口の記録に加算］" in records
    assert records.count(">全般<") == 1
    # A consultation with consent: its record page offers the desk survey's link.
    made = await post_form(
        client,
        "/manage/indicators/records",
        {"fy": "2022", "kind": "consultation", "occurred_on": "2022-09-01", "channel": "desk",
         "survey_consent": "1", "contact_email": "taro@example.jp"},
    )  # fmt: skip
    assert made.status_code == 303
    record_id, day = (
        await db.execute(text("SELECT id, occurred_on FROM desk_records ORDER BY id DESC LIMIT 1"))
    ).one()
    form = (await client.get(f"/manage/indicators/records/{record_id}")).text
    path = desk_survey_path(settings, record_id, day)
    assert path in form and "mailto:" in form
    # The link is the same one-question survey, about the desk.
    await db.execute(
        text("UPDATE desk_records SET occurred_on = current_date WHERE id = :i"), {"i": record_id}
    )
    await db.commit()
    today = await db.scalar(text("SELECT current_date"))
    survey = await client.get(desk_survey_path(settings, record_id, today))
    assert survey.status_code == 200 and "相談窓口をご利用いただき" in survey.text


async def test_a_long_unbroken_line_of_the_narrative_wraps_inside_the_page(
    client: AsyncClient, db: AsyncSession
) -> None:
    # A pasted address or a run of letters with no break: WeasyPrint ran it past the right
    # margin, where the page cut it (97 of 300 letters were left on the page).
    await build_r4(db)
    admin = await make_staff(db, "admin")
    word = "https://example.jp/" + "a" * 300
    await documents.save_narrative(
        db,
        Actor.of(admin),
        {"fiscal_year": 2022, "section": "matching", "part": "evaluation", "body": word},
    )
    await db.commit()
    await web_login(client, db, admin)
    r = await client.get("/manage/indicators/report.pdf?fy=2022")
    assert r.status_code == 200
    with pdfplumber.open(io.BytesIO(r.content)) as doc:
        page = next(p for p in doc.pages if "マッチング支援" in (p.extract_text() or ""))
        chars = [c for c in page.chars if c["text"] == "a"]
        text = "".join((page.extract_text() or "").split())
    assert word in text
    assert all(c["x1"] <= page.width - 14 * 72 / 25.4 + 1 for c in chars)
