"""Follow-up vocabularies, with the words shown to people."""

from __future__ import annotations

from service.domain.people.enums import EMPLOYMENT_TYPES

__all__ = [
    "ANSWER_STATUSES",
    "ANSWER_VIA",
    "CAMPAIGN_STATUSES",
    "EMPLOYMENT_TYPES",
    "TARGET_CHANNELS",
    "TARGET_STATUSES",
]

CAMPAIGN_STATUSES = {"draft": "下書き", "sending": "送信中", "sent": "送付済み", "closed": "締切"}
# How each person is reached (their first usable contact preference).
TARGET_CHANNELS = {"mail": "メール", "post": "郵便", "phone": "電話"}
# mail: pending -> leased (a worker sends it) -> sent | failed; post: pending -> sent when the
# letters are printed; phone: pending -> sent once a call was made.
TARGET_STATUSES = {"pending": "未送付", "leased": "送信中", "sent": "送付済み", "failed": "送れず"}
ANSWER_STATUSES = {
    "employed": "就職した",
    "seeking": "就職活動中",
    "not_working": "就業していない",
    "no_answer": "回答しない",
}
ANSWER_VIA = {"web": "ウェブ", "paper": "郵便（用紙）", "phone": "電話"}
