"""Checks every request passes before its handler runs, whatever the route: ids in the path
that no database row can have, and control characters in the query string.

A path id beyond PostgreSQL's bigint (/events/9223372036854775808) names nothing: 404, as an
unknown id does, instead of the driver refusing the parameter (a 500). A NUL or other control
character in a query parameter cannot be searched for (PostgreSQL refuses NUL in text): 422
naming the parameter.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from service.domain.errors import InvalidInput, NotFound
from service.domain.text_rules import INT64_MAX, forbidden_chars_message, has_forbidden_chars

PARAMETER_LABEL = "検索条件"


async def check_request(request: Request[Any, Any, Any]) -> None:
    for name, value in request.path_params.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
            # The same code the route gives an unknown id: session_id -> session_not_found.
            code = f"{name.removesuffix('_id')}_not_found" if name.endswith("_id") else "not_found"
            raise NotFound("お探しのものは見つかりませんでした。", code=code)
    if not request.scope["query_string"]:
        return  # most requests (every booking) have no query to parse
    fields: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if has_forbidden_chars(key) or (isinstance(value, str) and has_forbidden_chars(value)):
            name = key if not has_forbidden_chars(key) else "query"
            fields[name] = forbidden_chars_message(PARAMETER_LABEL)
    if fields:
        raise InvalidInput(fields=fields)
