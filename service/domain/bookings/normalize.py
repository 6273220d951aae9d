"""Turning what people really type into canonical values (jaconv and unicodedata, no tables)."""

from __future__ import annotations

import re
import unicodedata

import jaconv

from service.domain.email_address import UnmailableAddress, canonical_email
from service.domain.text_rules import has_forbidden_chars

# Booking codes are 12 digits, written 1234-5678-9012: easy to read out and type on a phone's
# number pad. Codes issued earlier (10 symbols of LEGACY_CODE_ALPHABET) still work.
CODE_LENGTH = 12
CODE_GROUP = 4
LEGACY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LEGACY_CODE_LENGTH = 10
NAME_MAX = 50
EMAIL_MAX = 254

# Characters people type between phone digits: hyphens, dashes, the long vowel mark, brackets.
_PHONE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−ーｰ()（）.]")
_MOBILE_PREFIXES = ("020", "050", "060", "070", "080", "090")
_KANA = re.compile(r"^[ァ-ヶー・ヽヾ ]+$")


class InvalidValue(ValueError):
    """The message is plain Japanese, ready to show next to the field."""


def _has_control(value: str) -> bool:
    return has_forbidden_chars(value)


def clean_text(value: str) -> str:
    """NFKC (full-width ASCII to half-width, half-width kana to full-width), surrounding and
    ideographic spaces trimmed, runs of spaces collapsed to one."""
    return " ".join(unicodedata.normalize("NFKC", value).split())


def as_typed(value: str) -> str:
    """A person's name as typed: only the spaces around and between words are tidied (any
    kind of space, runs of them, to one). No Unicode normalization: NFKC turns 神 (U+FA19)
    into 神 (U+795E), 塚 (U+FA10) into 塚, ① into 1 and ㈱ into (株), and even NFC changes
    the compatibility ideographs, which people choose for their own names. Searches and
    duplicate checks compare normalized forms instead (the roster search reads
    replace(normalize(name, NFKC), ' ', ''); duplicates are found by phone and reading)."""
    return " ".join(value.split())


def normalize_name(raw: str) -> str:
    if _has_control(raw):
        raise InvalidValue("お名前に使えない文字が含まれています。")
    value = as_typed(raw)
    if not value:
        raise InvalidValue("お名前を入力してください。")
    if len(value) > NAME_MAX:
        raise InvalidValue(f"お名前は{NAME_MAX}文字以内で入力してください。")
    return value


def normalize_kana(raw: str) -> str:
    if _has_control(raw):
        raise InvalidValue("ふりがなに使えない文字が含まれています。")
    value = jaconv.hira2kata(clean_text(raw))
    if not value:
        raise InvalidValue("ふりがなを入力してください。")
    if len(value) > NAME_MAX:
        raise InvalidValue(f"ふりがなは{NAME_MAX}文字以内で入力してください。")
    if not _KANA.match(value):
        raise InvalidValue("ふりがなは、ひらがなかカタカナで入力してください。")
    return value


def normalize_phone(raw: str) -> str:
    """Digits only: 0542542770, 09012345678."""
    if _has_control(raw.replace("\t", " ")):
        raise InvalidValue("電話番号は数字で入力してください（例：090-1234-5678）。")
    value = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if not value:
        raise InvalidValue("電話番号を入力してください（例：090-1234-5678）。")
    if value.startswith("+81"):
        value = "0" + value[3:]
    if not value.isascii() or not value.isdigit():
        raise InvalidValue("電話番号は数字で入力してください（例：090-1234-5678）。")
    ok = value.startswith("0") and (
        (len(value) == 11 and value.startswith(_MOBILE_PREFIXES))
        or (len(value) == 10 and not value.startswith(_MOBILE_PREFIXES))
    )
    if not ok:
        raise InvalidValue(
            "電話番号の桁数が正しくありません。市外局番から入力してください"
            "（例：054-123-4567、090-1234-5678）。"
        )
    return value


def format_phone(digits: str) -> str:
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if digits.startswith(("0120", "0800")):
        return f"{digits[:4]}-{digits[4:7]}-{digits[7:]}"
    if len(digits) == 10 and digits[:2] in ("03", "06"):
        return f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    if len(digits) == 10:
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return digits


def normalize_email(raw: str) -> str | None:
    """The same rule the mailer applies (service.domain.email_address): an address accepted
    here is an address mailed."""
    try:
        return canonical_email(unicodedata.normalize("NFKC", raw))
    except UnmailableAddress:
        raise InvalidValue(
            "メールアドレスの形式が正しくありません。半角英数字で入力してください"
            "（例：taro@example.jp）。"
        ) from None


def normalize_code(raw: str) -> str | None:
    """A booking code as typed (full-width digits, with hyphens, dashes or spaces) or None."""
    value = re.sub(r"[\s\-‐‑‒–—―−ーｰ]", "", unicodedata.normalize("NFKC", raw)).upper()
    if len(value) == CODE_LENGTH and value.isascii() and value.isdigit():
        return value
    if len(value) == LEGACY_CODE_LENGTH and all(c in LEGACY_CODE_ALPHABET for c in value):
        return value
    return None


def code_length_problem(raw: str) -> str | None:
    """What to say of a code of digits that cannot be one (11 digits, a digit short): codes
    have 12 digits, and people are told so instead of 「見つかりませんでした」. None when the
    code has 12 digits, is empty, or is not all digits (legacy codes, or anything else that
    the look-up answers as not found)."""
    value = re.sub(r"[\s\-‐‑‒–—―−ーｰ]", "", unicodedata.normalize("NFKC", raw))
    if not value or not value.isascii() or not value.isdigit() or len(value) == CODE_LENGTH:
        return None
    return (
        f"予約番号は{CODE_LENGTH}桁の数字です（例：1234-5678-9012）。"
        f"入力された番号は{len(value)}桁です。予約のときの画面やメールでご確認ください。"
    )


def format_code(code: str) -> str:
    """1234-5678-9012 (a legacy code: ABCDE-FGHJK)."""
    if len(code) == LEGACY_CODE_LENGTH:
        return f"{code[:5]}-{code[5:]}"
    return "-".join(code[i : i + CODE_GROUP] for i in range(0, len(code), CODE_GROUP))
