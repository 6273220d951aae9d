"""Dates at the calendar's edge and a PostgreSQL that flaps (issue 19, point 5): a 4xx naming
the field, or a 503, never a 500."""

from __future__ import annotations

import asyncpg
import pytest
import sqlalchemy.exc
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from service.edge.http_errors import describe
from tests.manage_support import bearer, issue_token, make_staff, web_login

EDGE_DAYS = ["9999-12-31", "0001-01-01", "1999-12-31", "2101-01-01"]


@pytest.mark.parametrize("day", EDGE_DAYS)
async def test_call_list_days_out_of_range_are_a_4xx(
    client: AsyncClient, db: AsyncSession, day: str
) -> None:
    headers = bearer(await issue_token(db, await make_staff(db, "organizer")))
    for url in ("/api/v1/manage/call-tasks", "/api/v1/manage/call-tasks/export.csv"):
        r = await client.get(url, params={"day": day}, headers=headers)
        assert r.status_code == 422, (url, r.text)
        assert "day" in r.json()["fields"]
    await web_login(client, db, await make_staff(db, "organizer"))
    for url in ("/manage/calls", "/manage/calls.csv"):
        r = await client.get(url, params={"day": day})
        assert 400 <= r.status_code < 500, (url, r.status_code)


def test_a_connection_cut_while_postgresql_flaps_is_a_503() -> None:
    driver = asyncpg.exceptions.InternalClientError("cannot switch to state 15")
    for exc in (
        driver,
        sqlalchemy.exc.InternalError("SELECT 1", {}, driver),
    ):
        status, code, _, _ = describe(exc)
        assert (status, code) == (503, "service_unavailable"), exc


def test_overflowing_date_arithmetic_is_not_a_500() -> None:
    from datetime import date, timedelta
    from types import SimpleNamespace

    from service.edge.http_errors import _as_bad_input

    try:
        date.max + timedelta(days=1)
    except OverflowError as exc:
        page = SimpleNamespace(scope={"path": "/manage/calls"}, method="GET")
        mapped = _as_bad_input(page, exc)  # type: ignore[arg-type]
        assert describe(mapped)[0] == 422
    else:
        raise AssertionError("date.max + 1 day did not overflow")
