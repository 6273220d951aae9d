"""Finding a person: the roster search by booking code (hyphens or not, full-width, the last
four digits), and /api/v1/manage/search across every event by code, phone (any format) or
name, newest session first, scoped for co-host staff. Against the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.normalize import format_code
from service.domain.rosters.service import parse_search
from tests.factories import make_event, make_session
from tests.manage_support import (
    SECRET_NAME,
    SECRET_PHONE,
    bearer,
    issue_token,
    make_staff,
    make_world,
    person,
)

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


async def _search(client: AsyncClient, headers: dict[str, str], q: str) -> Any:
    r = await client.get("/api/v1/manage/search", params={"q": q}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_the_code_is_recognised_in_every_spelling() -> None:
    for typed in (
        "123456789012",
        "1234-5678-9012",
        "１２３４－５６７８－９０１２",
        "1234 5678 9012",
    ):
        search = parse_search(typed)
        assert search is not None and search.code == "123456789012", typed
    tail = parse_search("９０１２")
    assert tail is not None and (tail.code, tail.code_tail) == (None, "9012")
    assert parse_search("12345") is not None and parse_search("12345").code_tail is None  # type: ignore[union-attr]
    name = parse_search("しずおか")
    assert name is not None and (name.code, name.code_tail) == (None, None)


async def test_the_roster_search_finds_the_booking_code(
    client: AsyncClient, db: AsyncSession
) -> None:
    session_id = (await make_session(db)).id
    wanted = await bookings.book(db, session_id, person(1))
    await bookings.book(db, session_id, person(2))
    await db.commit()
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    code = wanted.code
    for typed in (code, format_code(code), format_code(code).translate(FULL_WIDTH), code[-4:]):
        r = await client.get(
            f"/api/v1/manage/sessions/{session_id}/roster", params={"q": typed}, headers=headers
        )
        assert r.status_code == 200, r.text
        assert [e["id"] for e in r.json()["confirmed"]] == [wanted.id], typed


async def test_search_across_events_by_code_phone_and_name_newest_first(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, title="春の就職相談会")
    later = (await make_session(db, event=event, starts_in=timedelta(days=30))).id
    sooner = (await make_session(db, event=event, starts_in=timedelta(days=3))).id
    other = (await make_session(db, starts_in=timedelta(days=10))).id
    same_person = person(1, name="駿河 和子", name_kana="スルガ カズコ", phone="0542542770")
    first = await bookings.book(db, sooner, same_person)
    second = await bookings.book(db, later, same_person)
    third = await bookings.book(db, other, same_person)
    await bookings.book(db, other, person(2))
    await db.commit()
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))

    newest_first = [second.id, third.id, first.id]
    for q in ("054-254-2770", "０５４（２５４）２７７０", "駿河", "するが かずこ", "ｽﾙｶﾞ"):
        out = await _search(client, headers, q)
        assert [b["id"] for b in out["found"]] == newest_first, q
    found = (await _search(client, headers, format_code(third.code).translate(FULL_WIDTH)))["found"]
    assert [(b["id"], b["event_title"], b["session_id"]) for b in found] == [
        (third.id, "シニア向け就職相談会", other)
    ]
    assert third.id in [b["id"] for b in (await _search(client, headers, third.code[-4:]))["found"]]
    assert (await _search(client, headers, ""))["found"] == []
    assert (await _search(client, headers, "見つからない名前"))["found"] == []
    too_long = await client.get("/api/v1/manage/search", params={"q": "あ" * 101}, headers=headers)
    assert too_long.status_code in (400, 422)
    evil = await _search(client, headers, "%_\\'; DROP TABLE bookings;--")
    assert evil["found"] == []
    audit = await db.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'booking.search'"))
    assert audit and audit >= 8


async def test_a_cohost_finds_only_its_events_bookings(
    client: AsyncClient, db: AsyncSession
) -> None:
    world = await make_world(db)
    a = bearer(await issue_token(db, world.cohost_a))
    b = bearer(await issue_token(db, world.cohost_b))
    organizer = bearer(await issue_token(db, world.organizer))
    assert [x["id"] for x in (await _search(client, a, SECRET_PHONE))["found"]] == [world.booking_a]
    assert (await _search(client, b, SECRET_PHONE))["found"] == []
    assert (await _search(client, b, SECRET_NAME))["found"] == []
    assert [x["id"] for x in (await _search(client, organizer, SECRET_NAME))["found"]] == [
        world.booking_a
    ]
    # An unauthenticated caller gets nothing at all.
    r = await client.get("/api/v1/manage/search", params={"q": SECRET_NAME})
    assert r.status_code == 401
