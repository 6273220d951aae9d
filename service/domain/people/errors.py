"""Why a person cannot be found, registered or changed."""

from __future__ import annotations

from service.domain.errors import Conflict, NotFound


def person_not_found() -> NotFound:
    return NotFound("登録者が見つかりませんでした。", code="person_not_found")


def person_exists() -> Conflict:
    return Conflict("同じ電話番号とふりがなの方がすでに登録されています。", code="person_exists")


def person_withdrawn() -> Conflict:
    return Conflict(
        "この方は登録の取り消し（配信停止）をされています。連絡先は残っていません。",
        code="person_withdrawn",
    )


def merge_same_person() -> Conflict:
    return Conflict("同じ登録者どうしは統合できません。", code="merge_same_person")
