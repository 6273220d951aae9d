"""The request's (or job's) transaction: one place decides whether it commits.

A request commits when its response is a success or a redirect (2xx, 3xx) and rolls back
otherwise, whether the handler raised or returned an error page itself (a form re-rendered
with a 422 or 409). Jobs queued for after commit (service.platform.jobs) are handed over only after
the commit, and dropped with a rollback. Handlers never commit or roll back.

The status is recorded by an app-wide after_request hook, which Litestar runs after the
handler and before the dependencies' cleanup (where provide_db ends the transaction). A
ContextVar carries it: both run in the request's own task. A failed commit therefore still
becomes a proper error response through the one mapping (service.edge.http_errors).
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from litestar import Response
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform import sqlalchemy_asyncpg
from service.platform.db import lane_of, release_lane
from service.platform.jobs import Job, discard_after_commit_jobs, take_after_commit_jobs

_response_status: ContextVar[int | None] = ContextVar("response_status", default=None)
# A Response built without a status gets its route's default, which is 2xx or 3xx on every
# route (tests/test_request_transaction.py checks the route table).
_ROUTE_DEFAULT = 200


async def record_response_status(response: Response[object]) -> Response[object]:
    """after_request hook (app level): what the transaction's end is decided on. Async, so
    it runs in the request's task (a sync hook would run in a thread, with a copied context)."""
    _response_status.set(response.status_code or _ROUTE_DEFAULT)
    return response


def response_commits() -> bool:
    status = _response_status.get()
    return status is not None and 200 <= status < 400


async def finish(session: AsyncSession, *, commit: bool) -> list[Job]:
    """Commits and returns the jobs to hand over, or rolls back and drops them. The session's
    driver lane (service.platform.db.DriverLane), if it opened one, goes back to the pool either
    way."""
    try:
        if commit:
            if _sqlalchemy_work(session):
                await session.commit()
            await _end_lane_transaction(session, commit=True)
            return take_after_commit_jobs(session)
        await abandon(session)
        return []
    finally:
        await release_lane(session)


async def abandon(session: AsyncSession) -> None:
    """Undoes everything so far (jobs included), e.g. before re-rendering a refused form with
    fresh reads; the transaction then rolls back at its end as well."""
    discard_after_commit_jobs(session)
    if _sqlalchemy_work(session):
        await session.rollback()
    await _end_lane_transaction(session, commit=False)
    session.info.pop(_KEEP, None)


async def drop(session: AsyncSession) -> None:
    """The request failed with an exception: nothing it did stays, and its lane goes back to
    the pool. A session without a lane is rolled back as it closes (the pool's reset)."""
    discard_after_commit_jobs(session)
    if lane_of(session) is None:
        return
    try:
        # A broken connection fails here; closing it below discards it.
        with contextlib.suppress(Exception):
            await abandon(session)
    finally:
        await release_lane(session)


def _sqlalchemy_work(session: AsyncSession) -> bool:
    """Whether SQLAlchemy has a transaction or pending objects to end. A session that only
    used its driver lane has neither, and committing it would begin and end an empty one."""
    return (
        lane_of(session) is None
        or session.in_transaction()
        or bool(session.new or session.dirty or session.deleted)
    )


async def _end_lane_transaction(session: AsyncSession, *, commit: bool) -> None:
    """A lane's transaction that SQLAlchemy never joined (the booking hot path: BEGIN, one
    statement, here COMMIT) is ended on the driver; one it joined ended with session.commit()."""
    lane = lane_of(session)
    if lane is not None:
        await sqlalchemy_asyncpg.end(lane.adapted, commit=commit)


_KEEP = "keep_despite_status"


def keep_despite_status(session: AsyncSession) -> None:
    """The refused attempt has been abandoned; what was written since (the audit record of who
    was shown a roster on the page that says why) commits even though the status is 4xx."""
    session.info[_KEEP] = True


def request_commits(session: AsyncSession) -> bool:
    return response_commits() or bool(session.info.pop(_KEEP, False))
