"""What a person does on the public pages, step by step, for the browser tests and the
screenshots. Fields are found by their labels' targets (ids), buttons by their words."""

from __future__ import annotations

from collections.abc import Mapping

from playwright.async_api import Page, Response

SELECTS = ("age_band", "ward", "heard_from")
HANAKO = {
    "name": "静岡 花子",
    "name_kana": "しずおか はなこ",
    "phone": "054-254-2770",
    "email": "",
    "age_band": "65_69",
    "ward": "aoi",
    "heard_from": "website",
}


def booking_path(event_id: int, session_id: int) -> str:
    return f"/events/{event_id}/sessions/{session_id}/book"


async def fill_booking_form(page: Page, data: Mapping[str, str]) -> None:
    for name, value in data.items():
        field = page.locator(f"#{name}")
        if name in SELECTS:
            await field.select_option(value)
        else:
            await field.fill(value)


async def click(page: Page, name: str) -> Response | None:
    """Presses the button (or button-like link) with these words and waits for the next page."""
    button = page.get_by_role("button", name=name, exact=True)
    async with page.expect_navigation() as navigation:
        await button.or_(page.get_by_role("link", name=name, exact=True)).click()
    return await navigation.value


async def to_confirmation(page: Page, data: Mapping[str, str]) -> Response | None:
    await fill_booking_form(page, data)
    return await click(page, "入力内容を確認する")


async def book(
    page: Page, base_url: str, event_id: int, session_id: int, data: Mapping[str, str]
) -> str:
    """Form -> confirmation -> done; returns the booking code shown on the done page."""
    await page.goto(base_url + booking_path(event_id, session_id))
    await to_confirmation(page, data)
    button = "キャンセル待ちに申し込む"
    if not await page.get_by_role("button", name=button, exact=True).count():
        button = "この内容で申し込む"
    await click(page, button)
    return (await page.locator("#booking-code").inner_text()).strip()


async def look_up(page: Page, base_url: str, code: str, phone: str) -> Response | None:
    await page.goto(base_url + "/bookings/lookup")
    await page.locator("#code").fill(code)
    await page.locator("#phone").fill(phone)
    return await click(page, "予約を確認する")


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0 = no sideways scrolling)."""
    width: int = await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width
