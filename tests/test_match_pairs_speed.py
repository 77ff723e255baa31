"""The fast per-pair paths equal their straightforward definitions on small random inputs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from unittest import mock

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.config import MatchingSettings
from recon.match import assignment, blocking, comparisons

SETTINGS = MatchingSettings()
ROW = st.tuples(
    st.integers(0, 2),  # group (account and currency)
    st.sampled_from([100, 103, 200, -100, 0, 10_000, 9_700, 10**15, -(10**15) + 7]),  # amount
    st.integers(-12, 12),  # day
)


def _side(rows: list[tuple[int, int, int]]) -> blocking.Side:
    group, amount, day = (np.array(column, dtype=np.int64).reshape(-1) for column in zip(*rows, strict=True))
    return blocking.Side(group=group, amount=amount, day=day + 20_000)


def _pairs_of(keys: np.ndarray) -> set[tuple[int, int]]:
    b_idx, l_idx = blocking.split_keys(keys)
    return set(zip(b_idx.tolist(), l_idx.tolist(), strict=True))


def _every_pair(bank: list[tuple[int, int, int]], ledger: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    return [(b, e) for b in range(len(bank)) for e in range(len(ledger)) if bank[b][0] == ledger[e][0]]


def _sorting_in(polars: bool) -> contextlib.AbstractContextManager[object]:
    """Few keys sort in numpy, many in Polars (`blocking._argsort`): this draws either way."""
    return mock.patch.object(blocking, "ROWS_WORTH_A_PARALLEL_SORT", 0) if polars else contextlib.nullcontext()


def _on_all_rows(
    tier: Callable[..., np.ndarray],
    bank: list[tuple[int, int, int]],
    ledger: list[tuple[int, int, int]],
    *,
    polars: bool,
) -> np.ndarray:
    """The tier's pair keys on every row of both sides, sorting in Polars or in numpy."""
    with _sorting_in(polars):
        return tier(
            _side(bank),
            _side(ledger),
            bank_rows=np.arange(len(bank)),
            ledger_rows=np.arange(len(ledger)),
            settings=SETTINGS,
        )


@settings(max_examples=150, deadline=None)
@given(bank=st.lists(ROW, min_size=1, max_size=15), ledger=st.lists(ROW, min_size=1, max_size=15), polars=st.booleans())
def test_exact_amount_pairs_are_the_cross_join_filtered_by_group_amount_and_window(
    bank: list[tuple[int, int, int]], ledger: list[tuple[int, int, int]], polars: bool
) -> None:
    # amounts 10^15 apart make the amount a dense rank instead of an offset: both ways are covered
    fast = _on_all_rows(blocking.exact_amount_in_window, bank, ledger, polars=polars)
    naive = {
        (b, e)
        for b, e in _every_pair(bank, ledger)
        if bank[b][1] == ledger[e][1] and -3 <= bank[b][2] - ledger[e][2] <= 7
    }
    assert len(fast) == len(naive)
    assert _pairs_of(fast) == naive


@settings(max_examples=150, deadline=None)
@given(bank=st.lists(ROW, min_size=1, max_size=15), ledger=st.lists(ROW, min_size=1, max_size=15), polars=st.booleans())
def test_tolerance_band_is_the_cross_join_filtered_by_sign_tolerance_and_window(
    bank: list[tuple[int, int, int]], ledger: list[tuple[int, int, int]], polars: bool
) -> None:
    fast = _on_all_rows(blocking.tolerance_band, bank, ledger, polars=polars)

    def allowed(amount: int) -> int:
        return max(500, int(abs(amount) * 3.0 / 100 // 1))

    naive = {
        (b, e)
        for b, e in _every_pair(bank, ledger)
        if np.sign(bank[b][1]) == np.sign(ledger[e][1])
        and 0 < abs(bank[b][1] - ledger[e][1]) <= allowed(ledger[e][1])
        and -3 <= bank[b][2] - ledger[e][2] <= 7
    }
    assert _pairs_of(fast) == naive


def _token_frame(idx: str, tokens: list[list[str]]) -> pl.DataFrame:
    rows = [(row, token) for row, row_tokens in enumerate(tokens) for token in sorted(set(row_tokens))]
    frame = pl.DataFrame(rows, schema={idx: pl.UInt32, "token": pl.String}, orient="row")
    return frame.with_columns(pl.col("token").str.extract(r"^([a-z]+)\d", 1).alias("prefix"))


TOKENS = st.lists(st.sampled_from(["inv1", "inv2", "chk1", "chk7", "n123", "r9"]), max_size=3)


@settings(max_examples=150, deadline=None)
@given(bank=st.lists(TOKENS, min_size=1, max_size=6), ledger=st.lists(TOKENS, min_size=1, max_size=6))
def test_reference_signals_on_the_pairs_with_tokens_equal_the_definition_on_every_pair(
    bank: list[list[str]], ledger: list[list[str]]
) -> None:
    pairs = pl.DataFrame(
        [(b, e) for b in range(len(bank)) for e in range(len(ledger))],
        schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32},
        orient="row",
    )
    signals = comparisons.reference_signals(pairs, _token_frame("b_idx", bank), _token_frame("l_idx", ledger))

    def prefix(token: str) -> str | None:
        return token[0 : len(token.rstrip("0123456789"))] if token[-1].isdigit() else None

    expected = []
    for b, e in pairs.iter_rows():
        shared = set(bank[b]) & set(ledger[e])
        kinds = {prefix(t) for t in bank[b]} & {prefix(t) for t in ledger[e]} - {None}
        expected.append((bool(shared), not shared and bool(kinds), min(shared) if shared else None))
    got = signals.with_columns(pl.col("shared_reference").cast(pl.String)).rows()
    assert got == expected


PAIR = st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 10).map(lambda s: s / 10), st.integers(-6, 6))


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(PAIR, max_size=40, unique_by=lambda pair: (pair[0], pair[1])), per_row=st.integers(1, 4))
def test_lost_rivals_are_the_best_score_each_row_lost(rows: list[tuple[int, int, float, int]], per_row: int) -> None:
    pairs = pl.DataFrame(
        rows,
        schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32, "score": pl.Float64, "date_diff_days": pl.Int64},
        orient="row",
    )
    kept, lost_rivals = assignment.strongest_candidates(pairs, per_row=per_row)
    lost = pairs.join(kept, on=["b_idx", "l_idx"], how="anti")
    expected = (
        kept.select("b_idx", "l_idx")
        .join(lost.group_by("b_idx").agg(pl.col("score").max().alias("lost_b")), on="b_idx", how="left")
        .join(lost.group_by("l_idx").agg(pl.col("score").max().alias("lost_l")), on="l_idx", how="left")
        .filter(pl.col("lost_b").is_not_null() | pl.col("lost_l").is_not_null())
    )
    if lost.is_empty():
        assert lost_rivals.is_empty()
    else:
        assert lost_rivals.equals(expected)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(PAIR, min_size=1, max_size=40, unique_by=lambda pair: (pair[0], pair[1])))
