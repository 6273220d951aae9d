"""The follow-up answer's rules as typed. The comment takes a browser's line breaks: a
textarea posts them as CR LF (the HTML form encoding), so a comment of two lines typed on a
phone is kept, with \\n, not refused as control characters; other control characters stay
refused. (The matching day's profile had the same fault; branch r3 mends it in its area.)"""

from __future__ import annotations

from datetime import date

import pytest

from service.domain import clock
from service.domain.errors import InvalidInput
from service.domain.followups.validation import check_answer
from service.platform.local_time import TOKYO


@pytest.mark.parametrize("typed", ["一行目\r\n二行目", "一行目\r二行目", "一行目\n二行目"])
def test_the_follow_up_comment_keeps_its_line_breaks(typed: str) -> None:
    assert check_answer({"status": "seeking", "comment": typed}).comment == "一行目\n二行目"


@pytest.mark.parametrize("typed", ["a\x00b", "a\u202eb", "a\x0bb"])
def test_other_control_characters_are_still_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_answer({"status": "seeking", "comment": typed})
    assert "comment" in refused.value.fields


def _month_after(d: date, months: int) -> str:
    n = d.year * 12 + d.month - 1 + months
    return f"{n // 12}-{n % 12 + 1:02d}"


def test_a_start_month_years_ahead_is_refused_not_counted_in_a_far_year() -> None:
    """The month decides the fiscal year a 就職した counts in: up to a year ahead is taken (a
    job starting next spring), 2099 is refused by name instead of hiding the hire."""
    today = clock.now().astimezone(TOKYO).date()
    for typed in ("2099-01", _month_after(today, 13)):
        with pytest.raises(InvalidInput) as refused:
            check_answer({"status": "employed", "started_on": typed})
        assert "1年先" in refused.value.fields["started_on"]
    ahead = check_answer({"status": "employed", "started_on": _month_after(today, 12)})
    assert ahead.started_on == date.fromisoformat(_month_after(today, 12) + "-01")
    typed = "２０２６年４月"  # full-width, as typed on a phone
    assert check_answer({"status": "employed", "started_on": typed}).started_on == date(2026, 4, 1)
