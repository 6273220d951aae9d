"""GET /api/v1/events and /api/v1/events/{id}: published, upcoming events with live availability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.local_time import TOKYO
from tests.factories import make_event, make_session, make_venue


async def events(client: AsyncClient, **params: Any) -> Any:
    r = await client.get("/api/v1/events", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def titles(page: Any) -> list[str]:
    return [e["title"] for e in page["items"]]


async def book(client: AsyncClient, session_id: int, n: int) -> Any:
    body = {"name": f"太郎{n}", "name_kana": "タロウ", "phone": f"0542{n:06d}"}
    return await client.post(f"/api/v1/sessions/{session_id}/bookings", json=body)


async def test_lists_published_upcoming_events_with_live_availability(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, title="清水区 出張相談会")
    s = await make_session(db, event=event, capacity=2, waitlist_limit=1)
    await make_session(db, event=await make_event(db, title="下書き", status="draft"))
    await make_session(
        db,
        event=await make_event(db, title="終わった会"),
        starts_in=timedelta(days=-2),
        closes_before_start=timedelta(days=1),
        opened_ago=timedelta(days=10),
    )

    page = await events(client)
    assert titles(page) == ["清水区 出張相談会"]
    assert (page["total"], page["page"], page["pages"]) == (1, 1, 1)
    session = page["items"][0]["sessions"][0]
    assert session["id"] == s.id
    assert (session["capacity"], session["confirmed"], session["seats_left"]) == (2, 0, 2)
    assert (session["waitlist_length"], session["waitlist_limit"]) == (0, 1)
    assert (session["state"], session["is_open"]) == ("open", True)
    assert session["starts_at"].endswith("+09:00")
    assert page["items"][0]["kind_label"] == "出張相談会"

    for n in range(2):
        assert (await book(client, s.id, n)).status_code == 201
    session = (await events(client))["items"][0]["sessions"][0]
    assert (session["confirmed"], session["seats_left"], session["state"]) == (2, 0, "waitlist")
    assert (await book(client, s.id, 2)).json()["status"] == "waitlisted"
    session = (await events(client))["items"][0]["sessions"][0]
    assert (session["waitlist_length"], session["waitlist_left"]) == (1, 0)
    assert (session["state"], session["is_open"]) == ("full", False)


async def test_no_personal_data_in_the_listing(client: AsyncClient, db: AsyncSession) -> None:
    s = await make_session(db)
    assert (await book(client, s.id, 1)).status_code == 201
    r = await client.get("/api/v1/events")
    assert "太郎1" not in r.text and "0542000001" not in r.text
    r = await client.get(f"/api/v1/events/{s.event_id}")
    assert "太郎1" not in r.text and "0542000001" not in r.text


async def test_filters_combine(client: AsyncClient, db: AsyncSession) -> None:
    care = await make_event(db, title="介護の面談会", kind="job_fair", sector="care")
    await make_session(db, event=care, venue=await make_venue(db, ward="aoi"))
    seminar = await make_event(db, title="セカンドキャリア", kind="seminar", sector="community")
    await make_session(
        db, event=seminar, venue=await make_venue(db, ward="suruga"), starts_in=timedelta(days=30)
    )

    assert titles(await events(client, sector="care")) == ["介護の面談会"]
    assert titles(await events(client, kind="seminar")) == ["セカンドキャリア"]
    assert titles(await events(client, ward="suruga")) == ["セカンドキャリア"]
    assert titles(await events(client, ward="suruga", kind="job_fair")) == []
    assert titles(await events(client)) == ["介護の面談会", "セカンドキャリア"]

    in_20_days = (datetime.now(UTC) + timedelta(days=20)).astimezone(TOKYO).date()
    assert titles(await events(client, date_from=in_20_days.isoformat())) == ["セカンドキャリア"]
    assert titles(await events(client, date_to=in_20_days.isoformat())) == ["介護の面談会"]
    day = (datetime.now(UTC) + timedelta(days=30)).astimezone(TOKYO).date().isoformat()
    assert titles(await events(client, date_from=day, date_to=day)) == ["セカンドキャリア"]


async def test_pagination(client: AsyncClient, db: AsyncSession) -> None:
    for n in range(5):
        await make_session(
            db, event=await make_event(db, title=f"会{n}"), starts_in=timedelta(days=10 + n)
        )
    first = await events(client, per_page=2)
    assert titles(first) == ["会0", "会1"]
    assert (first["total"], first["pages"]) == (5, 3)
    assert titles(await events(client, per_page=2, page=3)) == ["会4"]
    assert titles(await events(client, per_page=2, page=4)) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sector": "space"}, "sector"),
        ({"kind": "<script>"}, "kind"),
        ({"ward": "葵区"}, "ward"),
        ({"page": "0"}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": str(10**30)}, "page"),
        ({"per_page": "1000"}, "per_page"),
        ({"date_from": "2025-13-01"}, "date_from"),
        ({"date_from": "2030-01-02", "date_to": "2030-01-01"}, "date_to"),
    ],
)
async def test_bad_filters_name_the_field(
    client: AsyncClient, params: dict[str, str], field: str
) -> None:
    r = await client.get("/api/v1/events", params=params)
    assert r.status_code in (400, 422)
    assert field in r.json()["fields"], r.text


async def test_one_event(client: AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db, title="介護のいろは研修", kind="training", sector="care")
    first = await make_session(db, event=event, starts_in=timedelta(days=3))
    second = await make_session(db, event=event, starts_in=timedelta(days=4), capacity=5)
    await db.execute(
        text("UPDATE sessions SET status = 'cancelled' WHERE id = :s"), {"s": second.id}
    )
    await db.commit()

    r = await client.get(f"/api/v1/events/{event.id}")
    assert r.status_code == 200
    out = r.json()
    assert (out["title"], out["sector_label"]) == ("介護のいろは研修", "介護")
    assert [s["id"] for s in out["sessions"]] == [first.id, second.id]
    assert [s["state"] for s in out["sessions"]] == ["open", "cancelled"]
    assert out["sessions"][0]["venue"]["ward_label"] == "清水区"
    # Set by no one yet: free, for anyone, no arrival guidance.
    assert (out["fee_yen"], out["audience"], out["arrival_note"]) == (0, "", "")


async def test_fee_audience_and_arrival_note_as_the_event_page_shows_them(
    client: AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, title="介護のいろは研修", kind="training", sector="care")
    await make_session(db, event=event, starts_in=timedelta(days=3))
    event.fee_yen = 500
    event.audience = "介護の仕事に関心のある50歳以上の方"
    event.arrival_note = "午前は混み合います。14時以降がおすすめです。"
    await db.commit()

    one = (await client.get(f"/api/v1/events/{event.id}")).json()
    listed = (await events(client))["items"][0]
    for out in (one, listed):
        assert out["fee_yen"] == 500
        assert out["audience"] == "介護の仕事に関心のある50歳以上の方"
        assert out["arrival_note"] == "午前は混み合います。14時以降がおすすめです。"


@pytest.mark.parametrize("path", ["draft", "999999", "123456789012345678901234567890", "0"])
async def test_unknown_or_unpublished_event_is_404(
    client: AsyncClient, db: AsyncSession, path: str
) -> None:
    if path == "draft":
        path = str((await make_event(db, status="draft")).id)
        await db.commit()
    r = await client.get(f"/api/v1/events/{path}")
    assert r.status_code == 404
    assert r.json()["error"] == "event_not_found"
