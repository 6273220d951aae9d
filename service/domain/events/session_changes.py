"""What changed in a session that people booked must hear of, as before → after.

A change of time, place or online link is recorded on each 「変更のお知らせ」 as two snapshots
(before and after, plain JSON in the notice's payload), written when staff save the change. The
mail and the call script read them here to say what changed, item by item, and the console's
warning before saving says the same. The snapshots are facts; the wording lives here, so the
console, the mail and the phone say one thing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.platform.local_time import jp_date, jp_time

# What people booked must be told of: the time and the place (or going online, or its link).
NOTICED_FIELDS = ("starts_at", "ends_at", "venue_id", "is_online", "join_url")

Snapshot = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChangeItem:
    label: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class ChangePreview:
    """Shown before saving: what will change, and how many bookings will be told how."""

    items: list[ChangeItem]
    by_mail: int
    by_phone: int

    @property
    def told(self) -> int:
        return self.by_mail + self.by_phone


def snapshot(
    *,
    starts_at: datetime,
    ends_at: datetime,
    venue_name: str,
    venue_ward: str,
    is_online: bool,
    join_url: str | None,
) -> Snapshot:
    return {
        "starts_at": starts_at.isoformat(),
        "ends_at": ends_at.isoformat(),
        "venue": venue_name.strip(),
        "online": bool(is_online or venue_ward == "online"),
        "join_url": (join_url or "").strip(),
    }


def _when(snap: Mapping[str, Any]) -> str:
    start = datetime.fromisoformat(str(snap["starts_at"]))
    end = datetime.fromisoformat(str(snap["ends_at"]))
    if jp_date(start) == jp_date(end):
        return f"{jp_date(start)} {jp_time(start)}〜{jp_time(end)}"
    return f"{jp_date(start)} {jp_time(start)}〜{jp_date(end)} {jp_time(end)}"


def _times(snap: Mapping[str, Any]) -> tuple[datetime | None, ...]:
    """The start and end as people are told them, to the minute: snapshots taken from a form
    and from the database write the same moment with different offsets (+09:00, +00:00), and
    a time stored with seconds is still said as 10:00 (「10:00から10:00に」 tells nothing)."""
    return tuple(
        datetime.fromisoformat(str(snap[k])).replace(second=0, microsecond=0)
        if snap.get(k)
        else None
        for k in ("starts_at", "ends_at")
    )


def _place(snap: Mapping[str, Any]) -> str:
    return "オンライン" if snap.get("online") else f"会場（{snap.get('venue', '')}）"


def describe(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, *, with_links: bool
) -> list[ChangeItem]:
    """The changed items, in the order people think of them: when, where (or how to join).
    `with_links`: the join links themselves may be shown (a confirmed booking, or staff);
    otherwise only that the link changed. Empty when the snapshots are missing (notices
    written before they were recorded)."""
    if not before or not after:
        return []
    items: list[ChangeItem] = []
    if _times(before) != _times(after):
        items.append(ChangeItem("日時", _when(before), _when(after)))
    if bool(before.get("online")) != bool(after.get("online")):
        items.append(ChangeItem("参加方法", _place(before), _place(after)))
    elif not after.get("online") and before.get("venue") != after.get("venue"):
        items.append(ChangeItem("会場", str(before.get("venue")), str(after.get("venue"))))
    elif after.get("online") and before.get("join_url") != after.get("join_url"):
        if with_links:
            items.append(
                ChangeItem(
                    "参加用のリンク",
                    str(before.get("join_url") or "（なし）"),
                    str(after.get("join_url") or "（なし）"),
                )
            )
        else:
            items.append(ChangeItem("参加用のリンク", "以前のリンク", "新しいリンク"))
    return items


def summary(items: list[ChangeItem]) -> str:
    """日時・会場: the changed items' names, for a subject line or an opening sentence."""
    return "・".join(item.label for item in items) or "日時・会場"
