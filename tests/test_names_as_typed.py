"""Names are stored as typed (issue 19, point 7): no NFKC (nor NFC) on a person's name, so 神
(U+FA19), 塚 (U+FA10), ① and ㈱ come back byte for byte through the booking, the roster, its
CSV and the confirmation mail; 髙, 﨑, 𠮷 and variation selectors too. Searches compare
normalized forms, so typing the everyday character still finds the person."""

from __future__ import annotations

import csv
import io
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.settings import Settings
from tests.factories import make_session
from tests.mail_support import Mailbox, body_of, run_worker
from tests.manage_support import bearer, issue_token, make_staff

HOLDER = "\ufa19田 ①番 ㈱太郎"  # 神 as the compatibility ideograph U+FA19
COMPANIONS = [
    "\ufa10本 髙﨑",  # 塚 U+FA10, 髙 U+9AD9, 﨑 U+FA11
    "\U00020bb7野 葛\U000e0100子",  # 𠮷, and 葛 with an ideographic variation selector
]


def _body() -> dict[str, Any]:
    return {
        "name": HOLDER,
        "name_kana": "かみた いちばん かぶたろう",
        "phone": "054-254-1919",
        "email": "kamita@example.jp",
        "companions": [{"name": name, "name_kana": "どうはん"} for name in COMPANIONS],
    }


async def test_names_round_trip_byte_for_byte(
    client: AsyncClient,
    db: AsyncSession,
    mail_settings: Settings,
    smtp: tuple[Mailbox, int],
) -> None:
    s = await make_session(db, capacity=5)
    await db.execute(text("UPDATE events SET max_companions = 2 WHERE id = :e"), {"e": s.event_id})
    await db.commit()
    r = await client.post(f"/api/v1/sessions/{s.id}/bookings", json=_body())
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    await db.rollback()
    stored = await db.scalar(
        text(
            "SELECT p.name FROM bookings b JOIN persons p ON p.id = b.person_id WHERE b.code = :c"
        ),
        {"c": code.replace("-", "")},
    )
    assert stored.encode() == HOLDER.encode()
    companions = (
        await db.scalars(
            text(
                "SELECT c.name FROM booking_companions c JOIN bookings b ON b.id = c.booking_id"
                " WHERE b.code = :c ORDER BY c.position"
            ),
            {"c": code.replace("-", "")},
        )
    ).all()
    assert [c.encode() for c in companions] == [n.encode() for n in COMPANIONS]

    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    roster = await client.get(f"/api/v1/manage/sessions/{s.id}/roster", headers=headers)
    assert roster.status_code == 200, roster.text
    assert HOLDER in roster.text and all(n in roster.text for n in COMPANIONS)
    csv_answer = await client.get(f"/api/v1/manage/sessions/{s.id}/roster.csv", headers=headers)
    cells = {
        cell
        for row in csv.reader(io.StringIO(csv_answer.content.decode("utf-8-sig"), newline=""))
        for cell in row
    }
    assert HOLDER in cells and set(COMPANIONS) <= cells

    # The everyday characters find them: 神 (U+795E) for U+FA19, 1番 for ①番.
    for query in ("神田", "1番", "塚本"):
        found = await client.get(
            f"/api/v1/manage/sessions/{s.id}/roster", params={"q": query}, headers=headers
        )
        assert HOLDER in found.text, query
    # And across events, for a caller who lost their code (/manage/search's API).
    for query in ("神田", "1番"):
        found = await client.get("/api/v1/manage/search", params={"q": query}, headers=headers)
        assert found.status_code == 200, found.text
        assert HOLDER in found.text, query

    await run_worker(mail_settings)
    mailbox = smtp[0]
    [message] = mailbox.messages
    assert f"{HOLDER} 様" in body_of(message)
