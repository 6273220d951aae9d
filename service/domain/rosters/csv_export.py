"""The roster as a CSV file that Excel opens correctly: UTF-8 with a BOM, CRLF line ends, and
cells that Excel would run as a formula escaped (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime

from service.domain.bookings.enums import (
    AGE_BANDS,
    BOOKING_STATUSES,
    CHANNELS,
    HEARD_FROM,
    PERSON_WARDS,
)
from service.domain.bookings.schemas import CompanionView
from service.domain.rosters.schemas import Roster, RosterEntry
from service.platform.local_time import TOKYO

BOM = "\ufeff"
# Excel (and LibreOffice) treat a cell starting with these as a formula; tab and carriage
# return can hide one behind leading whitespace.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER = (
    "予約番号",
    "状態",
    "待ち順",
    "氏名",
    "フリガナ",
    "電話番号",
    "メールアドレス",
    "年代",
    "お住まいの区",
    "知ったきっかけ",
    "申込経路",
    "申込日時",
    "受付（来場）",
    "無断欠席",
    "取消日時",
    "取消理由",
    "定員超過",
    "区分",
    "人数",
    "配慮事項",
)


def safe_cell(value: str) -> str:
    """Prefixes a formula-looking cell with an apostrophe, so Excel shows it as text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _when(value: datetime | None) -> str:
    return value.astimezone(TOKYO).strftime("%Y/%m/%d %H:%M") if value else ""


def _row(e: RosterEntry) -> list[str]:
    return [
        e.display_code,
        BOOKING_STATUSES.get(e.status, e.status),
        str(e.waitlist_position or ""),
        e.name,
        e.name_kana,
        e.display_phone,
        e.email or "",
        AGE_BANDS.get(e.age_band or "", ""),
        PERSON_WARDS.get(e.ward or "", ""),
        HEARD_FROM.get(e.heard_from or "", ""),
        CHANNELS.get(e.channel, e.channel),
        _when(e.created_at),
        _when(e.checked_in_at),
        _when(e.no_show_at),
        _when(e.cancelled_at),
        e.cancel_reason or "",
        "あり" if e.capacity_override else "",
        "本人",
        str(e.party_size),
        e.needs or "",
    ]


def _companion_row(e: RosterEntry, c: CompanionView) -> list[str]:
    """A companion on a line of their own under the holder (one line per person, so that
    Excel counts people); the booking's contact and state, the companion's own name."""
    status = "取消" if c.cancelled_at and e.status != "cancelled" else e.status
    row = _row(e)
    row[1] = BOOKING_STATUSES.get(status, status)
    row[3], row[4] = c.name, c.name_kana
    row[6:10] = ["", "", "", ""]
    row[14] = _when(c.cancelled_at or e.cancelled_at)
    row[15] = "" if c.cancelled_at else row[15]
    row[-3:] = ["同伴者", "", ""]
    return row


def roster_rows(roster: Roster) -> Iterable[list[str]]:
    yield list(HEADER)
    for entry in (*roster.confirmed, *roster.waitlisted, *roster.cancelled):
        yield [safe_cell(cell) for cell in _row(entry)]
        for companion in entry.companions:
            yield [safe_cell(cell) for cell in _companion_row(entry, companion)]


def roster_csv(roster: Roster) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(roster_rows(roster))
    return (BOM + out.getvalue()).encode("utf-8")


def roster_filename(roster: Roster) -> str:
    day = roster.session.starts_at.astimezone(TOKYO).strftime("%Y%m%d")
    return f"roster-{day}-session{roster.session.id}.csv"
