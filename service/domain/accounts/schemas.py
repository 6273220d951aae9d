"""The accounts area's vocabularies, for the adapters as much as for the models."""

from __future__ import annotations

ROLES = {
    "admin": "管理者",
    "organizer": "主催スタッフ",
    "cohost": "共催スタッフ",
    # A company taking part in matching days: only its own company's choices, timetable and
    # outcomes (service/domain/matching).
    "company": "参加企業スタッフ",
}
