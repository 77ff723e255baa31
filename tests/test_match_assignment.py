"""Assignment: each row in at most one match, the best total, recurring amounts by nearest date."""

from __future__ import annotations

import hypothesis
import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recon.config import MatchingSettings
from recon.match import match
from recon.match.assignment import (
    _among_best,
    _best_per_component,
    _optimal,
    _optimal_per_component,
    assign_one_to_one,
    components,
    mutual_best,
    strongest_candidates,
)
from tests.match_rows import bank_rows, ledger_rows, linked

SETTINGS = MatchingSettings(bank_days_after_books=20, bank_days_before_books=20)


def _pairs(rows: list[tuple[int, int, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32, "score": pl.Float64, "date_diff_days": pl.Int64},
        orient="row",
    )


SMALL_GRAPHS = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(0, 20).map(lambda s: s / 20), st.integers(-6, 6)),
    max_size=40,
    unique_by=lambda pair: (pair[0], pair[1]),
)
"""(b_idx, l_idx, score, date_diff_days) of up to 40 pairs among 6 x 6 rows: ties in score and days are common."""


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


def test_a_dense_bucket_of_look_alike_dues_still_pairs_the_named_payer_days_away() -> None:
    # twenty same-amount dues nearer in date than the right one: pruning by date alone would drop it
    others = [
        {"id": f"o{i:02d}", "day": -4, "amount": 5000, "description": "Membership dues - " + name,
         "counterparty": name}
        for i, name in enumerate(f"{first} {last}" for first in ("Bo", "Cy", "Dee", "Eve") for last in
                                 ("Jones", "Brown", "Garcia", "Miller", "Davis"))
    ]  # fmt: skip
    right = {"id": "ana", "day": -5, "amount": 5000, "description": "Membership dues - Ana Smith",
             "counterparty": "Ana Smith"}  # fmt: skip
    # and every other payer's bank row, one day from the right ledger row: both sides of every pair are
    # crowded, and for both rows of the right pair it is the farthest in date
    their_deposits = [
        {"id": "b" + str(o["id"]), "day": -4, "amount": 5000, "description": "DEPOSIT DUES " + str(o["counterparty"])}
        for o in others
    ]
    bank = bank_rows({"id": "b", "day": 0, "amount": 5000, "description": "DEPOSIT DUES ANA SMITH"}, *their_deposits)
    result = match(bank, ledger_rows(*others, right), settings=MatchingSettings())
    assert ("b", "ana") in linked(result.links)
    assert {("b" + str(o["id"]), str(o["id"])) for o in others} <= linked(result.links)


def test_pruning_keeps_every_rows_best_pairs_and_reports_the_best_score_lost() -> None:
    # a dense bucket: ten bank and ten ledger look-alikes, the score falling with the day distance
    dense = _pairs([(b, e, round(0.90 - 0.01 * abs(b - e), 2), b - e) for b in range(10) for e in range(10)])
    kept, lost = strongest_candidates(dense, per_row=2)
    kept_pairs = set(kept.select("b_idx", "l_idx").iter_rows())
    assert {(i, i) for i in range(10)} <= kept_pairs  # the pairs the assignment needs
    assert (0, 2) not in kept_pairs  # both rows have two better candidates
    assert (0, 9) not in kept_pairs
    assert kept.height < dense.height
    assert set(assign_one_to_one(kept).select("b_idx", "l_idx").iter_rows()) == {(i, i) for i in range(10)}
    # the best score each row lost is a rival for `decide`: (0, 2) and (2, 0) at 0.88
    assert lost.filter((pl.col("b_idx") == 0) & (pl.col("l_idx") == 0)).select("lost_b", "lost_l").row(0) == (
        0.88,
        0.88,
    )


def test_pruning_keeps_ties_and_changes_nothing_when_no_row_is_crowded() -> None:
    tied = _pairs([(0, e, 0.9, 1) for e in range(4)] + [(b, 9, 0.7, 0) for b in range(1, 3)])
    kept, lost = strongest_candidates(tied, per_row=2)
    assert kept.height == tied.height  # every ledger row has one pair: all kept
    assert lost.is_empty()
    crowded = _pairs([(0, e, 0.9, 1) for e in range(4)] + [(b, e, 0.5, 3) for b in range(1, 4) for e in range(4)])
    kept, _ = strongest_candidates(crowded, per_row=2)
    assert {(0, e) for e in range(4)} <= set(kept.select("b_idx", "l_idx").iter_rows())  # the four tied 0.9s stay


