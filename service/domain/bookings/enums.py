"""Booking vocabularies, with the words shown to people."""

from __future__ import annotations

BOOKING_STATUSES = {"confirmed": "予約確定", "waitlisted": "キャンセル待ち", "cancelled": "取消"}
CHANNELS = {"web": "ウェブ", "phone": "電話", "walk_in": "当日参加", "staff": "窓口"}
AGE_BANDS = {
    "under_50": "50歳未満",
    "50_54": "50〜54歳",
    "55_59": "55〜59歳",
    "60_64": "60〜64歳",
    "65_69": "65〜69歳",
    "70_74": "70〜74歳",
    "75_over": "75歳以上",
}
PERSON_WARDS = {"aoi": "葵区", "suruga": "駿河区", "shimizu": "清水区", "other": "静岡市外"}
HEARD_FROM = {
    "dm": "ダイレクトメール（DM）",
    "line": "LINE",
    "magazine": "求人情報誌",
    "website": "ホームページ",
    "hello_work": "ハローワーク",
    "other": "その他",
}
