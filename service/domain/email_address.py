"""The one rule for an e-mail address, used where it is typed (booking forms, staff input) and
where it is mailed (notifications): an address accepted at the form is one the mailer sends to.

A plain ASCII addr-spec: a dot-atom local part (RFC 5322 atext, no quoted strings, comments or
display names), one @, and a host name with a dot. Deliberately narrower than the RFCs: what a
person types at a desk or on a phone, and nothing a To: header could misread.
"""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.utils import parseaddr

from service.domain.text_rules import has_forbidden_chars

EMAIL_MAX = 254
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"^({_ATEXT}(?:\.{_ATEXT})*)@({_LABEL}(?:\.{_LABEL})+)$")


class UnmailableAddress(ValueError):
    """Not an address the mailer would send to."""


def canonical_email(raw: str) -> str | None:
    """The address with its host lower-cased, None when blank; UnmailableAddress otherwise."""
    value = raw.strip()
    if not value:
        return None
    if len(value) > EMAIL_MAX or not value.isascii() or has_forbidden_chars(value):
        raise UnmailableAddress(raw)
    match = _ADDRESS.match(value)
    if match is None or len(match.group(1)) > 64:
        raise UnmailableAddress(raw)
    address = f"{match.group(1)}@{match.group(2).lower()}"
    # What the mail headers will make of it must be the address itself.
    if parseaddr(address)[1] != address:
        raise UnmailableAddress(raw)
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError) as exc:
        raise UnmailableAddress(raw) from exc
    return address
