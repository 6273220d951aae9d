"""Every page and state of the organizer console (tests/browser/console_tour.py) in a real
Chromium at a phone's, a tablet's and a desktop's width: axe-core at WCAG 2.2 A and AA with zero
violations (text contrast included: no red on red), and no sideways scrolling."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from service.platform.settings import Settings
from tests.browser.a11y import axe_violations, describe_violations, low_contrast_text
from tests.browser.conftest import NewPage
from tests.browser.console_tour import CONSOLE_STOPS, console_tour, seed_console
from tests.browser.journeys import horizontal_overflow
from tests.browser.live_server import LiveServer


@pytest.mark.parametrize("width", [390, 768, 1280])
async def test_every_console_page_is_accessible(
    live_server: LiveServer,
    new_page: NewPage,
    db: AsyncSession,
    settings: Settings,
    width: int,
) -> None:
    data = await seed_console(db, redis_url=settings.redis_url)
    page = await new_page(width=width, height=900)
    seen: list[str] = []
    problems: list[str] = []

    async def check(name: str) -> None:
        seen.append(name)
        if violations := await axe_violations(page):
            problems.append(f"{name} at {width}px:\n{describe_violations(violations)}")
        if low := await low_contrast_text(page):
            problems.append(f"{name} at {width}px: text without contrast: {low}")
        if name != "roster-print" and (overflow := await horizontal_overflow(page)):
            problems.append(f"{name}: {overflow}px of sideways scrolling at {width}px")

    await console_tour(page, live_server.base_url, data, check)
    assert seen == list(CONSOLE_STOPS)
    assert not problems, "\n".join(problems)
