"""The indicators' vocabularies, with the words the report uses."""

from __future__ import annotations

# The report's tables, in its order: (number, title).
SECTIONS = {
    "matching": ("I", "マッチング支援（プラットフォーム窓口運営）"),
    "care": ("II", "重点業種① 介護"),
    "service": ("III", "重点業種② サービス（警備、ビル・マンション管理、清掃）"),
    "community": ("IV", "重点業種③ まちづくり・地域共生"),
    "outcome": ("", "アウトカム評価"),
    "exchange": ("", "新現役交流会"),
}
UNITS = {"people": "人", "companies": "社", "cases": "件", "percent": "%"}
# How an indicator is measured.
MEASURES = {
    "attendance": "参加者（受付済みの予約と当日参加、同伴者を含む人数）",
    "employers": "参加企業（年度内で1社1回）",
    "record": "窓口の記録",
    "satisfaction": "満足度アンケート（4・5と答えた割合）",
    "hand": "手入力（月ごと、または年度の合計）",
}
# The desk's own records.
RECORD_KINDS = {
    "consultation": "相談",
    "supported_company": "支援企業",
    "placement": "雇用・就業",
    "job_opening": "求人獲得（掲載）",
    "silver_registration": "シルバー人材センター新規会員登録",
}
CONSULTATION_CHANNELS = {"desk": "窓口", "phone": "電話", "outreach": "出張相談会"}
SURVEY_SOURCES = {"web": "ウェブ（メールのリンク）", "paper": "用紙", "tablet": "窓口のタブレット"}
# Whose answers: people seen at the desk, or attendees of an event's session.
SURVEY_SUBJECTS = {"desk": "相談窓口", "event": "イベント"}
NARRATIVE_PARTS = {"evaluation": "評価", "plan": "取組"}
# Scope 0: every event (organizers and admins); otherwise a co-host organization's id.
ALL_SCOPE = 0
TOTAL = "total"
