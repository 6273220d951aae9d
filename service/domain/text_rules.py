"""What any typed text may contain, for public and staff input alike.

One rule for every text field (names, titles, reasons, tags, usernames, search words): no
control characters (a line break or tab only where the field is multi-line), no invisible
format characters (zero-width spaces and joiners, byte-order marks, bidirectional overrides
and isolates, which can make a title read backwards or look empty), no private-use or
surrogate code points, and no U+FFFD (what undecodable bytes became). PostgreSQL refuses NUL in
text outright; the rest would be stored and shown to others.
"""

from __future__ import annotations

import unicodedata

FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
MULTILINE_ALLOWED = frozenset("\n\t")
INT64_MAX = 2**63 - 1


# U+FFFD stands where bytes could not be read as UTF-8 (a form posted in another encoding, a
# broken client): nobody types it, and stored it would show as garbage in rosters and mails.
REPLACEMENT_CHARACTER = "\ufffd"


def has_forbidden_chars(value: str, *, multiline: bool = False) -> bool:
    if REPLACEMENT_CHARACTER in value:
        return True
    # str.isprintable() is False for every forbidden category (and for spaces other than
    # U+0020, line breaks and unassigned code points), so printable text, the usual case, is
    # answered in C; only the rest is read character by character.
    if value.isprintable():
        return False
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    return any(unicodedata.category(c) in FORBIDDEN_CATEGORIES and c not in allowed for c in value)


def unify_line_breaks(value: str) -> str:
    """A multi-line field's text with its line breaks as \\n: browsers post a textarea's line
    breaks as CR LF (the HTML form encoding), and CR alone is no character anyone typed."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def forbidden_chars_message(label: str) -> str:
    return f"{label}に使えない文字（制御文字や見えない文字）が含まれています。"


def is_database_id(value: object) -> bool:
    """A positive id that fits PostgreSQL's bigint."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT64_MAX
