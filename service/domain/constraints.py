"""What a violated unique constraint means to the person who sent the write, by the
constraint's name (service/platform/db.py NAMING), for every staff write at once.

Each write checks first ("a venue of that name exists?") and says so by field; two identical
writes sent at the same moment (a double click, a retry) both pass that check, and the second
one's INSERT is refused by PostgreSQL. The one exception-to-HTTP mapping
(service/edge/http_errors.py) turns that refusal into the same named 409 the check gives,
instead of a 500. Writes that set a value (a hand figure, a target, the reporting window) are
upserts and never get here: the same value twice is simply a 200 twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from service.domain.errors import Conflict, DomainError
from service.platform.db import constraint_name


def _taken(code: str, field: str, message: str) -> tuple[str, str, str]:
    return code, field, message


_UNIQUE: dict[str, tuple[str, str, str]] = {
    "uq_venues_name": _taken("venue_exists", "name", "同じ名前の会場がすでにあります。"),
    "uq_organizations_name": _taken(
        "organization_exists", "name", "同じ名前の団体がすでにあります。"
    ),
    "uq_indicator_definitions_code": _taken(
        "code_taken", "code", "このコードはすでに使われています。"
    ),
    "uq_staff_users_username_lower": _taken(
        "username_taken", "username", "そのユーザー名はすでに使われています。"
    ),
    "uq_staff_feed_links_token_hash": _taken(
        "try_again", "token", "混み合っています。もう一度お試しください。"
    ),
}
# Set-a-value rows keyed by their primary key: written with upserts, so a violation here means
# a writer that did not; still a clear "try again", not a 500.
_TRY_AGAIN_KEYS = frozenset(
    {"pk_indicator_hand_figures", "pk_indicator_targets", "pk_fiscal_years"}
)


def meaning_of(exc: BaseException) -> DomainError | None:
    """The named error for a violated constraint of a staff write, or None (then the mapping
    goes on: a constraint nobody named is a bug and stays a 500)."""
    name = constraint_name(exc)
    if name is None:
        return None
    if name in _UNIQUE:
        code, field, message = _UNIQUE[name]
        return Conflict(message, code=code, fields={field: message})
    if name in _TRY_AGAIN_KEYS:
        return Conflict("混み合っています。もう一度お試しください。", code="try_again")
    return None


@contextmanager
def named_violations() -> Iterator[None]:
    """Around a staff write's flush: a violation with a meaning is raised as that DomainError
    right there, so a console form that catches refusals shows itself again with the field
    named (the transaction is rolled back by the refusal, as for any other)."""
    try:
        yield
    except IntegrityError as exc:
        meaning = meaning_of(exc)
        if meaning is None:
            raise
        raise meaning from exc
