"""Rosters and the day itself through the staff API: search, check-in, no-shows, phone bookings,
walk-ins, promoting, cancelling for someone, the CSV export and the audit trail."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.rosters.csv_export import safe_cell
from tests.factories import make_session
from tests.manage_support import bearer, issue_token, make_staff, move_session, person

PHONE_PERSON = {
    "name": "電話 花子",
    "name_kana": "でんわ はなこ",
    "phone": "０５４－２５４－２７７０",
    "age_band": "70_74",
}


async def _staff(db: AsyncSession, role: str = "organizer") -> tuple[dict[str, str], int]:
    user = await make_staff(db, role)
    return bearer(await issue_token(db, user)), user.id


async def _roster(
    client: AsyncClient, headers: dict[str, str], session_id: int, q: str = ""
) -> Any:
    r = await client.get(
        f"/api/v1/manage/sessions/{session_id}/roster",
        params={"q": q} if q else None,
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


async def _audit(db: AsyncSession, action: str) -> list[Any]:
    return list(
        (
            await db.execute(
                text(
                    "SELECT actor_id, entity_type, entity_id, before, after FROM audit_log "
                    "WHERE action = :a ORDER BY id"
                ),
                {"a": action},
            )
        ).all()
    )


async def test_roster_groups_orders_and_searches(client: AsyncClient, db: AsyncSession) -> None:
    headers, staff_id = await _staff(db)
    s = await make_session(db, capacity=2, waitlist_limit=3)
    people = [
        person(1, name="山田 太郎", name_kana="ヤマダ タロウ", phone="0542000001"),
        person(2, name="青木 花子", name_kana="アオキ ハナコ", phone="09011112222"),
        person(3, name="佐藤 一郎", name_kana="サトウ イチロウ", phone="0543000003"),
        person(4, name="鈴木 次郎", name_kana="スズキ ジロウ", phone="0544000004"),
        person(5, name="田中 三郎", name_kana="タナカ サブロウ", phone="0545000005"),
    ]
    made = [await bookings.book(db, s.id, p) for p in people]
    await bookings.cancel_booking_by_id(db, made[4].id, staff_id=staff_id, reason="体調不良")
    await db.commit()
    roster = await _roster(client, headers, s.id)
    # Confirmed by reading (アオキ before ヤマダ), waitlisted in order, cancelled.
    assert [e["name"] for e in roster["confirmed"]] == ["青木 花子", "山田 太郎"]
    assert [(e["name"], e["waitlist_position"]) for e in roster["waitlisted"]] == [
        ("佐藤 一郎", 1),
        ("鈴木 次郎", 2),
    ]
    assert [e["cancel_reason"] for e in roster["cancelled"]] == ["体調不良"]
    assert roster["session"]["capacity"] == 2

    for q, expected in [
        ("やまだ", ["山田 太郎"]),  # hiragana finds the katakana reading
        ("ﾔﾏﾀﾞ", ["山田 太郎"]),  # half-width kana
        ("山田太郎", ["山田 太郎"]),  # without the space
        ("090-1111-2222", ["青木 花子"]),  # phone with hyphens
        ("０９０１１１１", ["青木 花子"]),  # full-width digits, part of the number
        ("サトウ", ["佐藤 一郎"]),
        ("%", []),  # LIKE wildcards are matched literally
        ("_", []),
    ]:
        found = await _roster(client, headers, s.id, q)
        names = [e["name"] for e in found["confirmed"] + found["waitlisted"] + found["cancelled"]]
        assert names == expected, q
    too_long = await client.get(
        f"/api/v1/manage/sessions/{s.id}/roster", params={"q": "あ" * 101}, headers=headers
    )
    assert too_long.status_code in (400, 422)
    views = await _audit(db, "roster.view")
    assert views[0].actor_id == staff_id and views[0].entity_id == s.id
    assert views[1].after == {"query": "やまだ", "rows": 1}


async def test_check_in_one_tap_idempotent_and_undo(client: AsyncClient, db: AsyncSession) -> None:
    headers, staff_id = await _staff(db)
    s = await make_session(db, capacity=2, waitlist_limit=2)
    confirmed = await bookings.book(db, s.id, person(1))
    waiting = [await bookings.book(db, s.id, person(n)) for n in (2, 3, 4)][-1]
    await db.commit()
    url = f"/api/v1/manage/bookings/{confirmed.id}/check-in"
    early = await client.post(url, headers=headers)
    assert early.status_code == 409 and early.json()["error"] == "session_not_today"

    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    r = await client.post(url, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["checked_in_at"]
    again = await client.post(url, headers=headers)
    assert again.status_code == 200 and again.json()["checked_in_at"] == r.json()["checked_in_at"]
    assert len(await _audit(db, "booking.check_in")) == 1
    entry = (await _audit(db, "booking.check_in"))[0]
    assert entry.actor_id == staff_id and entry.before == {"checked_in_at": None}

    undo = await client.delete(url, headers=headers)
    assert undo.status_code == 200 and undo.json()["checked_in_at"] is None
    assert len(await _audit(db, "booking.undo_check_in")) == 1

    refused = await client.post(f"/api/v1/manage/bookings/{waiting.id}/check-in", headers=headers)
    assert refused.status_code == 409 and refused.json()["error"] == "booking_not_confirmed"
    missing = await client.post("/api/v1/manage/bookings/999999/check-in", headers=headers)
    assert missing.status_code == 404


async def test_no_shows_only_after_the_session(client: AsyncClient, db: AsyncSession) -> None:
    headers, _ = await _staff(db)
    s = await make_session(db, capacity=5)
    came, absent, other = [await bookings.book(db, s.id, person(n)) for n in (1, 2, 3)]
    await db.commit()
    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    await client.post(f"/api/v1/manage/bookings/{came.id}/check-in", headers=headers)
    early = await client.post(f"/api/v1/manage/bookings/{absent.id}/no-show", headers=headers)
    assert early.status_code == 409 and early.json()["error"] == "session_not_ended"

    await move_session(db, s.id, starts_in=timedelta(hours=-3))
    r = await client.post(f"/api/v1/manage/bookings/{absent.id}/no-show", headers=headers)
    assert r.status_code == 200 and r.json()["no_show_at"]
    checked = await client.post(f"/api/v1/manage/bookings/{came.id}/no-show", headers=headers)
    assert checked.status_code == 409 and checked.json()["error"] == "already_checked_in"
    undo = await client.delete(f"/api/v1/manage/bookings/{absent.id}/no-show", headers=headers)
    assert undo.status_code == 200 and undo.json()["no_show_at"] is None

    bulk = await client.post(f"/api/v1/manage/sessions/{s.id}/no-shows", headers=headers)
    assert bulk.status_code == 200 and bulk.json()["marked"] == 2
    marks = dict(
        (
            await db.execute(
                text("SELECT id, no_show_at IS NOT NULL FROM bookings WHERE session_id = :s"),
                {"s": s.id},
            )
        ).all()
    )
    assert marks == {came.id: False, absent.id: True, other.id: True}
    # A latecomer marked no-show can still be checked in; the mark goes.
    late = await client.post(f"/api/v1/manage/bookings/{other.id}/check-in", headers=headers)
    assert late.status_code == 200
    assert late.json()["no_show_at"] is None and late.json()["checked_in_at"]


async def test_phone_booking_follows_the_web_rules(client: AsyncClient, db: AsyncSession) -> None:
    headers, staff_id = await _staff(db)
    s = await make_session(db, capacity=1, waitlist_limit=1)
    url = f"/api/v1/manage/sessions/{s.id}/phone-bookings"
    r = await client.post(url, json=PHONE_PERSON, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "confirmed" and body["channel"] == "phone"
    assert body["name_kana"] == "デンワ ハナコ" and body["phone"] == "0542542770"
    assert body["email"] is None
    assert re.fullmatch(r"\d{12}", body["code"]), body["code"]
    row = (
        await db.execute(
            text("SELECT created_by_id, channel FROM bookings WHERE id = :b"), {"b": body["id"]}
        )
    ).one()
    assert row.created_by_id == staff_id and row.channel == "phone"
    # The same phone twice is refused, like on the web.
    dup = await client.post(url, json=PHONE_PERSON, headers=headers)
    assert dup.status_code == 409 and dup.json()["error"] == "already_booked"
    # Full: the next caller goes on the waiting list, then the list is full.
    second = await client.post(url, json={**PHONE_PERSON, "phone": "054-111-2222"}, headers=headers)
    assert second.json()["status"] == "waitlisted" and second.json()["waitlist_position"] == 1
    third = await client.post(url, json={**PHONE_PERSON, "phone": "054-111-3333"}, headers=headers)
    assert third.status_code == 409 and third.json()["error"] == "waitlist_full"
    bad = await client.post(
        url, json={**PHONE_PERSON, "phone": "12", "name_kana": "山田"}, headers=headers
    )
    assert bad.status_code == 422 and {"phone", "name_kana"} <= set(bad.json()["fields"])
    notice = await db.scalar(
        text("SELECT kind FROM notifications WHERE booking_id = :b"), {"b": body["id"]}
    )
    assert notice == "booking_confirmed"
    audit = await _audit(db, "booking.phone")
    assert [a.entity_id for a in audit] == [body["id"], second.json()["id"]]
    assert audit[0].after["channel"] == "phone" and audit[0].before is None


async def test_phone_booking_refused_when_booking_is_closed(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers, _ = await _staff(db)
    s = await make_session(db)
    await move_session(db, s.id, starts_in=timedelta(minutes=30))
    r = await client.post(
        f"/api/v1/manage/sessions/{s.id}/phone-bookings", json=PHONE_PERSON, headers=headers
    )
    assert r.status_code == 409 and r.json()["error"] == "booking_closed"


async def test_walk_ins_at_the_door(client: AsyncClient, db: AsyncSession) -> None:
    headers, staff_id = await _staff(db)
    s = await make_session(db, capacity=2, waitlist_limit=0)
    booked = await bookings.book(db, s.id, person(1))
    await db.commit()
    url = f"/api/v1/manage/sessions/{s.id}/walk-ins"
    walker = {"name": "当日 参加", "name_kana": "トウジツ サンカ", "phone": "090-5555-0001"}
    early = await client.post(url, json=walker, headers=headers)
    assert early.status_code == 409 and early.json()["error"] == "session_not_today"

    # On the day, after booking has closed: the door is still open.
    await move_session(db, s.id, starts_in=timedelta(seconds=-1))
    r = await client.post(url, json=walker, headers=headers)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["status"], first["channel"], first["capacity_override"]) == (
        "confirmed",
        "walk_in",
        False,
    )
    assert first["checked_in_at"]  # standing at the door
    full = await client.post(url, json={**walker, "phone": "090-5555-0002"}, headers=headers)
    assert full.status_code == 409 and full.json()["error"] == "session_full"
    assert "定員を超えて受け付ける" in full.json()["message"]
    over = await client.post(
        url, json={**walker, "phone": "090-5555-0002", "override": True}, headers=headers
    )
    assert over.status_code == 201
    assert over.json()["capacity_override"] is True and over.json()["checked_in_at"]
    same = await client.post(url, json={**walker, "phone": booked.phone}, headers=headers)
    assert same.status_code == 409 and same.json()["error"] == "already_booked"

    seats = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE session_id = :s AND booking_id IS NOT NULL"),
        {"s": s.id},
    )
    assert seats == 2  # the override took no seat
    audit = await _audit(db, "booking.walk_in")
    assert [a.after["capacity_override"] for a in audit] == [False, True]
    assert {a.actor_id for a in audit} == {staff_id}

    await move_session(db, s.id, starts_in=timedelta(hours=-3))
    late = await client.post(url, json={**walker, "phone": "090-5555-0003"}, headers=headers)
    assert late.status_code == 409 and late.json()["error"] == "session_past"


async def test_promote_and_cancel_for_someone(client: AsyncClient, db: AsyncSession) -> None:
    headers, staff_id = await _staff(db)
    s = await make_session(db, capacity=1, waitlist_limit=3)
    first, second, third = [await bookings.book(db, s.id, person(n)) for n in (1, 2, 3)]
    await db.commit()
    full = await client.post(f"/api/v1/manage/bookings/{third.id}/promote", headers=headers)
    assert full.status_code == 409 and full.json()["error"] == "session_full"
    r = await client.post(
        f"/api/v1/manage/bookings/{third.id}/promote", json={"override": True}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert r.json()["capacity_override"] is True
    not_waiting = await client.post(f"/api/v1/manage/bookings/{first.id}/promote", headers=headers)
    assert not_waiting.status_code == 409 and not_waiting.json()["error"] == "not_waitlisted"

    url = f"/api/v1/manage/bookings/{first.id}/cancel"
    no_reason = await client.post(url, json={"reason": ""}, headers=headers)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["fields"]
    r = await client.post(url, json={"reason": "ご本人から電話で取消の連絡"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancel_reason"] == "ご本人から電話で取消の連絡"
    # The freed seat goes to the first in line.
    assert (
        await db.scalar(text("SELECT status FROM bookings WHERE id = :b"), {"b": second.id})
        == "confirmed"
    )
    cancelled_by = await db.scalar(
        text("SELECT cancelled_by_id FROM bookings WHERE id = :b"), {"b": first.id}
    )
    assert cancelled_by == staff_id
    twice = await client.post(url, json={"reason": "再度"}, headers=headers)
    assert twice.status_code == 409 and twice.json()["error"] == "already_cancelled"
    cancel_audit = (await _audit(db, "booking.cancel"))[0]
    assert cancel_audit.before["status"] == "confirmed"
    assert cancel_audit.after["status"] == "cancelled"
    promote_audit = (await _audit(db, "booking.promote"))[0]
    assert promote_audit.before == {
        "status": "waitlisted",
        "waitlist_position": 2,
        "capacity_override": False,
    }
    assert promote_audit.after == {
        "status": "confirmed",
        "waitlist_position": None,
        "capacity_override": True,
    }


async def test_csv_export_opens_in_excel_and_is_safe(client: AsyncClient, db: AsyncSession) -> None:
    headers, staff_id = await _staff(db)
    s = await make_session(db, capacity=3, waitlist_limit=2)
    await bookings.book(db, s.id, person(1, name='=HYPERLINK("http://evil.example","x")'))
    await bookings.book(db, s.id, person(2, name="@SUM(1+1)", name_kana="アア"))
    await bookings.book(db, s.id, person(3, name='山田, "タロウ"\n改行', name_kana="ヤマダ"))
    cancelled = await bookings.book(db, s.id, person(4, name="+取消 する"))
    await bookings.cancel_booking_by_id(db, cancelled.id, staff_id=staff_id, reason="-1 日前の連絡")
    await db.commit()
    r = await client.get(f"/api/v1/manage/sessions/{s.id}/roster.csv", headers=headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["cache-control"] == "no-store"
    raw = r.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads it as UTF-8
    text_ = raw.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text_, newline="")))
    assert text_.endswith("\r\n") and text_.count("\r\n") == len(rows)  # CRLF records
    assert rows[0][:6] == ["予約番号", "状態", "待ち順", "氏名", "フリガナ", "電話番号"]
    names = [row[3] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","x")' in names
    assert "'@SUM(1+1)" in names
    assert "'+取消 する" in names
    assert '山田, "タロウ"\n改行' in names  # quoted, so commas and quotes survive
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    cancelled_row = next(row for row in rows if row[3] == "'+取消 する")
    assert cancelled_row[1] == "取消" and cancelled_row[15] == "'-1 日前の連絡"
    assert rows[1][5].startswith("090-")  # the phone as people write it, kept as text
    exports = await _audit(db, "roster.export")
    assert exports[0].actor_id == staff_id and exports[0].after["rows"] == 4


def test_safe_cell() -> None:
    for cell in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert safe_cell(cell).startswith("'")
    for cell in ("山田", "054-254-2770", "1-2", "", "'quoted"):
        assert safe_cell(cell) == cell


async def test_audit_log_is_readable_by_admins(client: AsyncClient, db: AsyncSession) -> None:
    admin_headers, _ = await _staff(db, "admin")
    organizer_headers, _ = await _staff(db)
    s = await make_session(db)
    await client.get(f"/api/v1/manage/sessions/{s.id}/roster", headers=organizer_headers)
    r = await client.get(
        "/api/v1/manage/audit", params={"action": "roster."}, headers=admin_headers
    )
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["action"] == "roster.view" and item["entity_type"] == "session"
    assert item["entity_id"] == s.id and item["actor"]
    assert (await client.get("/api/v1/manage/audit", headers=organizer_headers)).status_code == 403
    paged = await client.get(
        "/api/v1/manage/audit", params={"per_page": 1, "page": 2}, headers=admin_headers
    )
    assert paged.status_code == 200 and paged.json()["page"] == 2