@hypothesis.settings(max_examples=200, deadline=None)
@given(SMALL_GRAPHS)
def test_dense_components_in_numpy_take_the_same_pairs_as_one_frame_per_component(
    rows: list[tuple[int, int, float, int]],
) -> None:
    # random small graphs, ties in score and days included: the numpy loop must agree with `_optimal`
    pairs = _pairs(rows)
    graph = pairs.with_row_index("_pair").with_columns(components(pairs))
    expected = sorted(
        pair
        for _, component in graph.sort("component", "b_idx", "l_idx").group_by("component", maintain_order=True)
        for pair in _optimal(component)["_pair"].to_list()
    )
    columns = (graph[name].to_numpy() for name in ("component", "b_idx", "l_idx", "score", "date_diff_days"))
    assert sorted(_optimal_per_component(*columns).tolist()) == expected  # positions: `_pair` is the row number


@hypothesis.settings(max_examples=200, deadline=None)
@given(SMALL_GRAPHS)
def test_best_per_component_is_the_first_pair_of_each_component_in_sort_order(
    rows: list[tuple[int, int, float, int]],
) -> None:
    # the definition: sort by component, best score, nearest date, row order; take each component's first
    pairs = _pairs(rows).with_row_index("_pair").with_columns(components(_pairs(rows)))
    expected = (
        pairs.sort(
            "component", "score", pl.col("date_diff_days").abs(), "b_idx", "l_idx",
            descending=[False, True, False, False, False],
        )
        .group_by("component", maintain_order=True)
        .first()["_pair"]
        .sort()
        .to_list()
    )  # fmt: skip
    keys = [-pairs["score"].to_numpy(), np.abs(pairs["date_diff_days"].to_numpy()), pairs["b_idx"].to_numpy(),
            pairs["l_idx"].to_numpy()]  # fmt: skip
    assert sorted(_best_per_component(pairs["component"].to_numpy(), keys).tolist()) == expected


def _mutual_best_by_frames(pairs: pl.DataFrame) -> pl.DataFrame:
    """The frame-per-round `mutual_best` the numpy rounds replaced, as the reference."""
    order, descending = ["score", "abs_days", "b_idx", "l_idx"], [True, False, False, False]
    remaining = pairs.with_columns(pl.col("date_diff_days").abs().alias("abs_days")).sort(order, descending=descending)
    taken = []
    while not remaining.is_empty():
        best_of_bank = remaining.group_by("b_idx", maintain_order=True).first().select("b_idx", "l_idx")
        best_of_ledger = remaining.group_by("l_idx", maintain_order=True).first().select("b_idx", "l_idx")
        chosen = remaining.join(
            best_of_bank.join(best_of_ledger, on=["b_idx", "l_idx"]), on=["b_idx", "l_idx"], how="semi"
        )
        taken.append(chosen)
        remaining = remaining.join(chosen.select("b_idx"), on="b_idx", how="anti").join(
            chosen.select("l_idx"), on="l_idx", how="anti"
        )
    return pl.concat(taken).drop("abs_days") if taken else pairs.clear()


@hypothesis.settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 7), st.integers(0, 10).map(lambda s: s / 10), st.integers(-4, 4)),
        max_size=50,
        unique_by=lambda pair: (pair[0], pair[1]),
    )
)
def test_mutual_best_in_numpy_takes_the_same_pairs_in_the_same_order_as_frame_rounds(
    rows: list[tuple[int, int, float, int]],
) -> None:
    pairs = _pairs(rows)
    assert mutual_best(pairs).equals(_mutual_best_by_frames(pairs))


def _among_best_by_definition(row: np.ndarray, score: np.ndarray, per_row: int) -> np.ndarray:
    """The definition: a pair stays when its score reaches the `per_row`-th best score of its row
    (every pair of a row with `per_row` pairs or fewer stays)."""
    scores_of: dict[int, list[int]] = {}
    for r, s in zip(row.tolist(), score.tolist(), strict=True):
        scores_of.setdefault(r, []).append(s)
    threshold = {r: sorted(scores, reverse=True)[min(per_row, len(scores)) - 1] for r, scores in scores_of.items()}
    return np.array([s >= threshold[r] for r, s in zip(row.tolist(), score.tolist(), strict=True)], dtype=bool)


@hypothesis.settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 10_000)), min_size=1, max_size=80),
    st.integers(1, 5),
)
def test_among_best_keeps_the_pairs_reaching_their_rows_nth_best_score(
    rows: list[tuple[int, int]], per_row: int
) -> None:
    row = np.array([r for r, _ in rows], dtype=np.uint32)
    points = np.array([p for _, p in rows], dtype=np.int64)
    assert (_among_best(row, points, per_row) == _among_best_by_definition(row, points, per_row)).all()
