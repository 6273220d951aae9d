"""The person's own pages: registering with the consent shown, 「予約の確認」 listing only that
person's bookings with cancel for each, changing the contact preference and withdrawing."""

from __future__ import annotations

import re

from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.bookings import service as bookings
from service.domain.bookings.normalize import format_code
from service.domain.privacy import PRIVACY_VERSION
from tests.factories import make_session
from tests.manage_support import person


async def _csrf(client: AsyncClient) -> str:
    if "csrftoken" not in client.cookies:
        await client.get("/register")
    return str(client.cookies["csrftoken"])


async def _post(client: AsyncClient, path: str, data: dict[str, str]) -> Response:
    return await client.post(path, data={**data, "_csrf_token": await _csrf(client)})


async def test_public_registration_records_the_consent(
    client: AsyncClient, db: AsyncSession
) -> None:
    form = await client.get("/register")
    assert form.status_code == 200
    assert f"個人情報の取り扱い（{PRIVACY_VERSION}版）" in form.text
    refused = await _post(client, "/register", {"name": "静岡 花子", "name_kana": "しずおか"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/register?d=")
    again = await client.get(refused.headers["location"])
    assert "個人情報の取り扱いへの同意が必要です" in again.text
    assert "電話番号を入力してください" in again.text
    # The example number is kept on one line on a phone (a hyphen is a line-break point).
    assert '（例：<span class="nowrap">090-1234-5678</span>）' in again.text
    assert 'value="静岡 花子"' in again.text
    done = await _post(
        client,
        "/register",
        {"name": "静岡 花子", "name_kana": "しずおか はなこ", "phone": "０９０-２２２２-３３３３",
         "postal_code": "4200853", "contact_1": "post", "consent_privacy": "yes",
         "consent_news": "yes"},
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/register/done"
    row = (
        await db.execute(
            text(
                "SELECT registered_via, consent_privacy, consent_version, consent_news, address,"
                " contact_by FROM persons WHERE phone = '09022223333'"
            )
        )
    ).one()
    assert tuple(row) == ("web", True, PRIVACY_VERSION, True, "静岡県静岡市葵区追手町", ["post"])


async def test_lookup_lists_only_that_persons_bookings_and_cancels_one(
    client: AsyncClient, db: AsyncSession
) -> None:
    s1, s2, s3 = [await make_session(db) for _ in range(3)]
    mine = [
        await bookings.book(db, s1.id, person(1)),
        await bookings.book(db, s2.id, person(1)),
    ]
    other = await bookings.book(db, s3.id, person(2))
    await db.commit()
    miss = await _post(client, "/my", {"phone": "09000000001", "code": other.code})
    assert miss.headers["location"].startswith("/my?d=")
    assert "見つかりませんでした" in (await client.get(miss.headers["location"])).text
    r = await _post(client, "/my", {"phone": "090-0000-0001", "code": mine[1].code})
    assert r.status_code == 303 and r.headers["location"].startswith("/my/bookings?g=")
    listing = await client.get(r.headers["location"])
    assert listing.status_code == 200
    for b in mine:
        assert format_code(b.code) in listing.text
    assert format_code(other.code) not in listing.text
    grant = r.headers["location"].split("g=")[1]
    booking_ids = re.findall(r"/my/cancel\?g=[^&]+&amp;b=(\d+)", listing.text)
    assert sorted(int(i) for i in booking_ids) == sorted(b.id for b in mine)
    question = await client.get(f"/my/cancel?g={grant}&b={mine[0].id}")
    assert "この予約を取り消しますか" in question.text
    # Someone else's booking id with this grant cancels nothing.
    await _post(client, "/my/cancel", {"g": grant, "b": str(other.id)})
    cancelled = await _post(client, "/my/cancel", {"g": grant, "b": str(mine[0].id)})
    assert cancelled.status_code == 303
    statuses = {r.id: r.status for r in await db.execute(text("SELECT id, status FROM bookings"))}
    assert statuses[mine[0].id] == "cancelled"
    assert statuses[mine[1].id] == "confirmed" and statuses[other.id] == "confirmed"
    assert "取り消しました" in (await client.get(cancelled.headers["location"])).text


async def test_settings_change_and_withdrawal(client: AsyncClient, db: AsyncSession) -> None:
    s = await make_session(db)
    b = await bookings.book(db, s.id, person(3, email="taro3@example.jp"))
    await db.commit()
    r = await _post(client, "/my", {"phone": "09000000003", "code": b.code})
    grant = r.headers["location"].split("g=")[1]
    page = await client.get(f"/my/settings?g={grant}")
    assert page.status_code == 200 and "taro3@example.jp" in page.text
    bad = await _post(client, "/my/settings", {"g": grant, "email": "", "contact_1": "mail"})
    assert bad.headers["location"] == f"/my/settings?g={grant}"
    assert "メールアドレスを入力してください" in (await client.get(bad.headers["location"])).text
    ok = await _post(
        client,
        "/my/settings",
        {"g": grant, "email": "", "postal_code": "424-0806", "contact_1": "post",
         "contact_2": "phone"},
    )  # fmt: skip
    assert ok.headers["location"] == f"/my/bookings?g={grant}"
    row = (
        await db.execute(
            text("SELECT email, contact_by, consent_news FROM persons WHERE phone = '09000000003'")
        )
    ).one()
    assert tuple(row) == (None, ["post", "phone"], False)
    gone = await _post(client, "/my/withdraw", {"g": grant})
    assert gone.headers["location"] == "/my/withdrawn"
    assert await db.scalar(text("SELECT count(*) FROM persons WHERE phone = '09000000003'")) == 0
    assert (
        await db.scalar(
            text("SELECT count(*) FROM persons WHERE withdrawn_at IS NOT NULL AND phone IS NULL")
        )
        == 1
    )
    after = await client.get(f"/my/bookings?g={grant}")
    assert "taro" not in after.text and "もう一度" in after.text
