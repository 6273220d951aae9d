"""The page booking's final step is one use-case call: BEGIN, the booking statement (which also
claims the form's one-time key), storing the outcome for a reload, COMMIT. Counted, not timed:
every statement SQLAlchemy executes, plus what goes to asyncpg directly (BEGIN, COMMIT and
the booking statement, which bypass SQLAlchemy's cursor events)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from httpx import AsyncClient
from litestar import Litestar
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from tests.browser.data import add_event
from tests.test_pages_public import GOOD, hidden_of, submit

MAX_ROUND_TRIPS = 4


@contextmanager
def statements_sent(app: Litestar) -> Iterator[list[str]]:
    sent: list[str] = []
    engine = app.state.resources.engine.sync_engine

    def log(record: Any) -> None:
        sent.append(record.query)

    attached: list[Any] = []

    def attach(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        driver = dbapi_connection.driver_connection
        if not any(driver is d for d in attached):
            driver.add_query_logger(log)
            attached.append(driver)

    def cursor(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "checkout", attach)
    event.listen(engine, "before_cursor_execute", cursor)
    try:
        yield sent
    finally:
        event.remove(engine, "checkout", attach)
        event.remove(engine, "before_cursor_execute", cursor)
        for driver in attached:
            driver.remove_query_logger(log)


async def _delivered() -> None:
    """asyncpg hands query records to its loggers with call_soon: let them arrive."""
    await asyncio.sleep(0)


async def _confirmed_form(client: AsyncClient, base: str, phone: str) -> dict[str, str]:
    form = await client.get(base)
    confirm = await submit(client, form, base + "/confirm", {**GOOD, "phone": phone})
    assert confirm.status_code == 200
    return hidden_of(confirm)


async def test_the_final_step_takes_at_most_four_round_trips(
    app: Litestar, client: AsyncClient, db: AsyncSession
) -> None:
    seeded = await add_event(db, capacity=5)
    base = f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book"
    with statements_sent(app) as sent:
        # A first booking warms the pool's prepared statements, as in service.
        warm = await _confirmed_form(client, base, "054-254-2770")
        assert (await client.post(base + "/complete", data=warm)).status_code == 303
        hidden = await _confirmed_form(client, base, "054-254-2771")
        await _delivered()
        sent.clear()
        done = await client.post(base + "/complete", data=hidden)
        await _delivered()
    assert done.status_code == 303
    assert len(sent) <= MAX_ROUND_TRIPS, sent
    assert any("INSERT INTO bookings" in q for q in sent)
    assert sent[-1].strip().rstrip(";").upper() == "COMMIT"
