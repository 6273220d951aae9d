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


# axe leaves text it cannot judge (same colour as its background, for one) as "incomplete",
# not as a violation: this plain check catches red text on a red button.
_LOW_CONTRAST_JS = """
() => {
  const rgba = c => {
    const m = c.match(/[\\d.]+/g).map(Number);
    return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1];
  };
  const lum = ([r, g, b]) => {
    const f = v => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) return c;
    }
    return [255, 255, 255, 1];
  };
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.clip === 'rect(0px, 0px, 0px, 0px)') continue;
    const bg = background(el), fg = rgba(s.color);
    const mixed = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
    const [hi, lo] = [lum(mixed), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) found.push(`${el.outerHTML.slice(0, 80)}: ${ratio.toFixed(2)}:1`);
  }
  return found;
}
"""


async def low_contrast_text(page: Page) -> list[str]:
    """Text under WCAG 1.4.3's contrast against its (solid) background, with the ratio."""
    found: list[str] = await page.evaluate(_LOW_CONTRAST_JS)
    return found
