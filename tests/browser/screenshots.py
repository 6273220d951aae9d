"""`make screenshots`: every public page and every console page at 390px (a phone), 768px and
1024px (tablets) and 1280px (a desktop), written to screenshots/<page>-<width>.png and
screenshots/console-<page>-<width>.png for a person to look at.

Runs the real app on throwaway embedded PostgreSQL and Redis (or on the servers named by
TEST_DATABASE_URL / TEST_REDIS_URL, in a new database), with the demo events plus a full
session, and walks through the pages in headless Chromium (/usr/bin/chromium).
Japanese text needs a Japanese font: apt-get install fonts-noto-cjk.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession

from service.devtools.embedded_servers import remove_throwaway, throwaway_postgres, throwaway_redis
from service.platform.db import make_engine, make_session_factory
from service.platform.migrations import upgrade
from service.platform.settings import Settings, load_settings, to_plain_pg_url
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, chromium_available
from tests.browser.console_tour import ConsoleData, console_tour, seed_console
from tests.browser.live_server import serve
from tests.browser.matching_tour import (
    MatchingData,
    company_tour,
    hire_tour,
    participant_tour,
    seed_matching,
)
from tests.browser.people_tour import (
    PeopleData,
    public_people_tour,
    seed_people,
    staff_people_tour,
)
from tests.browser.tour import TOUR_RATE_LIMIT, TourData, forget_rate_limits, seed_tour, tour

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "screenshots"
WIDTHS = (390, 768, 1024, 1280)
HEIGHT = 900


@contextmanager
def servers() -> Iterator[tuple[str, str]]:
    """(admin database URL, Redis URL)."""
    db_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if db_url and redis_url:
        yield to_plain_pg_url(db_url), redis_url
        return
    pg, redis = throwaway_postgres(), throwaway_redis()
    pg.start()
    redis.start()
    try:
        yield pg.url, redis.url
    finally:
        redis.stop()
        pg.stop()
        remove_throwaway(pg, redis)


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    name = f"nw_shots_{uuid.uuid4().hex[:8]}"
    base = admin_url.rsplit("/", 1)[0]
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"{base}/{name}"
            await asyncio.to_thread(upgrade, url)
            yield url
        finally:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def shoot(
    browser: Browser,
    base_url: str,
    redis_url: str,
    db: AsyncSession,
    data: TourData,
    console: ConsoleData,
) -> list[Path]:
    taken: list[Path] = []
    for number, width in enumerate(WIDTHS):
        context = await browser.new_context(
            viewport={"width": width, "height": HEIGHT}, locale="ja-JP", timezone_id="Asia/Tokyo"
        )
        page = await context.new_page()

        async def stop(name: str, page: Page = page, width: int = width) -> None:
            path = OUT / f"{name}-{width}.png"
            await page.screenshot(path=str(path), full_page=True)
            taken.append(path)

        await forget_rate_limits(redis_url)
        await tour(page, base_url, db, data, stop, number=number)
        await context.close()

        context = await browser.new_context(
            viewport={"width": width, "height": HEIGHT}, locale="ja-JP", timezone_id="Asia/Tokyo"
        )
        page = await context.new_page()

        async def console_stop(name: str, page: Page = page, width: int = width) -> None:
            path = OUT / f"console-{name}-{width}.png"
            await page.screenshot(path=str(path), full_page=True)
            taken.append(path)

        await forget_rate_limits(redis_url)
        await console_tour(page, base_url, console, console_stop)
        await context.close()
    return taken


async def shoot_matching(browser: Browser, base_url: str, data: MatchingData) -> list[Path]:
    """A matching day: a company choosing on a tablet and its printed timetable (768), a
    participant's timetable on a phone (390), a hire recorded, corrected and withdrawn (390 to
    1280)."""
    taken: list[Path] = []
    walks = [(768, company_tour), (390, participant_tour)]
    # Recording, correcting and withdrawing a hire at every width the console is used at.
    walks += [(width, hire_tour) for width in (390, 768, 1024, 1280)]
    for width, walk in walks:
        context = await browser.new_context(
            viewport={"width": width, "height": HEIGHT}, locale="ja-JP", timezone_id="Asia/Tokyo"
        )
        page = await context.new_page()

        async def stop(name: str, page: Page = page, width: int = width) -> None:
            path = OUT / f"console-{name}-{width}.png"
            if name == "matching-print":
                await page.emulate_media(media="print")
            await page.screenshot(path=str(path), full_page=True)
            taken.append(path)

        await walk(page, base_url, data, stop)
        await context.close()
    return taken


async def shoot_people(
    browser: Browser, base_url: str, redis_url: str, data: PeopleData
) -> list[Path]:
    """People and the follow-up: the public pages on a phone (390), the staff person page on
    a tablet (768)."""
    taken: list[Path] = []
    walks = ((390, "", public_people_tour), (768, "console-", staff_people_tour))
    for width, prefix, walk in walks:
        context = await browser.new_context(
            viewport={"width": width, "height": HEIGHT}, locale="ja-JP", timezone_id="Asia/Tokyo"
        )
        page = await context.new_page()

        async def stop(
            name: str, page: Page = page, width: int = width, prefix: str = prefix
        ) -> None:
            path = OUT / f"{prefix}{name}-{width}.png"
            await page.screenshot(path=str(path), full_page=True)
            taken.append(path)

        await forget_rate_limits(redis_url)
        await walk(page, base_url, data, stop)
        await context.close()
    return taken


async def shoot_all(settings: Settings, *, only: str | None = None) -> list[Path]:
    engine = make_engine(settings.sqlalchemy_url, 2)
    try:
        async with make_session_factory(engine)() as db, async_playwright() as pw:
            matching = await seed_matching(db)
            folks = await seed_people(db)
            if only is None:
                data = await seed_tour(db, tours=len(WIDTHS))
                console = await seed_console(db, redis_url=settings.redis_url)
            browser = await pw.chromium.launch(
                executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                with serve(settings) as server:
                    taken: list[Path] = []
                    if only in (None, "people"):
                        taken += await shoot_people(
                            browser, server.base_url, settings.redis_url, folks
                        )
                    if only in (None, "matching"):
                        taken += await shoot_matching(browser, server.base_url, matching)
                    if only is not None:
                        return taken
                    return taken + await shoot(
                        browser, server.base_url, settings.redis_url, db, data, console
                    )
            finally:
                await browser.close()
    finally:
        await engine.dispose()


async def run() -> int:
    if not chromium_available():
        print(f"screenshots: {CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    with servers() as (admin_url, redis_url):
        async with fresh_database(admin_url) as database_url:
            settings: Settings = load_settings(
                {
                    "APP_ENV": "test",
                    "DATABASE_URL": database_url,
                    "REDIS_URL": redis_url,
                    "RATE_LIMIT_PER_MINUTE": str(TOUR_RATE_LIMIT),
                    "LOG_LEVEL": "WARNING",
                }
            )
            # `--only matching` or `--only people`: just those pages (a quicker look).
            wanted = [a for a in ("matching", "people") if a in sys.argv[1:]]
            taken = await shoot_all(settings, only=wanted[0] if wanted else None)
    for path in taken:
        print(path.relative_to(ROOT))
    print(f"{len(taken)} screenshots in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run()))
