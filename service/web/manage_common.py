"""Helpers shared by the organizer pages: rendering with the staff context, reading forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.response import Redirect, Template

from service.domain.accounts.actor import Actor
from service.domain.accounts.schemas import ROLES
from service.domain.bookings.enums import (
    AGE_BANDS,
    BOOKING_STATUSES,
    CHANNELS,
    HEARD_FROM,
    PERSON_WARDS,
)
from service.domain.events.enums import EVENT_STATUSES, SESSION_STATUSES
from service.domain.rosters.service import PROMOTE_NO_SEAT

VOCABULARIES: dict[str, Mapping[str, str]] = {
    "ROLES": ROLES,
    "AGE_BANDS": AGE_BANDS,
    "BOOKING_STATUSES": BOOKING_STATUSES,
    "CHANNELS": CHANNELS,
    "HEARD_FROM": HEARD_FROM,
    "PERSON_WARDS": PERSON_WARDS,
    "EVENT_STATUSES": EVENT_STATUSES,
    "SESSION_STATUSES": SESSION_STATUSES,
}

# Set on every organizer page: nothing personal is cached or indexed.
NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def page(
    template: str,
    staff: Actor | None,
    *,
    status_code: int = 200,
    flash: str | None = None,
    **context: Any,
) -> Template:
    return Template(
        template_name=template,
        context={**VOCABULARIES, "staff": staff, "flash": flash, **context},
        status_code=status_code,
        headers=NO_STORE,
    )


async def form_fields(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted form as plain strings (the last value of repeated fields)."""
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


async def form_lists(request: Request[Any, Any, Any], name: str) -> list[str]:
    data = await request.form()
    return [v for v in data.getall(name, []) if isinstance(v, str)]


def safe_next(target: str | None) -> str:
    """Only a path inside the console, so the login form cannot send anyone elsewhere."""
    if (
        target
        and target.startswith("/manage")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 32 for c in target)
    ):
        return target
    return "/manage"


