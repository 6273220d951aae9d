"""The matching day's vocabularies, with the words shown to people."""

from __future__ import annotations

# Event kinds that may run as a matching day.
MATCHING_KINDS = ("job_fair", "exchange")
SCHEDULE_STATUSES = {
    "none": "未作成",
    "building": "作成中",
    "ready": "作成済み",
    "failed": "作成できませんでした",
}
OUTCOMES = {
    "matched": "マッチング成立",
    "considering": "継続検討",
    "not_matched": "不成立",
    "absent": "欠席",
}
# solver: placed by the timetable job; manual: added or moved by staff (kept by rebuilds).
MEETING_SOURCES = ("solver", "manual")
# Limits on the settings (a day has at most this many slots; tables per company).
MAX_SLOT_MINUTES = 180
MAX_BREAK_MINUTES = 120
MAX_MEETINGS = 50
MAX_TABLES = 20
PROFILE_MAX = 1000
BRINGS_MAX = 2000
NOTE_MAX = 1000
PLACE_MAX = 200
URL_MAX = 500
MAX_RANKED = 200
