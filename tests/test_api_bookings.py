"""The booking API through the ASGI app on the real database: what people really type, the
rules with their stable codes, look-up and cancel with the phone as second factor, and
Idempotency-Key."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings.idempotency import purge_idempotency_records
from service.platform.settings import Settings
from tests.conftest import open_app
from tests.factories import make_event, make_session

DISPLAY_CODE = re.compile(r"^\d{4}-\d{4}-\d{4}$")


def good(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "静岡 太郎",
        "name_kana": "シズオカ タロウ",
        "phone": "090-1234-5678",
        "email": "taro@example.jp",
        "age_band": "65_69",
        "ward": "shimizu",
        "heard_from": "line",
    }
    body.update(overrides)
    return body


async def book(client: AsyncClient, session_id: int, body: Any, **kwargs: Any) -> Any:
    if isinstance(body, bytes | str):
        return await client.post(
            f"/api/v1/sessions/{session_id}/bookings",
            content=body,
            headers={"content-type": "application/json", **kwargs.pop("headers", {})},
            **kwargs,
        )
    return await client.post(f"/api/v1/sessions/{session_id}/bookings", json=body, **kwargs)


async def stored(db: AsyncSession, code: str) -> Any:
    await db.rollback()
    return (
        await db.execute(
            text(
                "SELECT b.*, p.name, p.name_kana, p.age_band, p.ward AS person_ward "
                "FROM bookings b JOIN persons p ON p.id = b.person_id WHERE b.code = :c"
            ),
            {"c": code.replace("-", "")},
        )
    ).one()


@pytest.fixture
async def session_id(db: AsyncSession) -> int:
    return (await make_session(db, capacity=2, waitlist_limit=2)).id


async def test_book_confirms_and_shows_only_the_booking(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    r = await book(client, session_id, good())
    assert r.status_code == 201
    out = r.json()
    assert out["status"] == "confirmed"
    assert out["waitlist_position"] is None
    assert DISPLAY_CODE.match(out["code"])
    assert out["code"] in out["message"]
    assert out["session"]["id"] == session_id
    assert out["session"]["starts_at"].endswith("+09:00")
    assert out["event"]["kind"] == "consultation"
    # Nobody's personal data, not even the booker's own, comes back.
    for secret in ("静岡 太郎", "09012345678", "090-1234-5678", "taro@example.jp", "シズオカ"):
        assert secret not in r.text
    row = await stored(db, out["code"])
    assert (row.status, row.phone, row.email, row.heard_from) == (
        "confirmed",
        "09012345678",
        "taro@example.jp",
        "line",
    )


async def test_third_and_fourth_join_the_waiting_list_then_it_is_full(
    client: AsyncClient, session_id: int
) -> None:
    statuses = []
    for n in range(4):
        r = await book(client, session_id, good(phone=f"0542{n:06d}", email=None))
        assert r.status_code == 201
        statuses.append((r.json()["status"], r.json()["waitlist_position"]))
    assert statuses == [
        ("confirmed", None),
        ("confirmed", None),
        ("waitlisted", 1),
        ("waitlisted", 2),
    ]
    r = await book(client, session_id, good(phone="0549999999", email=None))
    assert r.status_code == 409
    assert r.json()["error"] == "waitlist_full"
    assert "キャンセル待ち" in r.json()["message"]


NORMALISED = [
    ({"phone": "０９０－１２３４－５６７８"}, "phone", "09012345678"),
    ({"phone": "090ー1234ー5678"}, "phone", "09012345678"),
    ({"phone": " (054) 254-2770 "}, "phone", "0542542770"),
    ({"phone": "+81 90 1234 5678"}, "phone", "09012345678"),
    ({"phone": "０５４　２５４　２７７０"}, "phone", "0542542770"),
    ({"name_kana": "しずおか　たろう"}, "name_kana", "シズオカ タロウ"),
    ({"name_kana": "ｼｽﾞｵｶ ﾀﾛｳ"}, "name_kana", "シズオカ タロウ"),
    ({"name_kana": "  シズオカ   タロウ  "}, "name_kana", "シズオカ タロウ"),
    ({"name": "\u3000静岡\u3000太郎\u3000"}, "name", "静岡 太郎"),
    # A name is stored as typed (issue 19, point 7): only its spaces are tidied.
    ({"name": "ＳＨＩＺＵＯＫＡ  Taro"}, "name", "ＳＨＩＺＵＯＫＡ Taro"),
    ({"email": " Taro@EXAMPLE.JP "}, "email", "Taro@example.jp"),
    ({"email": ""}, "email", None),
    ({"age_band": None, "ward": None, "heard_from": None}, "heard_from", None),
]


@pytest.mark.parametrize(("overrides", "column", "expected"), NORMALISED)
async def test_what_people_type_is_normalised(
    client: AsyncClient,
    db: AsyncSession,
    session_id: int,
    overrides: dict[str, Any],
    column: str,
    expected: str | None,
) -> None:
    r = await book(client, session_id, good(**overrides))
    assert r.status_code == 201, r.text
    assert getattr(await stored(db, r.json()["code"]), column) == expected


@pytest.mark.parametrize("heard_from", ["dm", "line", "magazine", "website", "hello_work", "other"])
async def test_every_way_of_hearing_is_accepted(
    client: AsyncClient, session_id: int, heard_from: str
) -> None:
    r = await book(client, session_id, good(heard_from=heard_from))
    assert r.status_code == 201


BAD = [
    ({"name": ""}, {"name"}),
    ({"name": "　 "}, {"name"}),
    ({"name": "太" * 51}, {"name"}),
    ({"name": "x" * 5000}, {"name"}),
    ({"name": "静岡\x00太郎"}, {"name"}),
    ({"name": "静岡\u202e太郎"}, {"name"}),
    ({"name_kana": "静岡たろう"}, {"name_kana"}),
    ({"name_kana": "<script>alert(1)</script>"}, {"name_kana"}),
    ({"name_kana": "しずおか\nたろう"}, {"name_kana"}),
    ({"phone": "090-1234-567"}, {"phone"}),
    ({"phone": "0901234567"}, {"phone"}),
    ({"phone": "abc-defg-hijk"}, {"phone"}),
    ({"phone": "090\t1234\x075678"}, {"phone"}),
    ({"phone": "1" * 2000}, {"phone"}),
    ({"email": "taro@"}, {"email"}),
    ({"email": "taro@example.jp\r\nBcc: x@example.jp"}, {"email"}),
    ({"age_band": "65"}, {"age_band"}),
    ({"ward": "葵区"}, {"ward"}),
    ({"heard_from": "tv"}, {"heard_from"}),
    ({"name": None, "name_kana": None, "phone": None}, {"name", "name_kana", "phone"}),
    ({"name": "", "phone": "x", "email": "y", "ward": "z"}, {"name", "phone", "email", "ward"}),
]


@pytest.mark.parametrize(("overrides", "fields"), BAD)
async def test_each_bad_field_is_named_in_japanese(
    client: AsyncClient,
    db: AsyncSession,
    session_id: int,
    overrides: dict[str, Any],
    fields: set[str],
) -> None:
    r = await book(client, session_id, good(**overrides))
    assert r.status_code == 422
    err = r.json()
    assert err["error"] == "validation_error"
    assert set(err["fields"]) == fields
    assert all(re.search(r"[ぁ-んァ-ン一-龥]", m) for m in err["fields"].values())
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 0
    assert await db.scalar(text("SELECT count(*) FROM persons")) == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"not json", "body"),
        (b'{"name": "\xe9\x9d', "body"),
        (b"", "body"),
        (b"null", "body"),
        (b"[]", "body"),
        (b'"a string"', "body"),
        (b'{"phone": 9012345678}', "phone"),
        ('{"name": ["静岡"], "name_kana": "シズオカ", "phone": "0542542770"}'.encode(), "name"),
        (b'{"email": {"$ne": null}}', "email"),
        (b'{"heard_from": true}', "heard_from"),
    ],
)
async def test_not_json_or_wrong_types_name_the_field(
    client: AsyncClient, session_id: int, raw: bytes, field: str
) -> None:
    r = await book(client, session_id, raw)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_error"
    assert field in r.json()["fields"]


async def test_injection_shaped_text_is_just_text(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    r = await book(client, session_id, good(name="Robert'); DROP TABLE bookings;-- <b>"))
    assert r.status_code == 201
    assert (await stored(db, r.json()["code"])).name == "Robert'); DROP TABLE bookings;-- <b>"


async def test_unknown_fields_are_ignored(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    r = await book(client, session_id, good(capacity_override=True, id=999, channel="phone"))
    assert r.status_code == 201
    row = (
        await db.execute(
            text("SELECT id, capacity_override, channel FROM bookings WHERE code = :c"),
            {"c": r.json()["code"].replace("-", "")},
        )
    ).one()
    assert row.id != 999 and row.capacity_override is False and row.channel == "web"


async def test_a_huge_body_is_refused_before_reading_it_all(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    r = await book(client, session_id, good(name="あ" * 20000))
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 0


async def test_unknown_session(client: AsyncClient) -> None:
    for sid in ("999999", "123456789012345678901234567890"):
        r = await client.post(f"/api/v1/sessions/{sid}/bookings", json=good())
        assert r.status_code == 404
        assert r.json()["error"] == "session_not_found"
    r = await client.post("/api/v1/sessions/abc/bookings", json=good())
    assert r.status_code == 404


async def _session_with(db: AsyncSession, case: str) -> int:
    if case == "session_not_open":
        return (await make_session(db, opened_ago=timedelta(days=-1))).id
    if case == "booking_closed":
        closed = {"closes_before_start": timedelta(days=20), "opened_ago": timedelta(days=30)}
        return (await make_session(db, **closed)).id  # type: ignore[arg-type]
    if case == "session_past":
        return (
            await make_session(
                db, starts_in=timedelta(hours=-1), closes_before_start=timedelta(hours=-2)
            )
        ).id
    if case == "event_not_published":
        return (await make_session(db, event=await make_event(db, status="draft"))).id
    if case == "session_cancelled":
        sid = (await make_session(db)).id
        await db.execute(text("UPDATE sessions SET status = 'cancelled' WHERE id = :s"), {"s": sid})
        await db.commit()
        return sid
    if case == "session_full":
        return (await make_session(db, capacity=0, waitlist_limit=0)).id
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "session_not_open",
        "booking_closed",
        "session_past",
        "event_not_published",
        "session_cancelled",
        "session_full",
    ],
)
async def test_rules_give_409_with_a_stable_code_and_japanese(
    client: AsyncClient, db: AsyncSession, case: str
) -> None:
    r = await book(client, await _session_with(db, case), good())
    assert r.status_code == 409
    assert r.json()["error"] == case
    assert re.search(r"[ぁ-ん]", r.json()["message"])
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 0


async def test_same_person_twice_by_phone_or_email(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    assert (await book(client, session_id, good())).status_code == 201
    again = await book(client, session_id, good(phone="０９０１２３４５６７８", email=None))
    assert again.status_code == 409
    assert again.json()["error"] == "already_booked"
    assert "phone" in again.json()["fields"]
    by_mail = await book(client, session_id, good(phone="0542542770", email="TARO@example.jp"))
    assert by_mail.status_code == 409
    assert by_mail.json()["error"] == "already_booked"
    # Another session of the same event is fine.
    other = (await make_session(db)).id
    assert (await book(client, other, good())).status_code == 201


# -- look-up and cancel ------------------------------------------------------------------------


async def lookup(client: AsyncClient, code: str, phone: str | bytes | None) -> Any:
    headers = {"X-Booking-Phone": phone} if phone is not None else {}
    return await client.get(f"/api/v1/bookings/{code}", headers=headers)


async def test_lookup_with_the_phone_in_any_form(client: AsyncClient, session_id: int) -> None:
    code = (await book(client, session_id, good())).json()["code"]
    for form in (code, code.lower(), code.replace("-", ""), f" {code.lower()} "):
        for phone in ("09012345678", "090-1234-5678", "０９０－１２３４－５６７８".encode()):
            r = await lookup(client, form.strip(), phone)
            assert r.status_code == 200, (form, phone)
            assert r.json()["code"] == code
            assert r.json()["status"] == "confirmed"


async def test_a_wrong_phone_looks_exactly_like_an_unknown_code(
    client: AsyncClient, session_id: int
) -> None:
    code = (await book(client, session_id, good())).json()["code"]
    wrong_phone = await lookup(client, code, "0542542770")
    unknown = await lookup(client, "1234-5678-9012", "09012345678")
    nonsense = await lookup(client, "<script>", "09012345678")
    garbage_phone = await lookup(client, code, "not a phone")
    for r in (wrong_phone, unknown, nonsense, garbage_phone):
        assert r.status_code == 404
        assert r.json() == unknown.json()
    assert unknown.json()["error"] == "booking_not_found"


async def test_lookup_without_a_phone_names_the_header(
    client: AsyncClient, session_id: int
) -> None:
    code = (await book(client, session_id, good())).json()["code"]
    r = await lookup(client, code, None)
    assert r.status_code == 422
    assert "X-Booking-Phone" in r.json()["fields"]


async def cancel(
    client: AsyncClient, code: str, body: Any, headers: dict[str, str] | None = None
) -> Any:
    return await client.post(f"/api/v1/bookings/{code}/cancel", json=body, headers=headers)


async def test_cancel_promotes_the_first_waiting_and_closes_up(
    client: AsyncClient, db: AsyncSession
) -> None:
    sid = (await make_session(db, capacity=1, waitlist_limit=5)).id
    phones = [f"0542{n:06d}" for n in range(4)]
    codes = [(await book(client, sid, good(phone=p, email=None))).json()["code"] for p in phones]
    # The third in line leaves the waiting list first.
    r = await cancel(client, codes[3].lower(), {"phone": phones[3], "reason": "都合がつかない"})
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancelled_at"]
    assert (await lookup(client, codes[2], phones[2])).json()["waitlist_position"] == 2

    r = await cancel(client, codes[0], {"phone": phones[0]})
    assert r.status_code == 200
    promoted = (await lookup(client, codes[1], phones[1])).json()
    assert promoted["status"] == "confirmed"
    assert promoted["waitlist_position"] is None
    assert promoted["confirmed_at"] and promoted["waitlisted_at"]
    assert (await lookup(client, codes[2], phones[2])).json()["waitlist_position"] == 1
    reason = await db.scalar(
        text("SELECT cancel_reason FROM bookings WHERE code = :c"), {"c": codes[3].replace("-", "")}
    )
    assert reason == "都合がつかない"
    notices = await db.scalar(
        text(
            "SELECT count(*) FROM notifications n JOIN bookings b ON b.id = n.booking_id "
            "WHERE b.code = :c AND n.kind = 'booking_promoted'"
        ),
        {"c": codes[1].replace("-", "")},
    )
    assert notices == 1

    again = await cancel(client, codes[0], {"phone": phones[0]})
    assert again.status_code == 409
    assert again.json()["error"] == "already_cancelled"


async def test_cancel_needs_the_right_phone(client: AsyncClient, session_id: int) -> None:
    code = (await book(client, session_id, good())).json()["code"]
    r = await cancel(client, code, {"phone": "0542542770"})
    assert r.status_code == 404
    assert r.json()["error"] == "booking_not_found"
    r = await cancel(client, code, {})
    assert r.status_code == 422
    assert "phone" in r.json()["fields"]
    r = await cancel(client, code, {"phone": 9012345678})
    assert r.status_code == 422
    assert "phone" in r.json()["fields"]
    assert (await lookup(client, code, "09012345678")).json()["status"] == "confirmed"


@pytest.mark.parametrize("reason", ["理由\x1b[31m", "長" * 201])
async def test_cancel_reason_is_checked(client: AsyncClient, session_id: int, reason: str) -> None:
    code = (await book(client, session_id, good())).json()["code"]
    r = await cancel(client, code, {"phone": "09012345678", "reason": reason})
    assert r.status_code == 422
    assert "reason" in r.json()["fields"]
    assert (await lookup(client, code, "09012345678")).json()["status"] == "confirmed"


async def test_lookups_are_limited_per_address(settings: Settings, db: AsyncSession) -> None:
    sid = (await make_session(db)).id
    strict = dataclasses.replace(settings, rate_limit_per_minute=3)
    async with open_app(strict) as app:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as c:
            code = (await book(c, sid, good())).json()["code"]
            results = [(await lookup(c, code, "0542542770")).status_code for _ in range(4)]
    assert results == [404, 404, 404, 429]


# -- Idempotency-Key ---------------------------------------------------------------------------


async def test_a_retry_replays_the_first_response(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    headers = {"Idempotency-Key": "2b1f0d6e-7c1a-4d8e-9a51-3f2c7b9e0a11"}
    first = await book(client, session_id, good(), headers=headers)
    # The same body, written differently, is the same request.
    retry = await book(
        client,
        session_id,
        '{ "heard_from":"line","ward":"shimizu","age_band":"65_69","email":"taro@example.jp",'
        '"phone":"090-1234-5678","name_kana":"シズオカ タロウ","name":"静岡 太郎"}'.encode(),
        headers=headers,
    )
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 1


async def test_a_retry_on_a_waiting_list_someone_is_on_replays(
    client: AsyncClient, db: AsyncSession
) -> None:
    """The late comer's one-statement way onto a waiting list (QUEUE_SQL) keeps the key the
    booking statement claimed: the retry replays, nobody is booked twice."""
    sid = (await make_session(db, capacity=1, waitlist_limit=5)).id
    assert (await book(client, sid, good(phone="0542000001", email=None))).status_code == 201
    waiting = await book(client, sid, good(phone="0542000002", email=None))
    assert waiting.json()["waitlist_position"] == 1
    headers = {"Idempotency-Key": "queue-key-1"}
    first = await book(client, sid, good(), headers=headers)
    retry = await book(client, sid, good(), headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.json()["status"] == "waitlisted"
    assert first.json()["waitlist_position"] == 2
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 3


async def test_the_same_key_with_another_body_is_422(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    headers = {"Idempotency-Key": "key-1"}
    assert (await book(client, session_id, good(), headers=headers)).status_code == 201
    r = await book(client, session_id, good(phone="0542542770", email=None), headers=headers)
    assert r.status_code == 422
    assert r.json()["error"] == "idempotency_key_reused"
    assert "Idempotency-Key" in r.json()["fields"]
    other = (await make_session(db)).id
    r = await book(client, other, good(), headers=headers)
    assert r.json()["error"] == "idempotency_key_reused"
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 1


async def test_a_refused_request_is_not_stored_so_its_retry_is_judged_again(
    client: AsyncClient, db: AsyncSession
) -> None:
    sid = (await make_session(db, opened_ago=timedelta(days=-1))).id
    headers = {"Idempotency-Key": "early-bird"}
    r = await book(client, sid, good(), headers=headers)
    assert r.status_code == 409
    assert await db.scalar(text("SELECT count(*) FROM idempotency_records")) == 0
    await db.execute(
        text("UPDATE sessions SET booking_opens_at = now() - interval '1 hour' WHERE id = :s"),
        {"s": sid},
    )
    await db.commit()
    r = await book(client, sid, good(), headers=headers)
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers


@pytest.mark.parametrize("key", ["", "has space", "k" * 201, "キー"])
async def test_a_bad_key_is_named(client: AsyncClient, session_id: int, key: str) -> None:
    r = await book(client, session_id, good(), headers={"Idempotency-Key": key.encode()})
    assert r.status_code == 422
    assert "Idempotency-Key" in r.json()["fields"]


async def test_cancel_with_a_key_replays_instead_of_already_cancelled(
    client: AsyncClient, session_id: int
) -> None:
    code = (await book(client, session_id, good())).json()["code"]
    headers = {"Idempotency-Key": "cancel-once"}
    first = await cancel(client, code, {"phone": "09012345678"}, headers)
    retry = await cancel(client, code, {"phone": "09012345678"}, headers)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    plain = await cancel(client, code, {"phone": "09012345678"})
    assert plain.json()["error"] == "already_cancelled"


async def test_records_are_kept_24_hours_then_purged(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    for n in range(3):
        r = await book(
            client,
            session_id,
            good(phone=f"0542{n:06d}", email=None),
            headers={"Idempotency-Key": f"k{n}"},
        )
        assert r.status_code == 201
    await db.execute(
        text(
            "UPDATE idempotency_records SET created_at = now() - interval '25 hours' "
            "WHERE key IN ('k0', 'k1')"
        )
    )
    await db.commit()
    with pytest.raises(ValueError):
        await purge_idempotency_records(db, timedelta(hours=23))
    assert await purge_idempotency_records(db, timedelta(hours=24)) == 2
    await db.commit()
    keys = await db.scalars(text("SELECT key FROM idempotency_records"))
    assert list(keys) == ["k2"]
    # A retry of a purged key after its window runs again: here, the same phone is refused.
    r = await book(
        client, session_id, good(phone="0542000000", email=None), headers={"Idempotency-Key": "k0"}
    )
    assert r.json()["error"] == "already_booked"


async def test_the_api_is_documented(client: AsyncClient) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    paths = spec["paths"]
    create = paths["/api/v1/sessions/{session_id}/bookings"]["post"]
    assert {"201", "409", "422"} <= set(create["responses"])
    headers = {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert "Idempotency-Key" in headers
    assert "/api/v1/bookings/{code}" in paths
    assert "/api/v1/bookings/{code}/cancel" in paths
    body = create["requestBody"]["content"]["application/json"]["schema"]
    ref = body["$ref"].rsplit("/", 1)[1]
    props = spec["components"]["schemas"][ref]["properties"]
    assert {"name", "name_kana", "phone", "email", "age_band", "ward", "heard_from"} <= set(props)


async def test_a_retry_gets_the_booking_as_it_was_first_answered(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    """The use case's outcome is what is stored: cancelled since, the retry still gets the
    first answer (confirmed), byte for byte, and no second booking."""
    headers = {"Idempotency-Key": "kept-as-first-answered"}
    first = await book(client, session_id, good(), headers=headers)
    assert first.status_code == 201
    cancel = await client.post(
        f"/api/v1/bookings/{first.json()['code']}/cancel", json={"phone": good()["phone"]}
    )
    assert cancel.status_code == 200
    retry = await book(client, session_id, good(), headers=headers)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session_id}
    )
    assert count == 1


async def test_a_waitlisted_booking_keeps_its_key_through_the_slow_path(
    client: AsyncClient, db: AsyncSession, session_id: int
) -> None:
    """The key is claimed in the fast statement, given back with it when no seat is left, and
    claimed again under the session lock: a retry of a waiting-list booking is replayed too."""
    for n in (1, 2):
        other = good(phone=f"09000000{n:03d}", email=f"p{n}@example.jp")
        assert (await book(client, session_id, other)).status_code == 201
    headers = {"Idempotency-Key": "waits-for-a-seat"}
    first = await book(client, session_id, good(), headers=headers)
    assert first.status_code == 201 and first.json()["status"] == "waitlisted"
    retry = await book(client, session_id, good(), headers=headers)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    count = await db.scalar(
        text("SELECT count(*) FROM bookings WHERE session_id = :s"), {"s": session_id}
    )
    assert count == 3