def test_component_sizes_count_the_distinct_rows_of_each_component(rows: list[tuple[int, int, float, int]]) -> None:
    pairs = pl.DataFrame([row[:2] for row in rows], schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32}, orient="row")
    pairs = pairs.with_columns(assignment.components(pairs))
    component, n_bank, n_ledger = assignment._components_with_sizes(pairs)
    expected = pairs.select(pl.col("b_idx").n_unique().over("component"), pl.col("l_idx").n_unique().over("component"))
    assert component.tolist() == pairs["component"].to_list()
    assert n_bank.tolist() == expected["b_idx"].to_list()
    assert n_ledger.tolist() == expected["l_idx"].to_list()


def _collect_each_plan_on_its_own(collect_all: Callable[..., list[pl.DataFrame]]) -> Callable[..., list[pl.DataFrame]]:
    """`pl.collect_all` that never shares a common subplan between the frames: each runs its own copy."""

    def collect(frames: list[pl.LazyFrame], **kwargs: object) -> list[pl.DataFrame]:
        return collect_all(frames, **{**kwargs, "optimizations": pl.QueryOptFlags(comm_subplan_elim=False)})

    return collect


def test_description_scores_per_distinct_text_equal_scoring_every_pair_however_polars_plans_them() -> None:
    """Scoring each distinct (bank text, ledger texts) once must not depend on Polars computing the
    distinct texts once for both plans that read them: run apart, they must come in the same order."""
    rng = np.random.default_rng(7)
    words = np.array(["acme", "supply", "payroll", "stripe", "uber", "rent", "hydro", "north", "bank", "fee"])

    def texts(n: int) -> list[str]:
        return [" ".join(rng.choice(words, size=rng.integers(1, 4))) for _ in range(n)]

    bank = pl.DataFrame({"norm_description": texts(3_000)})
    ledger = pl.DataFrame({"norm_description": texts(3_000), "norm_counterparty": texts(3_000)})
    pairs = pl.DataFrame(
        {"b_idx": rng.integers(0, 3_000, 40_000), "l_idx": rng.integers(0, 3_000, 40_000)},
        schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32},
    )
    bank_text = bank["norm_description"].to_numpy()[pairs["b_idx"].to_numpy()]
    ledger_rows = pairs["l_idx"].to_numpy()
    description, counterparty = (ledger[column].to_numpy()[ledger_rows] for column in ledger.columns)
    no_space = np.frompyfunc(lambda text: text.replace(" ", ""), 1, 1)
    expected = np.maximum.reduce([
        comparisons.text_similarity(bank_text, description),
        comparisons.text_similarity(bank_text, counterparty),
        comparisons.compact_similarity(no_space(bank_text), no_space(counterparty)),
    ])  # fmt: skip
    with mock.patch.object(comparisons.pl, "collect_all", _collect_each_plan_on_its_own(pl.collect_all)):
        got = comparisons.description_similarity(pairs, bank, ledger).to_numpy()
    np.testing.assert_array_equal(got, expected)
