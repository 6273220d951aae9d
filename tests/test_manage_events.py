"""Events and sessions through the staff API: create, edit, publish, cancel, capacity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.events import service as events
from service.platform.local_time import TOKYO
from tests.factories import make_org, make_venue
from tests.manage_support import bearer, issue_token, make_staff, person


async def _organizer(db: AsyncSession) -> dict[str, str]:
    if await db.scalar(text("SELECT count(*) FROM organizations WHERE kind = 'organizer'")) == 0:
        await make_org(db, "NEXTワークしずおか", kind="organizer")
        await db.commit()
    return bearer(await issue_token(db, await make_staff(db, "organizer")))


def _event_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "お仕事面談会（介護のお仕事）",
        "kind": "job_fair",
        "sector": "care",
        "description": "介護助手のお仕事を直接聞けます。",
        "tags": ["care"],
        "contact": "NEXTワークしずおか",
        "what_to_bring": "筆記用具",
    }
    body.update(changes)
    return body


def _session_body(
    venue_id: int, *, days: int = 10, capacity: int = 3, **changes: Any
) -> dict[str, Any]:
    start = (datetime.now(TOKYO) + timedelta(days=days)).replace(
        hour=13, minute=30, second=0, microsecond=0
    )
    body: dict[str, Any] = {
        "venue_id": venue_id,
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),  # no offset: Japan time
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "capacity": capacity,
        "waitlist_limit": 2,
    }
    body.update(changes)
    return body


async def _event_with_session(
    client: AsyncClient, db: AsyncSession, headers: dict[str, str], *, capacity: int = 3
) -> tuple[int, int]:
    venue = await make_venue(db)
    await db.commit()
    event_id = (
        await client.post("/api/v1/manage/events", json=_event_body(), headers=headers)
    ).json()["id"]
    r = await client.post(
        f"/api/v1/manage/events/{event_id}/sessions",
        json=_session_body(venue.id, capacity=capacity),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    published = await client.post(f"/api/v1/manage/events/{event_id}/publish", headers=headers)
    assert published.status_code == 200, published.text
    return event_id, r.json()["id"]


async def test_create_event_with_two_sessions_and_publish(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    hw = await make_org(db, "ハローワーク静岡", kind="cohost")
    employer = await make_org(db, "デイサービスするが", kind="employer")
    venue = await make_venue(db)
    await db.commit()
    r = await client.post(
        "/api/v1/manage/events",
        json=_event_body(cohost_ids=[hw.id], employer_ids=[employer.id]),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    event_id = r.json()["id"]
    # A draft is not public, and cannot be published without a session.
    assert (await client.get(f"/api/v1/events/{event_id}")).status_code == 404
    r = await client.post(f"/api/v1/manage/events/{event_id}/publish", headers=headers)
    assert r.status_code == 409 and r.json()["error"] == "event_has_no_sessions"

    ids = []
    for days in (10, 11):
        r = await client.post(
            f"/api/v1/manage/events/{event_id}/sessions",
            json=_session_body(venue.id, days=days, capacity=15),
            headers=headers,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    seats = await db.scalar(
        text("SELECT count(*) FROM session_seats WHERE session_id = ANY(:ids)"), {"ids": ids}
    )
    assert seats == 30
    r = await client.post(f"/api/v1/manage/events/{event_id}/publish", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "published"

    public = await events.get_event(db, event_id)
    assert [s.seats_left for s in public.sessions] == [15, 15]
    assert [o.name for o in public.cohosts] == ["ハローワーク静岡"]
    assert [o.name for o in public.employers] == ["デイサービスするが"]
    start = public.sessions[0].starts_at.astimezone(TOKYO)
    assert (start.hour, start.minute) == (13, 30)  # read as Japan time
    # Bookable at once: the booking window defaults to "from now until the start".
    assert public.sessions[0].bookable
    view = await bookings.book(db, ids[0], person(1))
    assert view.status == "confirmed"


async def test_event_input_errors_name_their_fields(client: AsyncClient, db: AsyncSession) -> None:
    headers = await _organizer(db)
    employer = await make_org(db, "株式会社テスト", kind="employer")
    await db.commit()
    r = await client.post(
        "/api/v1/manage/events",
        json=_event_body(title="  ", kind="party", sector="", cohost_ids=[employer.id]),
        headers=headers,
    )
    assert r.status_code == 422
    fields = r.json()["fields"]
    assert set(fields) == {"title", "kind", "sector", "cohost_ids"}
    assert "イベント名" in fields["title"]
    r = await client.post(
        "/api/v1/manage/events", json=_event_body(title="x" * 201), headers=headers
    )
    assert r.status_code == 422 and "title" in r.json()["fields"]
    r = await client.post(
        "/api/v1/manage/events", json={**_event_body(), "unknown": 1}, headers=headers
    )
    assert r.status_code in (400, 422)
    assert await db.scalar(text("SELECT count(*) FROM events")) == 0


async def test_session_input_errors(client: AsyncClient, db: AsyncSession) -> None:
    headers = await _organizer(db)
    venue = await make_venue(db)
    await db.commit()
    event_id = (
        await client.post("/api/v1/manage/events", json=_event_body(), headers=headers)
    ).json()["id"]
    url = f"/api/v1/manage/events/{event_id}/sessions"
    good = _session_body(venue.id)
    cases = [
        ({"capacity": -1}, "capacity"),
        ({"capacity": 100_000}, "capacity"),
        ({"waitlist_limit": -3}, "waitlist_limit"),
        ({"ends_at": good["starts_at"]}, "ends_at"),
        ({"venue_id": 999_999}, "venue_id"),
        ({"starts_at": "2001-01-01T10:00", "ends_at": "2001-01-01T12:00"}, "starts_at"),
        (
            {"booking_closes_at": "2000-01-01T10:00", "booking_opens_at": "2000-02-01T10:00"},
            "booking_closes_at",
        ),
    ]
    for change, field in cases:
        r = await client.post(url, json={**good, **change}, headers=headers)
        assert r.status_code == 422, (change, r.text)
        assert field in r.json().get("fields", {}), (change, r.json())
    r = await client.post(url, json={**good, "starts_at": "来週の月曜"}, headers=headers)
    assert r.status_code in (400, 422)
    assert await db.scalar(text("SELECT count(*) FROM sessions")) == 0


async def test_lowering_capacity_below_confirmed_is_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    _, session_id = await _event_with_session(client, db, headers, capacity=3)
    for n in range(3):
        await bookings.book(db, session_id, person(n))
    await db.commit()
    venue_id = await db.scalar(
        text("SELECT venue_id FROM sessions WHERE id = :s"), {"s": session_id}
    )
    current = await db.execute(
        text("SELECT starts_at, ends_at FROM sessions WHERE id = :s"), {"s": session_id}
    )
    starts, ends = current.one()
    body = {
        "venue_id": venue_id,
        "starts_at": starts.isoformat(),
        "ends_at": ends.isoformat(),
        "capacity": 2,
        "waitlist_limit": 2,
    }
    r = await client.put(f"/api/v1/manage/sessions/{session_id}", json=body, headers=headers)
    assert r.status_code == 409
    assert r.json()["error"] == "capacity_below_confirmed"
    assert "3人" in r.json()["message"]
    assert r.json()["fields"]["capacity"]
    assert (
        await db.scalar(text("SELECT capacity FROM sessions WHERE id = :s"), {"s": session_id}) == 3
    )


async def test_raising_capacity_promotes_from_the_waiting_list_in_order(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    _, session_id = await _event_with_session(client, db, headers, capacity=1)
    first = await bookings.book(db, session_id, person(1))
    waiting = [await bookings.book(db, session_id, person(n)) for n in (2, 3)]
    await db.commit()
    assert [w.waitlist_position for w in waiting] == [1, 2]
    row = (
        await db.execute(
            text("SELECT venue_id, starts_at, ends_at FROM sessions WHERE id = :s"),
            {"s": session_id},
        )
    ).one()
    body = {
        "venue_id": row.venue_id,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "capacity": 2,
        "waitlist_limit": 2,
    }
    r = await client.put(f"/api/v1/manage/sessions/{session_id}", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["promoted_booking_ids"] == [waiting[0].id]
    states = dict(
        (
            await db.execute(
                text("SELECT id, status FROM bookings WHERE session_id = :s"), {"s": session_id}
            )
        ).all()
    )
    assert states == {
        first.id: "confirmed",
        waiting[0].id: "confirmed",
        waiting[1].id: "waitlisted",
    }
    assert (
        await db.scalar(
            text("SELECT waitlist_position FROM bookings WHERE id = :b"), {"b": waiting[1].id}
        )
        == 1
    )
    audit = (
        await db.execute(
            text("SELECT before, after FROM audit_log WHERE action = 'session.update'")
        )
    ).one()
    assert audit.before == {"capacity": 1} and audit.after["capacity"] == 2
    assert audit.after["promoted_booking_ids"] == [waiting[0].id]


async def test_waitlist_limit_cannot_drop_below_those_waiting(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    _, session_id = await _event_with_session(client, db, headers, capacity=1)
    for n in range(3):
        await bookings.book(db, session_id, person(n))
    await db.commit()
    row = (
        await db.execute(
            text("SELECT venue_id, starts_at, ends_at FROM sessions WHERE id = :s"),
            {"s": session_id},
        )
    ).one()
    body = {
        "venue_id": row.venue_id,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "capacity": 1,
        "waitlist_limit": 1,
    }
    r = await client.put(f"/api/v1/manage/sessions/{session_id}", json=body, headers=headers)
    assert r.status_code == 409 and r.json()["error"] == "waitlist_limit_below_waiting"


async def test_cancelling_a_session_keeps_bookings_and_notifies_each_person(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    _, session_id = await _event_with_session(client, db, headers, capacity=2)
    made = [await bookings.book(db, session_id, person(n)) for n in range(4)]
    await bookings.cancel_booking_by_id(db, made[3].id, staff_id=None, reason="都合")  # type: ignore[arg-type]
    await db.commit()
    url = f"/api/v1/manage/sessions/{session_id}/cancel"
    r = await client.post(url, json={"reason": "  "}, headers=headers)
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    r = await client.post(url, json={"reason": "台風のため中止します"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["cancelled_bookings"] == 3

    rows = (
        await db.execute(
            text(
                "SELECT id, status, cancel_reason, waitlist_position FROM bookings "
                "WHERE session_id = :s ORDER BY id"
            ),
            {"s": session_id},
        )
    ).all()
    assert len(rows) == 4  # kept, not deleted
    assert {r.status for r in rows} == {"cancelled"}
    assert [r.cancel_reason for r in rows[:3]] == ["台風のため中止します"] * 3
    notices = (
        await db.execute(
            text(
                "SELECT booking_id, dedup_key FROM notifications "
                "WHERE kind = 'session_cancelled' ORDER BY booking_id"
            )
        )
    ).all()
    assert [(n.booking_id, n.dedup_key) for n in notices] == [
        (b.id, f"session_cancelled:{b.id}") for b in made[:3]
    ]
    session = (
        await db.execute(
            text("SELECT status, waitlist_count, cancel_reason FROM sessions WHERE id = :s"),
            {"s": session_id},
        )
    ).one()
    assert session.status == "cancelled" and session.waitlist_count == 0
    assert (
        await db.scalar(
            text(
                "SELECT count(*) FROM session_seats "
                "WHERE session_id = :s AND booking_id IS NOT NULL"
            ),
            {"s": session_id},
        )
        == 0
    )
    # Nobody can book a cancelled session, and cancelling twice is refused.
    again = await client.post(url, json={"reason": "再度"}, headers=headers)
    assert again.status_code == 409
    audit = (
        await db.execute(text("SELECT after FROM audit_log WHERE action = 'session.cancel'"))
    ).one()
    assert sorted(audit.after["cancelled_booking_ids"]) == [b.id for b in made[:3]]


async def test_cancelling_an_event_cancels_every_session(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    event_id, session_id = await _event_with_session(client, db, headers)
    venue_id = await db.scalar(
        text("SELECT venue_id FROM sessions WHERE id = :s"), {"s": session_id}
    )
    r = await client.post(
        f"/api/v1/manage/events/{event_id}/sessions",
        json=_session_body(venue_id, days=12),
        headers=headers,
    )
    second = r.json()["id"]
    booked = await bookings.book(db, second, person(5))
    await db.commit()
    r = await client.post(
        f"/api/v1/manage/events/{event_id}/cancel", json={"reason": "会場の都合"}, headers=headers
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert {s["status"] for s in r.json()["sessions"]} == {"cancelled"}
    assert (
        await db.scalar(text("SELECT status FROM bookings WHERE id = :b"), {"b": booked.id})
        == "cancelled"
    )
    assert (await client.get(f"/api/v1/events/{event_id}")).status_code == 404


async def test_editing_an_event_records_only_what_changed(
    client: AsyncClient, db: AsyncSession
) -> None:
    headers = await _organizer(db)
    hw = await make_org(db, "ハローワーク静岡", kind="cohost")
    await db.commit()
    event_id = (
        await client.post("/api/v1/manage/events", json=_event_body(), headers=headers)
    ).json()["id"]
    r = await client.put(
        f"/api/v1/manage/events/{event_id}",
        json=_event_body(title="お仕事面談会（介護）", cohost_ids=[hw.id]),
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "お仕事面談会（介護）"
    audit = (
        await db.execute(
            text("SELECT actor_id, before, after FROM audit_log WHERE action = 'event.update'")
        )
    ).one()
    assert audit.before == {"title": "お仕事面談会（介護のお仕事）", "cohost_ids": []}
    assert audit.after == {"title": "お仕事面談会（介護）", "cohost_ids": [hw.id]}
    created = await db.scalar(text("SELECT after FROM audit_log WHERE action = 'event.create'"))
    assert created["title"] == "お仕事面談会（介護のお仕事）"


async def test_venues_and_organizations_can_be_added(client: AsyncClient, db: AsyncSession) -> None:
    headers = await _organizer(db)
    r = await client.post(
        "/api/v1/manage/venues",
        json={
            "name": "駿河区役所 会議室",
            "ward": "suruga",
            "address": "静岡市駿河区南八幡町10-40",
        },
        headers=headers,
    )
    assert r.status_code == 201
    again = await client.post(
        "/api/v1/manage/venues",
        json={"name": "駿河区役所 会議室", "ward": "suruga"},
        headers=headers,
    )
    assert again.status_code == 409 and "name" in again.json()["fields"]
    r = await client.post(
        "/api/v1/manage/organizations",
        json={"name": "静岡県立大学", "kind": "cohost"},
        headers=headers,
    )
    assert r.status_code == 201
    bad = await client.post(
        "/api/v1/manage/organizations", json={"name": "x", "kind": "organizer"}, headers=headers
    )
    assert bad.status_code == 422 and "kind" in bad.json()["fields"]
    choices = (await client.get("/api/v1/manage/form-choices", headers=headers)).json()
    assert [c["name"] for c in choices["cohosts"]] == ["静岡県立大学"]
    assert [v["name"] for v in choices["venues"]] == ["駿河区役所 会議室"]


async def test_event_list_filters(client: AsyncClient, db: AsyncSession) -> None:
    headers = await _organizer(db)
    await _event_with_session(client, db, headers)
    await client.post(
        "/api/v1/manage/events", json=_event_body(title="下書きの研修"), headers=headers
    )
    all_events = (await client.get("/api/v1/manage/events", headers=headers)).json()
    assert {e["status"] for e in all_events} == {"published", "draft"}
    drafts = (await client.get("/api/v1/manage/events?status=draft", headers=headers)).json()
    assert [e["title"] for e in drafts] == ["下書きの研修"]
    found = (await client.get("/api/v1/manage/events?q=研修", headers=headers)).json()
    assert [e["title"] for e in found] == ["下書きの研修"]
    none = (await client.get("/api/v1/manage/events?q=%25", headers=headers)).json()
    assert none == []
    bad = await client.get("/api/v1/manage/events?status=nope", headers=headers)
    assert bad.status_code == 422
    published = next(e for e in all_events if e["status"] == "published")
    assert published["capacity"] == 3 and published["confirmed"] == 0
    assert datetime.fromisoformat(published["first_start"]) > datetime.now(UTC)


async def test_the_event_list_goes_by_each_events_next_session(
    client: AsyncClient, db: AsyncSession
) -> None:
    """An event that began months ago and meets again in 20 days is listed by that next
    session, after an event whose only session is in 5 days; once all its sessions are over
    it is listed by its first one (and only with 終わったイベントも表示)."""
    from tests.manage_support import move_session

    headers = await _organizer(db)
    long_id, held = await _event_with_session(client, db, headers)
    venue_id = await db.scalar(text("SELECT venue_id FROM sessions WHERE id = :s"), {"s": held})
    again = await client.post(
        f"/api/v1/manage/events/{long_id}/sessions",
        json=_session_body(venue_id, days=20),
        headers=headers,
    )
    assert again.status_code == 201, again.text
    await move_session(db, held, starts_in=timedelta(days=-180))
    soon_id, soon_session = await _event_with_session(client, db, headers)
    await move_session(db, soon_session, starts_in=timedelta(days=5))

    listed = (await client.get("/api/v1/manage/events", headers=headers)).json()
    assert [e["id"] for e in listed] == [soon_id, long_id]
    long_row = listed[1]
    assert datetime.fromisoformat(long_row["first_start"]) < datetime.now(UTC)
    next_start = datetime.fromisoformat(long_row["next_start"])
    assert timedelta(days=19) < next_start - datetime.now(UTC) < timedelta(days=21)

    await move_session(db, soon_session, starts_in=timedelta(days=-1))
    upcoming = (await client.get("/api/v1/manage/events", headers=headers)).json()
    assert [e["id"] for e in upcoming] == [long_id]
    everything = (
        await client.get("/api/v1/manage/events?include_past=true", headers=headers)
    ).json()
    over = next(e for e in everything if e["id"] == soon_id)
    assert over["next_start"] is None and over["first_start"]


async def test_sessions_already_under_way_are_not_cancelled(
    client: AsyncClient, db: AsyncSession
) -> None:
    from tests.manage_support import move_session

    headers = await _organizer(db)
    event_id, held = await _event_with_session(client, db, headers)
    venue_id = await db.scalar(text("SELECT venue_id FROM sessions WHERE id = :s"), {"s": held})
    later = (
        await client.post(
            f"/api/v1/manage/events/{event_id}/sessions",
            json=_session_body(venue_id, days=12),
            headers=headers,
        )
    ).json()["id"]
    came = await bookings.book(db, held, person(1))
    await db.commit()
    await move_session(db, held, starts_in=timedelta(seconds=-1))
    r = await client.post(f"/api/v1/manage/bookings/{came.id}/check-in", headers=headers)
    assert r.status_code == 200
    started = await client.post(
        f"/api/v1/manage/sessions/{held}/cancel", json={"reason": "雨"}, headers=headers
    )
    assert started.status_code == 409 and started.json()["error"] == "session_started"
    r = await client.post(
        f"/api/v1/manage/events/{event_id}/cancel",
        json={"reason": "以降の回は中止"},
        headers=headers,
    )
    assert r.status_code == 200
    statuses = {s["id"]: s["status"] for s in r.json()["sessions"]}
    assert statuses == {held: "scheduled", later: "cancelled"}
    kept = (
        await db.execute(
            text("SELECT status, checked_in_at FROM bookings WHERE id = :b"), {"b": came.id}
        )
    ).one()
    assert kept.status == "confirmed" and kept.checked_in_at is not None
