"""The programme's vocabularies, with the Japanese words shown to people."""

from __future__ import annotations

ORGANIZATION_KINDS = {"organizer": "主催", "cohost": "共催", "employer": "参加企業"}
WARDS = {"aoi": "葵区", "suruga": "駿河区", "shimizu": "清水区", "online": "オンライン"}
EVENT_KINDS = {
    "job_fair": "仕事説明会・面談会",
    "seminar": "セミナー",
    "training": "研修",
    "consultation": "出張相談会",
    "exchange": "交流会",
    "activity": "地域活動",
}
SECTORS = {
    "care": "介護",
    "security": "警備",
    "building": "ビル・マンション管理",
    "cleaning": "清掃",
    "community": "まちづくり・地域共生",
    "general": "全般",
}
# Kinds the programme's report counts apart (ミドルシニア / 兼業・副業・プロボノ seminars).
SUB_KINDS = {"middle_senior": "ミドルシニア", "side_job": "兼業・副業・プロボノ"}
EVENT_STATUSES = {"draft": "下書き", "published": "公開中", "cancelled": "中止"}
SESSION_STATUSES = {"scheduled": "予定", "cancelled": "中止"}
