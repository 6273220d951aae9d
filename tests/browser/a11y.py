"""axe-core (bundled by axe-playwright-python) at WCAG 2.2 levels A and AA."""

from __future__ import annotations

import asyncio
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_OPTIONS: dict[str, Any] = {
    "runOnly": {"type": "tag", "values": WCAG_A_AA},
    "resultTypes": ["violations"],
}

# Bounds a hang only (axe takes a second or two here).
AXE_TIMEOUT_S = 120
_axe = Axe()


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']}  {v.get('helpUrl', '')}")
        for node in v["nodes"][:5]:
            lines.append(f"    at {node.get('target')}: {node.get('failureSummary', '')!r}")
    return "\n".join(lines)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Needs a page with JavaScript on: axe waits on timers that never fire with it off."""
    try:
        results = await asyncio.wait_for(_axe.run(page, options=AXE_OPTIONS), AXE_TIMEOUT_S)
    except TimeoutError:
        raise AssertionError(
            "axe did not finish: is JavaScript off on this page? Use a page with it on."
        ) from None
    violations: list[dict[str, Any]] = results.response["violations"]
    return violations


async def assert_accessible(page: Page, label: str = "") -> None:
    """Fails with a readable list when axe finds any WCAG 2.2 A/AA violation on the page."""
    violations = await axe_violations(page)
    where = label or page.url
    assert not violations, f"axe found WCAG 2.2 A/AA violations on {where}:\n" + (
        describe_violations(violations)
    )
