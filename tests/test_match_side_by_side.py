"""`side_by_side`: both results in order, both at once, and an error from either side reaches the caller."""

from __future__ import annotations

import threading

import pytest

from recon.match.side_by_side import side_by_side


def test_both_run_at_once_and_come_back_in_order() -> None:
    meeting = threading.Barrier(2, timeout=5)  # broken (an error) unless both sides wait at the same time

    def side(name: str) -> str:
        meeting.wait()
        return name

    assert side_by_side(lambda: side("first"), lambda: side("second")) == ("first", "second")


@pytest.mark.parametrize("failing", ["first", "second"])
def test_an_error_on_either_side_reaches_the_caller(failing: str) -> None:
    def side(name: str) -> str:
        if name == failing:
            raise ValueError(f"{name} failed")
        return name

    with pytest.raises(ValueError, match=f"{failing} failed"):
        side_by_side(lambda: side("first"), lambda: side("second"))
