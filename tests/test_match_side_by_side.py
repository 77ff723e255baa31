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


def test_nested_inside_a_worker_it_still_finishes() -> None:
    def inner() -> tuple[int, int]:
        return side_by_side(lambda: 1, lambda: 2)

    # four nested calls on two workers: they would wait for each other forever if the inner ones needed a worker
    finished: list[object] = []
    runner = threading.Thread(
        target=lambda: finished.append(
            side_by_side(lambda: side_by_side(inner, inner), lambda: side_by_side(inner, inner))
        ),
        daemon=True,
    )
    runner.start()
    runner.join(timeout=10)
    assert finished == [(((1, 2), (1, 2)), ((1, 2), (1, 2)))]
