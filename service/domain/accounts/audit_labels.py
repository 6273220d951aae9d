"""The audit log as staff read it: Japanese names for the actions, the kinds of record and the
recorded fields, and values written out (dates in Japan time, はい／いいえ, lists joined)
instead of raw JSON with \\u escapes. The stored entries keep their stable English names (the
audit log is filtered and exported by them); only the page translates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from service.domain.accounts.schemas import ROLES
from service.platform.local_time import jp_date, jp_time

ACTION_LABELS = {
    "event.create": "イベントを作成",
    "event.update": "イベントを変更",
    "event.publish": "イベントを公開",
    "event.cancel": "イベントを中止",
    "session.create": "回を追加",
    "session.update": "回を変更",
    "session.cancel": "回を中止",
    "venue.create": "会場を登録",
    "organization.create": "団体を登録",
    "booking.view": "予約を表示",
    "booking.phone": "電話予約を登録",
    "booking.walk_in": "当日参加を登録",
    "booking.check_in": "受付",
    "booking.undo_check_in": "受付を取り消し",
    "booking.no_show": "無断欠席にする",
    "booking.undo_no_show": "無断欠席を取り消し",
    "booking.promote": "キャンセル待ちから繰り上げ",
    "booking.cancel": "予約を取り消し",
    "booking.companion_cancel": "同伴者を取り消し",
    "roster.view": "名簿を表示",
    "roster.search": "名簿を検索",
    "roster.print": "名簿を印刷",
    "roster.export": "名簿をCSVで書き出し",
    "calls.export": "電話連絡リストをCSVで書き出し",
    "call.reached": "電話連絡：連絡済",
    "call.no_answer": "電話連絡：不在",
    "call.declined": "電話連絡：辞退",
    "mail.retry": "メールを送り直し",
    "user.create": "スタッフを登録",
    "user.update": "スタッフを変更",
    "login_lock.clear": "ログインの制限を解除",
    "calendar_link.create": "カレンダー連携のアドレスを作成",
    "calendar_link.revoke": "カレンダー連携のアドレスを取り消し",
    "indicators.compile": "指標の集計を依頼",
    "indicators.hand_figure": "指標の手入力の数値を保存",
    "indicators.window": "集計の開始日を変更",
    "indicator.create": "指標を追加",
    "indicator.update": "指標を変更",
    "indicator.retire": "指標を廃止",
    "indicator.restore": "指標を戻す",
    "desk_record.create": "窓口の記録を追加",
    "desk_record.update": "窓口の記録を変更",
    "desk_record.delete": "窓口の記録を削除",
    "survey.paper_answer": "アンケート用紙の回答を登録",
    "retention.purge": "保存期間を過ぎた個人情報を消去",
    "matching.hire": "採用を記録",
    "matching.hire_corrected": "採用の記録を訂正",
    "matching.hire_withdrawn": "採用の記録を取り消し",
}

ENTITY_LABELS = {
    "event": "イベント",
    "matching_meeting": "面談",
    "session": "回",
    "booking": "予約",
    "staff_user": "スタッフ",
    "venue": "会場",
    "organization": "団体",
    "call_tasks": "電話連絡",
    "notification": "メール",
    "calendar_link": "カレンダー連携",
    "staff_feed_link": "カレンダー連携",
    "indicator": "指標",
    "desk_record": "窓口の記録",
    "fiscal_year": "年度",
}

FIELD_LABELS = {
    "title": "イベント名",
    "kind": "種類",
    "sector": "分野",
    "description": "内容",
    "tags": "タグ",
    "sub_kind": "区分",
    "contact": "問い合わせ先",
    "what_to_bring": "持ち物",
    "alarm_day_before": "前日のアラーム",
    "alarm_minutes_before": "開始前のアラーム（分）",
    "fee_yen": "参加費（円）",
    "audience": "対象",
    "arrival_note": "来場の目安",
    "max_companions": "同伴者の上限",
    "reminder_days": "お知らせの日（何日前）",
    "call_reminders": "前日の電話連絡",
    "status": "状態",
    "cohost_ids": "共催団体",
    "employer_ids": "参加企業",
    "event_id": "イベント",
    "venue_id": "会場",
    "starts_at": "開始",
    "ends_at": "終了",
    "capacity": "定員",
    "waitlist_limit": "キャンセル待ちの上限",
    "waitlist_count": "キャンセル待ちの人数",
    "booking_opens_at": "受付開始",
    "booking_closes_at": "受付締切",
    "cancel_reason": "取消・中止の理由",
    "reason": "理由",
    "is_online": "オンライン",
    "join_url": "参加用URL",
    "promoted_booking_ids": "繰り上げた予約",
    "change_notices": "変更のお知らせ（件）",
    "cancelled_booking_ids": "取り消した予約",
    "waitlist_position": "キャンセル待ちの順番",
    "channel": "受付方法",
    "checked_in_at": "受付した時刻",
    "no_show_at": "無断欠席にした時刻",
    "capacity_override": "定員を超えて受け付け",
    "party_size": "人数",
    "name": "名前",
    "username": "ユーザー名",
    "role": "役割",
    "organization_id": "団体",
    "disabled": "無効",
    "query": "検索語",
    "rows": "行数",
    "day": "日付",
    "state": "状態",
    "outcome": "結果",
    "call_tasks": "電話連絡",
    "address": "住所",
    "ward": "区",
    "value": "値",
    "month": "月",
    "score": "評価",
    "answered_on": "回答日",
    "answers": "回答",
    "notifications": "メール",
    "bulk": "一括",
    "cleared": "解除",
    "revoked": "取り消し",
    "retired_at": "廃止した日時",
    "window_starts_on": "集計の開始日",
    "fiscal_year": "年度",
}

VALUE_LABELS = {
    "confirmed": "予約確定",
    "waitlisted": "キャンセル待ち",
    "cancelled": "取消・中止",
    "scheduled": "予定",
    "draft": "下書き",
    "published": "公開中",
    "open": "未連絡",
    "done": "連絡済",
    "declined": "辞退",
    "reached": "連絡済",
    "no_answer": "不在",
    "web": "ウェブ",
    "phone": "電話",
    "walk_in": "当日参加",
    "staff": "窓口",
    **ROLES,
}

_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def entity_label(entity_type: str) -> str:
    return ENTITY_LABELS.get(entity_type, entity_type)


def _value(value: Any, words: Mapping[str, str] = VALUE_LABELS) -> str:
    if value is None or value == "":
        return "（なし）"
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, datetime):
        return f"{jp_date(value)} {jp_time(value)}"
    if isinstance(value, str):
        if _ISO_MOMENT.match(value):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            if moment.tzinfo is not None:
                return f"{jp_date(moment)} {jp_time(moment)}"
        return VALUE_LABELS.get(value, value)
    if isinstance(value, list | tuple):
        return "、".join(_value(v) for v in value) if value else "（なし）"
    if isinstance(value, Mapping):
        return "、".join(
            f"{FIELD_LABELS.get(str(k), str(k))}：{_value(v)}" for k, v in value.items()
        )
    return str(value)


def readable(
    values: Mapping[str, Any] | None, vocabulary: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(label, value) pairs for the page, in the recorded order; `vocabulary` adds the names of
    other areas' codes (kinds and sectors of events, wards) to this area's own."""
    words = {**(vocabulary or {}), **VALUE_LABELS}
    return [(FIELD_LABELS.get(k, k), _value(v, words)) for k, v in (values or {}).items()]
