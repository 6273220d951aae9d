"""Notice rules and mail rendering, without the worker."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from service.domain.notifications.formatting import jp_when, one_line
from service.domain.notifications.mail import BadAddress, recipient, render
from service.domain.notifications.models import NOTIFICATION_KINDS
from service.domain.notifications.repository import MailFacts
from service.domain.notifications.service import (
    queue_pending,
    skip_reason,
    tomorrow_in_tokyo,
)
from service.platform.local_time import TOKYO
from service.platform.settings import Settings, load_settings

START = datetime(2026, 12, 11, 10, 0, tzinfo=TOKYO)
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    """Only the desk and URL settings matter here: no database needed."""
    return load_settings(
        {
            "APP_ENV": "test",
            "DATABASE_URL": "postgresql://u@db.invalid/x",
            "REDIS_URL": "redis://r.invalid:6379/0",
        }
    )


def facts(**changes: object) -> MailFacts:
    base = MailFacts(
        booking_id=1,
        code="123456789012",
        booking_status="confirmed",
        waitlist_position=None,
        email="hanako@example.jp",
        name="静岡 花子",
        event_title="介護のお仕事説明会",
        event_kind="job_fair",
        contact="",
        what_to_bring="",
        starts_at=START,
        ends_at=START + timedelta(hours=5),
        session_status="scheduled",
        session_cancel_reason=None,
        venue_name="札の辻クロスホール",
        venue_address="静岡市葵区呉服町一丁目1-2",
        venue_ward="aoi",
        access_notes="",
        calendar_token="0123456789abcdef0123456789abcdef",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_dates_read_in_tokyo_with_weekday() -> None:
    assert jp_when(START, START + timedelta(hours=5)) == "12月11日（金） 10:00〜15:00"
    # The same instant given in UTC still reads in Tokyo time.
    assert jp_when(START.astimezone(UTC), (START + timedelta(hours=1)).astimezone(UTC)) == (
        "12月11日（金） 10:00〜11:00"
    )
    assert jp_when(START, START + timedelta(days=1)) == "12月11日（金） 10:00〜12月12日（土） 10:00"


def test_tomorrow_is_the_next_day_in_tokyo() -> None:
    # 23:30 UTC on Dec 1 is already 08:30 on Dec 2 in Tokyo.
    start, end = tomorrow_in_tokyo(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    assert start == datetime(2026, 12, 3, 0, 0, tzinfo=TOKYO)
    assert end == datetime(2026, 12, 4, 0, 0, tzinfo=TOKYO)


@pytest.mark.parametrize("kind", NOTIFICATION_KINDS)
def test_every_kind_renders_polite_japanese(settings: Settings, kind: str) -> None:
    status = "waitlisted" if kind == "booking_waitlisted" else "confirmed"
    mail = render(
        kind,
        facts(
            booking_status=status,
            waitlist_position=3 if status == "waitlisted" else None,
            session_cancel_reason="台風の接近のため",
        ),
        settings,
    )
    assert mail.subject.startswith("【NEXTワークしずおか】")
    assert mail.subject.endswith("：介護のお仕事説明会")  # no brackets around a title's own
    assert "（" not in mail.subject
    assert mail.body.startswith("静岡 花子 様\n")
    assert "1234-5678-9012" in mail.body
    assert "12月11日（金） 10:00〜15:00" in mail.body
    assert "札の辻クロスホール" in mail.body
    assert "054-254-2770" in mail.body
    assert "{{" not in mail.body and "{%" not in mail.body
    if kind == "booking_waitlisted":
        assert "キャンセル待ちの順番：3番目" in mail.body
    if kind == "session_cancelled":
        assert "中止の理由：台風の接近のため" in mail.body
    if kind in ("booking_confirmed", "booking_promoted", "reminder"):
        assert "/bookings/123456789012/calendar.ics?t=" in mail.body
    if kind not in ("booking_cancelled", "session_cancelled"):
        assert f"{settings.base_url}/bookings/lookup?code=1234-5678-9012" in mail.body


def test_online_session_has_no_address_line(settings: Settings) -> None:
    mail = render(
        "booking_confirmed",
        facts(venue_ward="online", venue_name="オンライン（Zoom）", venue_address="どこか"),
        settings,
    )
    # An online session is joined, not visited: no venue or address lines.
    assert "参加方法：オンライン" in mail.body
    assert "会場：" not in mail.body and "住所：" not in mail.body


def test_subject_is_one_line_and_bounded(settings: Settings) -> None:
    mail = render(
        "booking_confirmed", facts(event_title="説明会\r\nBcc: x@example.com" * 20), settings
    )
    assert "\n" not in mail.subject and "\r" not in mail.subject
    assert len(mail.subject) <= 150
    assert one_line("a\u2028b\x00c\t d", 10) == "a b c d"


@pytest.mark.parametrize(
    "address",
    [
        "",
        "   ",
        "no-at-sign",
        "a@b@example.jp",
        "taro@example.jp\r\nBcc: victim@example.com",
        "taro@example.jp, victim@example.com",
        "Taro <taro@example.jp>",
        "x" * 250 + "@example.jp",
    ],
)
def test_recipient_refuses_anything_but_one_plain_address(address: str) -> None:
    with pytest.raises(BadAddress):
        recipient(address)


def test_recipient_accepts_a_plain_address() -> None:
    assert recipient(" hanako@example.jp ").addr_spec == "hanako@example.jp"


@pytest.mark.parametrize(
    ("kind", "changes", "reason"),
    [
        ("booking_confirmed", {}, None),
        ("booking_confirmed", {"email": None}, "no_email"),
        ("booking_confirmed", {"email": "  "}, "no_email"),
        ("booking_confirmed", {"booking_status": "cancelled"}, "superseded"),
        ("booking_waitlisted", {"booking_status": "waitlisted", "waitlist_position": 1}, None),
        ("booking_waitlisted", {"booking_status": "confirmed"}, "superseded"),
        ("booking_promoted", {"booking_status": "cancelled"}, "superseded"),
        ("reminder", {"session_status": "cancelled"}, "session_cancelled"),
        ("reminder", {"starts_at": NOW - timedelta(minutes=1)}, "session_started"),
        (
            "booking_confirmed",
            {"starts_at": NOW - timedelta(days=2), "ends_at": NOW},
            "session_over",
        ),
        ("booking_cancelled", {"booking_status": "cancelled"}, None),
        ("session_cancelled", {"session_status": "cancelled", "booking_status": "cancelled"}, None),
    ],
)
def test_what_is_mailed_follows_the_booking_at_send_time(
    kind: str, changes: dict[str, object], reason: str | None
) -> None:
    assert skip_reason(kind, facts(**changes), NOW) == reason


async def test_queue_pending_enqueues_after_commit_with_deterministic_ids() -> None:
    db = AsyncSession()
    queue_pending(db, [7, 8])
    jobs = db.info["after_commit_jobs"]
    assert [(j.name, j.job_id, j.args) for j in jobs] == [
        ("send_notification", "notify:7", (7,)),
        ("send_notification", "notify:8", (8,)),
    ]
