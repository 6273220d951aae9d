"""What the desk says on the phone (the script line of a call task), in plain Japanese."""

from __future__ import annotations

from service.domain.bookings.normalize import format_code
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


def call_script(kind: str, facts: MailFacts, reason: str) -> str:
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
        body = (
            f"ご予約の「{title}」の日時または会場が変わりました。"
            f"新しい日時は{when}、{_place(facts)}行います。"
            "ご都合が合わない場合は、取り消しもできます。"
        )
    elif kind == "booking_changed":
        body = _changed(facts, title, when, code, people)
    elif kind == "session_cancelled":
        reason_text = (facts.session_cancel_reason or "").strip()
        because = f"{reason_text}のため、" if reason_text else ""
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
        body = (
            f"「{title}」{when}の面談の時間割が決まりました（予約番号 {code}）。"
            "面談の時刻と企業名をお伝えします（ホームページの予約確認でもご覧いただけます）。"
        )
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
