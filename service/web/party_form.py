"""Companions (同伴者) on the booking forms: fields named as the API names their errors
(companions.<i>.name, companions.<i>.name_kana), so an error lands next to its field."""

from __future__ import annotations

from collections.abc import Mapping

from service.domain.bookings.schemas import COMPANIONS_MAX


def companion_rows(limit: int) -> list[int]:
    """The indices of the companion fields a form shows (the event's limit)."""
    return list(range(max(0, min(limit, COMPANIONS_MAX))))


def companions_from_form(data: Mapping[str, str]) -> list[dict[str, str]]:
    """The companions typed on a form; rows left empty are not companions. Indices are kept
    dense so that an error's index is the row's index on the form."""
    out: list[dict[str, str]] = []
    for i in range(COMPANIONS_MAX):
        name = data.get(f"companions.{i}.name", "")
        kana = data.get(f"companions.{i}.name_kana", "")
        if name.strip() or kana.strip():
            out.append({"name": name, "name_kana": kana})
    return out
