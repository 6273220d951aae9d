"""What the desk says on the phone (the script line of a call task), in plain Japanese."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.domain.bookings.normalize import format_code
from service.domain.events.session_changes import ChangeItem, describe
from service.domain.notifications.formatting import jp_when
from service.domain.notifications.repository import MailFacts

# What each notice is about, for the call list's columns.
CALL_KINDS = {
    "booking_promoted": "キャンセル待ちから確定",
    "session_changed": "日時・会場の変更",
    "session_cancelled": "開催中止",
    "reminder": "前日のお知らせ",
    "booking_confirmed": "予約の確認",
    "booking_waitlisted": "キャンセル待ちの受付",
    "booking_cancelled": "取消の確認",
    "booking_changed": "予約内容の変更",
    "matching_timetable": "面談の時間割",
    "matching_matched": "マッチング成立",
}


def _online(facts: MailFacts) -> bool:
    return facts.is_online or facts.venue_ward == "online"


def _place(facts: MailFacts) -> str:
    if _online(facts):
        return "オンラインで"
    return f"{facts.venue_name.strip()}で"


def _joining(facts: MailFacts) -> str:
    """How to join, read out to a confirmed person of an online session."""
    if not _online(facts) or facts.booking_status != "confirmed":
        return ""
    parts = []
    if facts.join_url:
        parts.append(f"参加用のURLは {facts.join_url.strip()} です。")
    if facts.join_instructions:
        parts.append(" ".join(facts.join_instructions.split()))
    return "".join(parts)


def _changed(facts: MailFacts, title: str, when: str, code: str, people: str) -> str:
    """A booking staff changed: what it is now (the desk changed it, often at their request)."""
    if facts.booking_status == "waitlisted":
        state = (
            f"キャンセル待ちの{facts.waitlist_position}番目{people}です。"
            "席が空いたら、窓口からお電話でお知らせします。"
        )
    else:
        state = f"ご予約{people}は確定しています。"
    return (
        f"ご予約の内容を窓口で変更しました。「{title}」{when}、{_place(facts)}行います。"
        f"{state}予約番号は {code} です。"
    )


def changes_of(facts: MailFacts, payload: Mapping[str, Any] | None) -> list[ChangeItem]:
    """What a 「変更のお知らせ」 says changed (before → after); the links themselves only to a
    confirmed booking, as everywhere else."""
    change = (payload or {}).get("change") or {}
    return describe(
        change.get("before"), change.get("after"), with_links=facts.booking_status == "confirmed"
    )


def _because(reason: str) -> str:
    """「台風の接近のため、」: a reason typed with its own のため is not given a second one."""
    reason = reason.strip().rstrip("。、")
    if not reason:
        return ""
    for ending in ("のため", "ため", "により", "によって", "につき"):
        if reason.endswith(ending):
            return f"{reason}、"
    return f"{reason}のため、"


def _timetable(payload: Mapping[str, Any] | None, title: str, when: str, code: str) -> str:
    """The meetings themselves, read out one by one (the mail lists them; a participant without
    e-mail hears them from the desk). Written into the task when it is opened."""
    meetings = list((payload or {}).get("meetings") or [])
    changed = bool((payload or {}).get("before"))
    said = "時間割が変わりました" if changed else "時間割が決まりました"
    text = f"「{title}」{when}の面談の{said}（予約番号 {code}）。"
    if not meetings:
        return text + "面談の予定はありません。"
    items = []
    for m in meetings:
        where = "オンライン" if m.get("join_url") else f"テーブル{m.get('table')}"
        items.append(f"{m.get('when')}、{m.get('company')}、{where}")
    return (
        text
        + f"面談は{len(meetings)}件です。メモのご用意をお願いします。"
        + "".join(f"{item}。" for item in items)
        + "ホームページの予約確認でもご覧いただけます。"
    )


def call_script(
    kind: str, facts: MailFacts, reason: str, payload: Mapping[str, Any] | None = None
) -> str:
    """One paragraph to read out: who we are, what happened, what they should do."""
    name = facts.name.strip()
    title = facts.event_title.strip()
    when = jp_when(facts.starts_at, facts.ends_at)
    code = format_code(facts.code)
    people = f"（{facts.party_size}名様）" if facts.party_size > 1 else ""
    opening = f"{name}様でいらっしゃいますか。"
    if reason == "mail_failed":
        opening += "お送りしたメールが届かなかったため、お電話しました。"
    if kind == "booking_promoted":
        body = (
            f"キャンセル待ちでお申し込みの「{title}」{when}に空きが出て、"
            f"ご予約{people}が確定しました。予約番号は {code} です。"
            "ご都合が悪くなった場合は、お知らせください。"
        ) + _joining(facts)
    elif kind == "session_changed":
        items = changes_of(facts, payload)
        if items:
            said = "".join(f"{i.label}は、{i.before}から、{i.after}に変わりました。" for i in items)
            body = f"ご予約の「{title}」の{'・'.join(i.label for i in items)}が変わりました。{said}"
        else:
            body = f"ご予約の「{title}」の日時または会場が変わりました。"
        body += (
            f"変更後は、{when}、{_place(facts)}行います。"
            "ご都合が合わない場合は、取り消しもできます。"
        ) + _joining(facts)
    elif kind == "booking_changed":
        body = _changed(facts, title, when, code, people)
    elif kind == "session_cancelled":
        because = _because(facts.session_cancel_reason or "")
        body = f"ご予約の「{title}」{when}は、{because}中止になりました。申し訳ございません。"
    elif kind == "reminder":
        if _online(facts):
            body = (
                f"明日{when}の「{title}」はオンラインで行います。開始の少し前に参加してください。"
                + _joining(facts)
            )
        else:
            body = f"明日{when}、{_place(facts)}「{title}」があります。お気をつけてお越しください。"
    elif kind == "matching_timetable":
        body = _timetable(payload, title, when, code)
    elif kind == "matching_matched":
        body = (
            f"「{title}」で面談した企業とのマッチングが成立しました。"
            "企業からご連絡先あてに連絡があります。"
        )
    elif kind == "booking_cancelled":
        body = f"「{title}」{when}のご予約の取り消しを承りました（予約番号 {code}）。"
    elif kind == "booking_waitlisted":
        body = (
            f"「{title}」{when}はキャンセル待ち（{facts.waitlist_position}番目）で受け付けました。"
            f"予約番号は {code} です。"
        )
    else:
        body = f"「{title}」{when}のご予約を承っています。予約番号は {code} です。"
    return opening + body
