"""The follow-up form's comment takes a browser's line breaks: a textarea posts them as CR LF
(the HTML form encoding), so a comment of two lines typed on a phone is kept, with \\n, not
refused as control characters. Other control characters stay refused. (The matching day's
profile had the same fault; branch r3 mends it in its area.)"""

from __future__ import annotations

import pytest

from service.domain.errors import InvalidInput
from service.domain.followups.validation import check_answer


@pytest.mark.parametrize("typed", ["一行目\r\n二行目", "一行目\r二行目", "一行目\n二行目"])
def test_the_follow_up_comment_keeps_its_line_breaks(typed: str) -> None:
    assert check_answer({"status": "seeking", "comment": typed}).comment == "一行目\n二行目"


@pytest.mark.parametrize("typed", ["a\x00b", "a\u202eb", "a\x0bb"])
def test_other_control_characters_are_still_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_answer({"status": "seeking", "comment": typed})
    assert "comment" in refused.value.fields
