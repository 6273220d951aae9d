"""The indicators through the staff API and the console: compile on demand (202, a worker
compiles), the JSON shape, co-host scoping, the report page, print view, CSV and chart, the
desk's record forms and definitions an admin changes (which recompiles)."""

from __future__ import annotations

import asyncio

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.indicators.repository import IndicatorRepository
from service.platform.settings import Settings
from tests.indicator_support import build_year
from tests.mail_support import arq_pool, run_worker
from tests.manage_support import bearer, issue_token, make_staff, post_form, web_login

R4 = "/api/v1/manage/indicators?fiscal_year=2022"


async def test_compile_on_demand_answers_202_and_a_worker_compiles(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    await build_year(db)
    organizer = await make_staff(db, "organizer")
    token = await issue_token(db, organizer)
    before = (await client.get(R4, headers=bearer(token))).json()
    assert before["compiled_at"] is None and before["stale"] is True
    assert all(i["actual"] is None for i in before["indicators"])

    r = await client.post(
        "/api/v1/manage/indicators/compile", json={"fiscal_year": 2022}, headers=bearer(token)
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert job_id.startswith("indicators:2022:")
    async with arq_pool(settings) as redis:
        # The dispatcher enqueues after commit, off the request path: a moment after the 202.
        for _ in range(100):
            if await redis.exists(f"arq:job:{job_id}"):
                break
            await asyncio.sleep(0.05)
        assert await redis.exists(f"arq:job:{job_id}")
    await run_worker(settings)

    body = (await client.get(R4, headers=bearer(token))).json()
    assert body["fiscal_year"] == 2022 and body["label"] == "令和4年度"
    assert body["compiled_at"] and body["stale"] is False
    assert body["note"] == "※8月～3月末実績"
    by_code = {i["code"]: i for i in body["indicators"]}
    assert len(by_code) == 21  # the R4 report's 20 rows and イベント満足度
    outreach = by_code["matching_outreach_participants"]
    assert outreach == {
        "code": "matching_outreach_participants",
        "name": "出張相談会参加者",
        "unit": "人",
        "section": "matching",
        "sector": "求人開拓、高齢者就労相談",
        "actual": 19,
        "target": 45,
        "achieved": False,
        "answers": None,
        "months": {
            "2022-08": 1, "2022-09": 16, "2022-10": 0, "2022-11": 0, "2022-12": 0,
            "2023-01": 0, "2023-02": 0, "2023-03": 2,
        },
    }  # fmt: skip
    assert by_code["outcome_satisfaction"]["actual"] == 66.7
    assert by_code["outcome_satisfaction"]["answers"] == 3
    assert {h["heard_from"]: h["people"] for h in body["heard_from"]} == {
        "dm": 60,
        "line": 8,
        "unknown": 9,
    }


async def test_a_bad_fiscal_year_is_named(client: AsyncClient, db: AsyncSession) -> None:
    token = await issue_token(db, await make_staff(db, "organizer"))
    r = await client.post(
        "/api/v1/manage/indicators/compile", json={"fiscal_year": "R4"}, headers=bearer(token)
    )
    assert r.status_code == 422
    assert r.json()["error"] == "validation_error" and "fiscal_year" in r.json()["fields"]
    r = await client.get("/api/v1/manage/indicators?fiscal_year=1999", headers=bearer(token))
    assert r.status_code in (400, 422)


async def test_co_host_api_sees_its_events_only(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    from service.domain.events.models import Organization
    from service.domain.indicators import service as indicators

    year = await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    org = await db.get(Organization, year.silver)
    cohost = await make_staff(db, "cohost", organization=org)
    body = (await client.get(R4, headers=bearer(await issue_token(db, cohost)))).json()
    by_code = {i["code"]: i for i in body["indicators"]}
    assert by_code["care_job_fair_participants"]["actual"] == 6
    assert by_code["matching_desk_consultations"]["actual"] is None
    r = await client.post(
        "/api/v1/manage/indicators/compile",
        json={"fiscal_year": 2022},
        headers=bearer(await issue_token(db, cohost)),
    )
    assert r.status_code == 403


async def test_report_page_print_csv_and_chart(client: AsyncClient, db: AsyncSession) -> None:
    from service.domain.indicators import service as indicators

    await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    await web_login(client, db, await make_staff(db, "organizer"))
    r = await client.get("/manage/indicators?fy=2022")
    assert r.status_code == 200
    html = r.text
    for expected in [
        "令和4年度 事業報告の指標",
        "I マッチング支援（プラットフォーム窓口運営）",
        "III 重点業種② サービス（警備、ビル・マンション管理、清掃）",
        "アウトカム評価",
        "出張相談会参加者（人）",
        "19 (45)",
        "- (75)",
        "相談窓口の利用満足度（%）",
        "66.7 (90)",
        "回答 3件",
        "※8月～3月末実績",
        "<svg",
        "月別の実績",
        "ダイレクトメール（DM）",
    ]:
        assert expected in html, expected
    assert "<script" not in html and "<style" not in html
    printed = await client.get("/manage/indicators/print?fy=2022")
    assert printed.status_code == 200 and "<svg" in printed.text and "19 (45)" in printed.text
    csv = await client.get("/manage/indicators/csv?fy=2022")
    assert csv.status_code == 200
    assert csv.content.startswith("\ufeff".encode())
    text = csv.content.decode("utf-8-sig")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    line = next(ln for ln in text.split("\r\n") if "出張相談会参加者" in ln)
    assert line.split(",")[4:7] == ["19", "45", "-"]


async def test_desk_record_forms_add_change_and_refuse_bad_input(
    client: AsyncClient, db: AsyncSession
) -> None:
    await web_login(client, db, await make_staff(db, "organizer"))
    r = await post_form(
        client,
        "/manage/indicators/records",
        {"fy": "2022", "kind": "consultation", "occurred_on": "2022-09-01", "channel": ""},
    )
    assert r.status_code == 422
    assert "相談の方法を選んでください。" in r.text
    r = await post_form(
        client,
        "/manage/indicators/records",
        {"kind": "job_opening", "occurred_on": "２０２２-０９-０１", "company": "<b>X社</b>",
         "quantity": "3"},
    )  # fmt: skip
    assert r.status_code == 303
    listing = await client.get("/manage/indicators/records?fy=2022")
    assert "&lt;b&gt;X社&lt;/b&gt;" in listing.text and "<b>X社" not in listing.text
    record_id = (await IndicatorRepository(db).records(
        __import__("datetime").date(2022, 4, 1), __import__("datetime").date(2023, 3, 31),
        None, 10, 0,
    ))[0][0].id  # fmt: skip
    r = await post_form(
        client,
        f"/manage/indicators/records/{record_id}",
        {"kind": "job_opening", "occurred_on": "2022-10-01", "company": "X社", "quantity": "4"},
    )
    assert r.status_code == 303
    db.expire_all()
    row = await IndicatorRepository(db).record(record_id)
    assert row is not None and row.quantity == 4


async def test_the_records_page_forms_answer_bad_input_with_their_errors_and_change_nothing(
    client: AsyncClient, db: AsyncSession
) -> None:
    """Each form of the records page (a record, a hand-counted figure, a paper answer) and the
    record's own edit form: 422, the form again with the field named, nothing written."""
    from sqlalchemy import text

    await web_login(client, db, await make_staff(db, "organizer"))
    ok = await post_form(
        client,
        "/manage/indicators/records",
        {"kind": "consultation", "occurred_on": "2022-09-01", "channel": "phone"},
    )
    assert ok.status_code == 303
    record_id = await db.scalar(text("SELECT max(id) FROM desk_records"))
    before = await db.scalar(text("SELECT count(*) FROM audit_log"))

    edit = await post_form(
        client,
        f"/manage/indicators/records/{record_id}",
        {"kind": "consultation", "occurred_on": "2022-13-45", "channel": "phone"},
    )
    assert edit.status_code == 422 and 'name="occurred_on"' in edit.text
    hand = await post_form(
        client, "/manage/indicators/hand-figures", {"fy": "2022", "definition_id": "999999"}
    )
    assert hand.status_code == 422 and "has-error" in hand.text
    answer = await post_form(
        client, "/manage/indicators/survey-answers", {"fy": "2022", "comment": "紙の回答"}
    )
    assert answer.status_code == 422 and "has-error" in answer.text
    assert 'value="紙の回答"' in answer.text  # what was typed stays in its form

    assert await db.scalar(text("SELECT count(*) FROM audit_log")) == before
    day = await db.scalar(
        text("SELECT occurred_on FROM desk_records WHERE id = :i"), {"i": record_id}
    )
    assert str(day) == "2022-09-01"
    assert await db.scalar(text("SELECT count(*) FROM survey_answers")) == 0


async def test_an_admin_changes_a_target_and_a_compiled_year_recompiles(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    from service.domain.indicators import service as indicators

    await build_year(db)
    await indicators.compile_year(db, 2022)
    await db.commit()
    assert 2022 not in await IndicatorRepository(db).stale_years()
    admin = await make_staff(db, "admin")
    token = await issue_token(db, admin)
    defs = (await client.get("/api/v1/manage/indicators/definitions", headers=bearer(token))).json()
    outreach = next(d for d in defs if d["code"] == "matching_outreach_participants")
    body = {k: outreach[k] for k in ("code", "name", "unit", "section", "measure", "policy")}
    body |= {"kinds": ["consultation"], "targets": {"2022": 10}}
    r = await client.put(
        f"/api/v1/manage/indicators/definitions/{outreach['id']}", json=body, headers=bearer(token)
    )
    assert r.status_code == 200, r.text
    assert 2022 in await IndicatorRepository(db).stale_years()
    await run_worker(settings)
    got = (await client.get(R4, headers=bearer(token))).json()
    row = next(i for i in got["indicators"] if i["code"] == "matching_outreach_participants")
    assert row["target"] == 10 and row["achieved"] is True and got["stale"] is False
    r = await client.post(
        f"/api/v1/manage/indicators/definitions/{outreach['id']}/retire", headers=bearer(token)
    )
    assert r.status_code == 200
    got = (await client.get(R4, headers=bearer(token))).json()
    assert "matching_outreach_participants" not in {i["code"] for i in got["indicators"]}
    organizer_token = await issue_token(db, await make_staff(db, "organizer"))
    r = await client.put(
        f"/api/v1/manage/indicators/definitions/{outreach['id']}",
        json=body,
        headers=bearer(organizer_token),
    )
    assert r.status_code == 403


async def test_an_admin_moves_the_reporting_window(client: AsyncClient, db: AsyncSession) -> None:
    from service.domain.indicators import service as indicators

    await build_year(db)
    token = await issue_token(db, await make_staff(db, "admin"))
    url = "/api/v1/manage/indicators/window"
    bad = await client.put(
        url, json={"fiscal_year": 2022, "starts_on": "2023-04-01"}, headers=bearer(token)
    )
    assert bad.status_code == 422 and "starts_on" in bad.json()["fields"]
    r = await client.put(
        url, json={"fiscal_year": 2022, "starts_on": "2022-10-01"}, headers=bearer(token)
    )
    assert r.status_code == 200
    await indicators.compile_year(db, 2022)
    await db.commit()
    body = (await client.get(R4, headers=bearer(token))).json()
    assert body["note"] == "※10月～3月末実績" and body["window_starts_on"] == "2022-10-01"
    outreach = next(i for i in body["indicators"] if i["code"] == "matching_outreach_participants")
    assert outreach["actual"] == 2 and next(iter(outreach["months"])) == "2022-10"
    organizer = await issue_token(db, await make_staff(db, "organizer"))
    r = await client.put(url, json={"fiscal_year": 2022}, headers=bearer(organizer))
    assert r.status_code == 403


async def test_a_desk_record_is_linked_to_a_person_from_their_page(
    client: AsyncClient, db: AsyncSession
) -> None:
    """「この方の相談・就業を記録」 on a person's page opens the record form filled for them; the
    record lands in their history; the edit form can unlink it; a person the desk does not know,
    a withdrawn one and a malformed number are refused by name, saving nothing."""
    from datetime import date

    from sqlalchemy import text

    from service.domain.bookings import service as bookings
    from tests.factories import make_session, person

    s = await make_session(db)
    view = await bookings.book(db, s.id, person(7))
    await db.commit()
    pid = await db.scalar(text("SELECT person_id FROM bookings WHERE id = :b"), {"b": view.id})
    await web_login(client, db, await make_staff(db, "organizer"))
    page = await client.get(f"/manage/people/{pid}")
    assert f"/manage/indicators/records?person={pid}" in page.text
    form = await client.get(f"/manage/indicators/records?person={pid}")
    assert f'name="person_id" value="{pid}" checked' in form.text
    assert "静岡 太郎7" in form.text and 'value="consultation" selected' in form.text
    day = date.today().isoformat()
    base = {"kind": "consultation", "occurred_on": day, "channel": "desk", "person_name": ""}
    r = await post_form(client, "/manage/indicators/records", {**base, "person_id": str(pid)})
    assert r.status_code == 303, r.text
    await db.rollback()
    rid, linked, name = (
        await db.execute(text("SELECT id, person_id, person_name FROM desk_records"))
    ).one()
    assert (linked, name) == (pid, "静岡 太郎7")
    history = (await client.get(f"/manage/people/{pid}")).text.split('id="history-h"')[1]
    assert "<td>相談</td>" in history

    edit = await client.get(f"/manage/indicators/records/{rid}")
    assert f'name="person_id" value="{pid}" checked' in edit.text
    r = await post_form(client, f"/manage/indicators/records/{rid}", {**base, "person_id": ""})
    assert r.status_code == 303, r.text
    await db.rollback()
    assert (
        await db.scalar(text("SELECT person_id FROM desk_records WHERE id = :r"), {"r": rid})
        is None
    )

    await db.execute(
        text("UPDATE persons SET phone = NULL, withdrawn_at = now() WHERE id = :p"), {"p": pid}
    )
    await db.commit()
    for bad, says in [
        (str(pid), "登録を取り消しています"),
        ("999999", "登録者が見つかりません"),
        ("12x", "登録者の番号が正しくありません"),
        ("99999999999999999999999", "登録者の番号が正しくありません"),
        ("-3", "登録者の番号が正しくありません"),
    ]:
        r = await post_form(client, "/manage/indicators/records", {**base, "person_id": bad})
        assert r.status_code == 422, (bad, r.text[:200])
        assert says in r.text, bad
    await db.rollback()
    assert await db.scalar(text("SELECT count(*) FROM desk_records")) == 1
    # A record linked before the person withdrew is still corrected as the edit form sends it.
    await db.execute(text("UPDATE desk_records SET person_id = :p"), {"p": pid})
    await db.commit()
    edit = await client.get(f"/manage/indicators/records/{rid}")
    assert f'name="person_id" value="{pid}" checked' in edit.text
    r = await post_form(
        client, f"/manage/indicators/records/{rid}", {**base, "person_id": str(pid), "note": "訂正"}
    )
    assert r.status_code == 303, r.text


async def test_the_api_links_keeps_and_unlinks_a_records_person(
    client: AsyncClient, db: AsyncSession
) -> None:
    from sqlalchemy import text

    from service.domain.bookings import service as bookings
    from tests.factories import make_session, person

    s = await make_session(db)
    view = await bookings.book(db, s.id, person(8))
    await db.commit()
    pid = await db.scalar(text("SELECT person_id FROM bookings WHERE id = :b"), {"b": view.id})
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    body = {"kind": "placement", "occurred_on": "2022-09-01", "company": "清水製作所",
            "senior": True, "person_id": pid}  # fmt: skip
    r = await client.post("/api/v1/manage/indicators/records", json=body, headers=headers)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["person_id"] == pid and r.json()["person_name"] == "静岡 太郎8"
    del body["person_id"]  # left out: kept
    r = await client.put(f"/api/v1/manage/indicators/records/{rid}", json=body, headers=headers)
    assert r.status_code == 200 and r.json()["person_id"] == pid
    r = await client.put(
        f"/api/v1/manage/indicators/records/{rid}", json={**body, "person_id": None},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["person_id"] is None
    r = await client.put(
        f"/api/v1/manage/indicators/records/{rid}", json={**body, "person_id": 2**63},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["fields"]["person_id"]
    for wrong in ("12", True, 1.5, [1]):  # not a number: refused by type, nothing changed
        r = await client.put(
            f"/api/v1/manage/indicators/records/{rid}", json={**body, "person_id": wrong},
            headers=headers,
        )  # fmt: skip
        assert r.status_code in (400, 422), (wrong, r.status_code, r.text)
    got = await client.get(f"/api/v1/manage/indicators/records/{rid}", headers=headers)
    assert got.json()["person_id"] is None
