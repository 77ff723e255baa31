"""Assignment: each row in at most one match, the best total, recurring amounts by nearest date."""

from __future__ import annotations

import polars as pl

from recon.config import MatchingSettings
from recon.match import match
from recon.match.assignment import assign_one_to_one, mutual_best
from tests.match_rows import bank_rows, ledger_rows, linked

SETTINGS = MatchingSettings(bank_days_after_books=20, bank_days_before_books=20)


def _pairs(rows: list[tuple[int, int, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32, "score": pl.Float64, "date_diff_days": pl.Int64},
        orient="row",
    )


def test_two_monthly_subscriptions_pair_with_the_nearest_dates() -> None:
    # a wide window lets each bank row see both months: the nearest dates must win
    sub = {"amount": -5499, "description": "POS DEBIT ADOBE *CREATIVE CLD"}
    book = {"amount": -5499, "description": "Adobe subscription", "counterparty": "Adobe Creative Cloud"}
    result = match(
        bank_rows({"id": "mar", "day": 1, **sub}, {"id": "apr", "day": 15, **sub}),
        ledger_rows({"id": "MAR", "day": 0, **book}, {"id": "APR", "day": 14, **book}),
        settings=SETTINGS,
    )
    assert linked(result.links) == {("mar", "MAR"), ("apr", "APR")}


def test_optimal_assignment_beats_greedy_where_one_strong_pair_would_strand_two_rows() -> None:
    pairs = _pairs([(0, 0, 0.95, 0), (0, 1, 0.90, 1), (1, 0, 0.90, 1)])
    greedy = set(mutual_best(pairs).select("b_idx", "l_idx").iter_rows())
    optimal = set(assign_one_to_one(pairs).select("b_idx", "l_idx").iter_rows())
    assert greedy == {(0, 0)}
    assert optimal == {(0, 1), (1, 0)}


def test_a_star_takes_its_best_pair() -> None:
    pairs = _pairs([(0, 0, 0.70, 0), (0, 1, 0.95, 2), (0, 2, 0.95, 1)])
    assert assign_one_to_one(pairs).select("b_idx", "l_idx").rows() == [(0, 2)]


def test_each_row_is_taken_at_most_once() -> None:
    pairs = _pairs([(b, e, 0.5 + 0.01 * ((b * 7 + e * 3) % 11), b - e) for b in range(6) for e in range(5)])
    taken = assign_one_to_one(pairs)
    assert taken.height == 5
    assert taken["b_idx"].n_unique() == taken["l_idx"].n_unique() == 5
