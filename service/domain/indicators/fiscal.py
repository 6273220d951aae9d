"""Fiscal years: April 1 to March 31 in Asia/Tokyo, shown as 令和N年度 (fiscal year 2022 = R4)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from service.platform.local_time import TOKYO

REIWA_OFFSET = 2018  # 令和1年 = 2019
FIRST_FISCAL_YEAR = 2019
LAST_FISCAL_YEAR = 2100


def fiscal_year_of_day(day: date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_of(moment: datetime) -> int:
    return fiscal_year_of_day(moment.astimezone(TOKYO).date())


def label(fiscal_year: int) -> str:
    return f"令和{fiscal_year - REIWA_OFFSET}年度"


def short_label(fiscal_year: int) -> str:
    return f"R{fiscal_year - REIWA_OFFSET}"


def first_day(fiscal_year: int) -> date:
    return date(fiscal_year, 4, 1)


def last_day(fiscal_year: int) -> date:
    return date(fiscal_year + 1, 3, 31)


def tokyo_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=TOKYO).astimezone(UTC)


def month_keys(start: date, end: date) -> list[str]:
    """'YYYY-MM' for each month from start's to end's, inclusive."""
    keys: list[str] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return keys


@dataclass(frozen=True, slots=True)
class Window:
    """The part of a fiscal year its report covers: from the reporting start (April 1 unless
    the year's report starts later, as R4's 「※8月～3月末実績」) to March 31, in Tokyo days."""

    fiscal_year: int
    starts_on: date

    @property
    def ends_on(self) -> date:
        return last_day(self.fiscal_year)

    @property
    def starts_at(self) -> datetime:
        return tokyo_midnight(self.starts_on)

    @property
    def ends_before(self) -> datetime:
        return tokyo_midnight(first_day(self.fiscal_year + 1))

    @property
    def months(self) -> list[str]:
        return month_keys(self.starts_on, self.ends_on)

    @property
    def is_partial(self) -> bool:
        return self.starts_on != first_day(self.fiscal_year)

    @property
    def note(self) -> str:
        """The report's line under each table: 「※8月～3月末実績」."""
        return f"※{self.starts_on.month}月～3月末実績"


def window(fiscal_year: int, starts_on: date | None) -> Window:
    start = first_day(fiscal_year)
    if starts_on is not None and first_day(fiscal_year) <= starts_on <= last_day(fiscal_year):
        start = starts_on
    return Window(fiscal_year, start)
