"""After-commit jobs: handed to the dispatcher by the request, enqueued in Redis off the request
path, a rush coalesced into one sweep."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings, create_pool
from httpx import AsyncClient
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.jobs import Job, JobDispatcher, coalesce
from service.platform.settings import Settings
from tests.browser.data import add_event
from tests.factories import make_session
from tests.test_pages_public import GOOD, post_form


async def _queued(settings: Settings) -> list[str]:
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    try:
        return sorted(j.job_id or "" for j in await redis.queued_jobs(queue_name="arq:queue"))
    finally:
        await redis.aclose()


def test_a_burst_of_notices_becomes_one_sweep_and_other_jobs_stay() -> None:
    few = [Job("send_notification", f"notify:{i}", (i,)) for i in range(3)]
    assert coalesce(few, 100.0) == few
    many = [Job("send_notification", f"notify:{i}", (i,)) for i in range(10)]
    other = Job("something_else", "x:1")
    out = coalesce([*many, other], 1234.5)
    assert out == [Job("sweep_notifications", "sweep_notifications:1234"), other]


async def test_booking_request_enqueues_its_notice_after_commit(
    app: Litestar, client: AsyncClient, db: Any, settings: Settings
) -> None:
    sid = (await make_session(db)).id
    r = await client.post(
        f"/api/v1/sessions/{sid}/bookings",
        json={"name": "静岡 太郎", "name_kana": "しずおかたろう", "phone": "09011112222"},
    )
    assert r.status_code == 201
    await app.state.resources.jobs.flush()
    nid = await db.scalar(text("SELECT id FROM notifications ORDER BY id DESC LIMIT 1"))
    assert await _queued(settings) == [f"notify:{nid}"]


async def test_refused_request_enqueues_nothing(
    app: Litestar, client: AsyncClient, settings: Settings, db: AsyncSession
) -> None:
    """Refused after the booking, its notice and its job were made: the booking page's final
    step posted under another event's address books, then answers 404. Nothing commits and
    no job reaches Redis."""
    seeded = await add_event(db, capacity=5)
    other = await add_event(db, title="別のイベント", capacity=5)
    form = await client.get(f"/events/{seeded.event_id}/sessions/{seeded.session_ids[0]}/book")
    wrong = f"/events/{other.event_id}/sessions/{seeded.session_ids[0]}/book/complete"
    r = await post_form(client, form, wrong, {**GOOD, "expect": "seat", "form_key": "k" * 22})
    assert r.status_code == 404
    await app.state.resources.jobs.flush()
    assert await _queued(settings) == []
    assert await db.scalar(text("SELECT count(*) FROM bookings")) == 0
    assert await db.scalar(text("SELECT count(*) FROM notifications")) == 0


async def test_dispatcher_close_flushes_what_is_pending(settings: Settings) -> None:
    redis = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    dispatcher = JobDispatcher(redis)
    dispatcher.start()
    dispatcher.submit([Job("send_notification", "notify:41", (41,))])
    await dispatcher.close()
    await redis.aclose()
    assert await _queued(settings) == ["notify:41"]


def test_every_job_name_has_its_task() -> None:
    """The service enqueues by name only; each name in service/platform/job_names.py is a task
    the workers register under that very name (a renamed task would leave jobs unrun)."""
    from service.platform import job_names
    from workers.schedule import FUNCTIONS

    registered = {f.name for f in FUNCTIONS}
    names = {
        value for key, value in vars(job_names).items() if key.isupper() and isinstance(value, str)
    }
    assert names, "no job names found"
    assert names <= registered, names - registered


def test_every_enqueued_name_comes_from_job_names() -> None:
    """A job enqueued by a string literal or a module's own constant would be missed by the test
    above: each name given to enqueue_after_commit / enqueue_job is one imported from
    service/platform/job_names.py (the dispatcher in service/platform/jobs.py passes names on)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    calls = 0
    stray: list[str] = []
    for path in sorted([*root.glob("service/**/*.py"), *root.glob("workers/**/*.py")]):
        if path.as_posix().endswith("service/platform/jobs.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        from_job_names = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "service.platform.job_names"
            for alias in node.names
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            position = {"enqueue_after_commit": 1, "enqueue_job": 0}.get(str(called))
            if position is None or len(node.args) <= position:
                continue
            calls += 1
            name = node.args[position]
            if not (isinstance(name, ast.Name) and name.id in from_job_names):
                stray.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(name)}")
    assert calls >= 6, calls
    assert not stray, stray
