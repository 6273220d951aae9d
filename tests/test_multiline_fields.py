"""Multi-line fields take a browser's line breaks: a textarea posts them as CR LF (the HTML
form encoding), so a comment of two lines typed on a phone is kept, with \\n, not refused as
control characters. Other control characters stay refused."""

from __future__ import annotations

import pytest

from service.domain.errors import InvalidInput
from service.domain.followups.validation import check_answer
from service.domain.matching.schemas import validate_profile


@pytest.mark.parametrize("typed", ["一行目\r\n二行目", "一行目\r二行目", "一行目\n二行目"])
def test_the_follow_up_comment_keeps_its_line_breaks(typed: str) -> None:
    assert check_answer({"status": "seeking", "comment": typed}).comment == "一行目\n二行目"


def test_the_matching_profile_keeps_its_line_breaks() -> None:
    profile = validate_profile({"profile": "経理20年\r\n簿記2級", "consent": True}).profile
    assert profile == "経理20年\n簿記2級"


@pytest.mark.parametrize("typed", ["a\x00b", "a\u202eb", "a\x0bb"])
def test_other_control_characters_are_still_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_answer({"status": "seeking", "comment": typed})
    assert "comment" in refused.value.fields
    with pytest.raises(InvalidInput) as refused:
        validate_profile({"profile": typed, "consent": True})
    assert "matching.profile" in refused.value.fields
