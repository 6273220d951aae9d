"""A double click is not a 500 (issue 19, point 4): the same staff write sent ten times at once
answers 201/200 once and a named 409 otherwise (a create), or 200 every time (a write that sets
a value). The meaning comes from the violated constraint's name, in the one mapping
(service/domain/constraints.py, used by service/edge/http_errors.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.manage_support import bearer, issue_token, make_staff, post_form, web_login

TIMES = 10

CREATES = [
    ("/api/v1/manage/venues", {"name": "連打会館", "ward": "aoi"}, "name", "venue_exists"),
    (
        "/api/v1/manage/organizations",
        {"name": "連打株式会社", "kind": "employer"},
        "name",
        "organization_exists",
    ),
    (
        "/api/v1/manage/users",
        {"username": "renda", "password": "a-long-enough-password", "role": "organizer"},
        "username",
        "username_taken",
    ),
    (
        "/api/v1/manage/indicators/definitions",
        {
            "code": "renda_count",
            "name": "連打の数",
            "unit": "people",
            "section": "other",
            "measure": "hand",
        },
        "code",
        "code_taken",
    ),
]


async def _admin(db: AsyncSession) -> dict[str, str]:
    return bearer(await issue_token(db, await make_staff(db, "admin")))


async def _at_once(client: AsyncClient, method: str, url: str, body: Any, headers: Any) -> Counter:
    answers = await asyncio.gather(
        *(client.request(method, url, json=body, headers=headers) for _ in range(TIMES))
    )
    for r in answers:
        assert r.status_code < 500, r.text
    return Counter(r.status_code for r in answers), answers


@pytest.mark.parametrize(("url", "body", "field", "code"), CREATES)
async def test_ten_identical_creates_give_one_and_named_conflicts(
    client: AsyncClient, db: AsyncSession, url: str, body: dict[str, Any], field: str, code: str
) -> None:
    headers = await _admin(db)
    if "definitions" in url:
        # A section as the API lists them.
        known = (await client.get(url, headers=headers)).json()[0]
        body = {**body, "section": known["section"]}
    counts, answers = await _at_once(client, "POST", url, body, headers)
    assert counts[201] == 1 and counts[409] == TIMES - 1, (counts, answers[0].text)
    for r in answers:
        if r.status_code == 409:
            assert r.json()["error"] == code and field in r.json()["fields"], r.text


async def test_ten_identical_settings_all_succeed(client: AsyncClient, db: AsyncSession) -> None:
    headers = await _admin(db)
    definition = (
        await client.get("/api/v1/manage/indicators/definitions", headers=headers)
    ).json()[0]
    figure = {"definition_id": definition["id"], "month": "2025-06", "value": 12}
    counts, _ = await _at_once(
        client, "PUT", "/api/v1/manage/indicators/hand-figures", figure, headers
    )
    assert counts == {200: TIMES}, counts
    window = {"fiscal_year": 2025, "starts_on": "2025-08-01"}
    counts, _ = await _at_once(client, "PUT", "/api/v1/manage/indicators/window", window, headers)
    assert counts == {200: TIMES}, counts
    await db.rollback()
    stored = await db.scalar(
        text("SELECT value FROM indicator_hand_figures WHERE definition_id = :d"),
        {"d": definition["id"]},
    )
    assert stored == 12


async def test_a_venue_form_sent_twice_at_once_is_no_500_page(
    client: AsyncClient, db: AsyncSession
) -> None:
    await web_login(client, db, await make_staff(db, "organizer"))
    form = {"name": "二度押し会館", "ward": "aoi", "address": "静岡市葵区"}
    answers = await asyncio.gather(*(post_form(client, "/manage/venues", form) for _ in range(4)))
    statuses = sorted(r.status_code for r in answers)
    assert all(s < 500 for s in statuses), [r.text[:300] for r in answers]
    assert statuses.count(409) + statuses.count(200) + statuses.count(303) == 4
    conflicts = [r for r in answers if r.status_code == 409]
    assert all("同じ名前の会場がすでにあります" in r.text for r in conflicts)