# Messages shown after a redirect; only their codes travel in the URL, so a link cannot
# make the console show text of someone else's choosing.
DONE_MESSAGES = {
    "matching_choices_saved": "面談したい方の順位を保存しました。",
    "matching_settings_saved": "面談会の設定を保存しました。",
    "matching_absent": "欠席にしました。その方の面談の枠が空きました。",
    "matching_filled": "空いた枠に面談を入れました。",
    "matching_moved": (
        "面談の時間・テーブルを変更しました。時間割を送ると、参加者に変更をお知らせします。"
    ),
    "matching_removed": "面談を取り消しました。",
    "matching_company_saved": "参加企業を登録しました。",
    "matching_outcome_saved": "面談の結果を記録しました。",
    "matching_hire_saved": "採用を記録しました。雇用・就業数に数えます。",
    "matching_hire_corrected": "採用の記録を訂正しました。",
    "matching_hire_withdrawn": "採用の記録を取り消しました。雇用・就業数に数えません。",
    "matching_building": (
        "面談表の作成を始めました。1分ほどで画面に出ます（再読み込みしてください）。"
    ),
    "matching_sent": (
        "参加者へ時間割のお知らせを作成しました（メール、またはメールがない方は電話連絡リストへ）。"
    ),
    "login_lock_cleared": "ログインの制限を解除しました。",
    "event_created": "イベントを作成しました。続けて回（日程）を追加してください。",
    "event_saved": "イベントを保存しました。",
    "event_published": "イベントを公開しました。",
    "event_cancelled": "イベントを中止にしました。予約者へのお知らせを作成しました。",
    "session_added": "回（日程）を追加しました。",
    "session_saved": "回（日程）を保存しました。",
    "session_cancelled": "回（日程）を中止にしました。予約者へのお知らせを作成しました。",
    "checked_in": "受付しました。",
    "check_in_undone": "受付を取り消しました。",
    "no_show": "無断欠席にしました。",
    "no_show_undone": "無断欠席を取り消しました。",
    "promoted": "キャンセル待ちから予約確定にしました。",
    "booking_cancelled": "予約を取り消しました。",
    "companion_cancelled": "同伴者を取り消しました。",
    "booking_changed": "予約を変更しました。ご本人へのお知らせ（メールか電話連絡）を作成しました。",
    "booking_changed_waitlisted": (
        "予約を変更しました。席が足りないため、全員でキャンセル待ちの最後になりました。"
        "ご本人へのお知らせ（メールか電話連絡）を作成しました。"
    ),
    "booking_unchanged": "変更はありませんでした。",
    "booking_moved": "別の回に移しました。ご本人へのお知らせ（メールか電話連絡）を作成しました。",
    "booking_moved_waitlisted": (
        "別の回のキャンセル待ちに移しました。ご本人へのお知らせ（メールか電話連絡）を作成しました。"
    ),
    "call_reached": "連絡済にしました。",
    "mail_retried": "メールを送り直します。",
    "mails_sent_now": "送信待ちのメールを今すぐ送ります。",
    "none_waiting": "送信待ちのメールはありませんでした。",
    "mails_retried": "送信できなかったメールを、すべて送り直します。",
    "call_no_answer": "不在として、2時間後にもう一度連絡するようにしました。",
    "call_declined": "辞退として予約を取り消しました。",
    "venue_added": "会場を登録しました。",
    "organization_added": "団体を登録しました。",
    "phone_booked": "電話予約を登録しました。予約番号をお伝えください。",
    "walk_in_added": "当日参加の方を登録し、受付しました。",
    "no_shows_marked": "未受付の方を無断欠席にしました。",
    "user_created": "スタッフを登録しました。",
    "user_saved": "スタッフの情報を保存しました。",
    "logged_out": "ログアウトしました。",
    "compile_queued": "集計を依頼しました。1分ほどで数値が更新されます。",
    "record_added": "記録を追加しました。",
    "record_saved": "記録を保存しました。",
    "record_deleted": "記録を削除しました。",
    "hand_figure_saved": "手入力の数値を保存しました。",
    "answer_added": "アンケート用紙の回答を登録しました。",
    "definition_saved": "指標を保存しました。集計をやり直します。",
    "definition_retired": "指標を廃止しました。集計をやり直します。",
    "window_saved": "集計の開始日を保存しました。集計をやり直します。",
    "line_news_queued": "LINEのお知らせを送ります。1分ほどで届きます。",
    "narrative_saved": "評価・取組を保存しました。",
    "exchange_saved": "新現役交流会を保存しました。",
    "plan_period_saved": "計画期間を保存しました。",
    "person_registered": "登録しました。",
    "person_saved": "登録内容を保存しました。",
    "person_merged": "登録者を統合しました。予約や記録はすべてこの方に移りました。",
    "person_withdrawn": "同意を取り消し、連絡先を削除しました。今後、連絡はしません。",
    "follow_up_created": "調査を作りました。人数を確かめてから「送る」を押してください。",
    "follow_up_sent": "送りました。メールは順に送られます。手紙とラベルを印刷してください。",
    "follow_up_closed": "調査を締め切りました。",
    "follow_up_answer_saved": "回答を登録しました。",
    "calendar_link_revoked": "カレンダーのリンクを取り消しました。このリンクはもう使えません。",
}


# Refusals shown after a redirect (a one-tap action that could not be done), by code as above.
PROBLEM_MESSAGES = {
    "promote_no_seat": PROMOTE_NO_SEAT,
}


def done_message(request: Request[Any, Any, Any]) -> str | None:
    return DONE_MESSAGES.get(request.query_params.get("done", ""))


def problem_message(request: Request[Any, Any, Any]) -> str | None:
    return PROBLEM_MESSAGES.get(request.query_params.get("problem", ""))


def see_other(
    path: str,
    *,
    done: str | None = None,
    anchor: str | None = None,
    problem: str | None = None,
) -> Redirect:
    """Post/redirect/get, naming the message (or the refusal) to show on arrival."""
    if done:
        if done not in DONE_MESSAGES:
            raise ValueError(f"unknown message {done!r}")
        path = f"{path}{'&' if '?' in path else '?'}done={quote(done)}"
    if problem:
        if problem not in PROBLEM_MESSAGES:
            raise ValueError(f"unknown problem {problem!r}")
        path = f"{path}{'&' if '?' in path else '?'}problem={quote(problem)}"
    if anchor:
        path = f"{path}#{anchor}"
    return Redirect(path=path, status_code=303, headers=NO_STORE)
