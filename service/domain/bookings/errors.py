"""Why a booking cannot be made or changed: stable codes with plain Japanese messages."""

from __future__ import annotations

from collections.abc import Callable

from service.domain.errors import Conflict, DomainError, NotFound
from service.platform.db import constraint_name


def session_not_found() -> NotFound:
    return NotFound("お探しの日程は見つかりませんでした。", code="session_not_found")


def booking_not_found() -> NotFound:
    return NotFound(
        "予約が見つかりませんでした。予約番号と電話番号をご確認ください。",
        code="booking_not_found",
    )


def session_not_open() -> Conflict:
    return Conflict("この日程の受付はまだ始まっていません。", code="session_not_open")


def booking_closed() -> Conflict:
    return Conflict(
        "この日程の受付は終了しました。お問い合わせはお電話でどうぞ。", code="booking_closed"
    )


def session_cancelled() -> Conflict:
    return Conflict("この日程は中止になりました。", code="session_cancelled")


def session_past() -> Conflict:
    return Conflict("この日程はすでに始まっているか、終了しています。", code="session_past")


def event_not_published() -> Conflict:
    return Conflict("このイベントは現在受け付けていません。", code="event_not_published")


def session_full() -> Conflict:
    return Conflict("満席のため、受け付けできませんでした。", code="session_full")


def waitlist_only() -> Conflict:
    """No seat is left, the waiting list has room, and the person did not ask to wait."""
    return Conflict(
        "申し訳ありません。満席になりました。キャンセル待ちでよろしければ、お申し込みください。",
        code="waitlist_only",
    )


def waitlist_full() -> Conflict:
    return Conflict(
        "満席で、キャンセル待ちも定員に達したため、受け付けできませんでした。",
        code="waitlist_full",
    )


def already_booked() -> Conflict:
    return Conflict(
        "この日程は、同じ電話番号またはメールアドレスですでに予約されています。"
        "ご家族など、ご一緒に参加される方は、おひとりの予約に「同伴者」として加えて"
        "お申し込みください。すでに予約がある場合の追加は、お電話で窓口へご連絡ください。",
        code="already_booked",
        fields={
            "phone": "この電話番号（またはメールアドレス）ですでに予約があります。"
            "ご一緒の方は「同伴者」として加えるか、お電話で窓口へご連絡ください。"
        },
    )


def too_many_companions(limit: int) -> Conflict:
    if limit == 0:
        message = "このイベントは、同伴者のお申し込みを受け付けていません。"
    else:
        message = f"同伴者は{limit}人までお申し込みいただけます。"
    return Conflict(message, code="too_many_companions", fields={"companions": message})


def companion_not_found() -> NotFound:
    return NotFound("その同伴者は見つかりませんでした。", code="companion_not_found")


def already_cancelled() -> Conflict:
    return Conflict("この予約はすでに取り消されています。", code="already_cancelled")


def checked_in_self_service() -> Conflict:
    return Conflict(
        "受付がお済みのため、この予約は取り消せません。"
        "ご用件は会場の係員か、お電話で窓口にお知らせください。",
        code="booking_checked_in",
    )


def checked_in_staff() -> Conflict:
    return Conflict(
        "受付済みの予約は取り消せません。間違えて受付したときは、先に受付を取り消してください。"
        "回ごと中止するときは、回の中止から行ってください。",
        code="booking_checked_in",
    )


def companion_checked_in_self_service() -> Conflict:
    return Conflict(
        "受付がお済みのため、同伴者の方の取り消しはできません。"
        "ご用件は会場の係員か、お電話で窓口にお知らせください。",
        code="booking_checked_in",
    )


def companion_checked_in_staff() -> Conflict:
    return Conflict(
        "受付済みの組から同伴者を取り消すことはできません（席はそのままです）。"
        "来なかった同伴者は、回が始まってから記録できます。",
        code="booking_checked_in",
    )


def not_waitlisted() -> Conflict:
    return Conflict("この予約はキャンセル待ちではありません。", code="not_waitlisted")


def capacity_below_confirmed(held: int) -> Conflict:
    message = f"定員を、予約が確定している人数（{held}人）より少なくすることはできません。"
    return Conflict(message, code="capacity_below_confirmed", fields={"capacity": message})


def try_again() -> Conflict:
    return Conflict("混み合っています。もう一度お試しください。", code="try_again")


# Constraints whose violation has a meaning for people, by name (service/platform/db.py NAMING).
_BY_CONSTRAINT: dict[str, Callable[[], DomainError]] = {
    "uq_bookings_live_person": already_booked,
    "uq_bookings_live_phone": already_booked,
    "uq_bookings_live_email": already_booked,
    # Two codes drawn alike at the same moment (49 bits): the person simply tries again.
    "uq_bookings_code": try_again,
}


def for_violation(exc: BaseException) -> DomainError | None:
    """The error to answer for a violated constraint, or None for any other (a bug: let it
    surface as a 500 rather than tell people something untrue)."""
    make = _BY_CONSTRAINT.get(constraint_name(exc) or "")
    return make() if make else None
