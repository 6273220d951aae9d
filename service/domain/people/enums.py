"""The people vocabularies, with the words shown to people."""

from __future__ import annotations

from service.domain.bookings.enums import AGE_BANDS, PERSON_WARDS

__all__ = [
    "AGE_BANDS",
    "CONTACT_METHODS",
    "EMPLOYMENT_TYPES",
    "INTERESTS",
    "PERSON_WARDS",
    "REGISTERED_VIA",
]

# How a person wants to be contacted, in the order they prefer.
CONTACT_METHODS = {"mail": "メール", "phone": "電話", "post": "郵便"}
# Where the record began: the desk's tablet form, a call to the desk, the public page, or a
# booking (consent given with the booking).
REGISTERED_VIA = {"desk": "窓口", "phone": "電話", "web": "ウェブ", "booking": "予約"}
# Sectors (the events' vocabulary) and kinds of work a person wants to hear about.
INTERESTS = {
    "care": "介護",
    "security": "警備",
    "building": "ビル・マンション管理",
    "cleaning": "清掃",
    "community": "まちづくり・地域共生",
    "office": "事務",
    "driving": "運転・配送",
    "part_time": "短時間・パート",
    "full_time": "フルタイム",
    "side_job": "兼業・副業・プロボノ",
    "volunteer": "ボランティア・地域活動",
}
# How a person was taken on (a follow-up answer, a hire after a matching day's meeting).
EMPLOYMENT_TYPES = {
    "regular": "正社員",
    "part_time": "パート・アルバイト",
    "dispatch": "派遣",
    "silver": "シルバー人材センター",
    "other": "その他",
}
