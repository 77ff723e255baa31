"""open_reasons by index arithmetic equals the plain definition by joins; a person's rejection is a reason."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.config import MatchingSettings
from recon.match import decision, match
from recon.match.decision import open_reasons
from tests.match_rows import bank_rows, ledger_rows

SETTINGS = MatchingSettings()


def _open_reasons_by_joins(
    rows: pl.DataFrame, pairs: pl.DataFrame, matched: pl.DataFrame, elsewhere: pl.DataFrame
) -> pl.DataFrame:
    """The definition: each open row's best candidate (highest score, the first such in the candidates'
    order) decides, and a row without candidates is outside the window when a same-amount row is near."""
    best = (
        pairs.sort("score", descending=True, maintain_order=True)
        .group_by("b_idx")
        .agg(pl.col("score").first().alias("best_score"), (pl.col("amount_diff_minor").first() != 0).alias("differs"))
    )
    open_rows = (
        rows.join(matched, on="b_idx", how="anti")
        .join(best, on="b_idx", how="left")
        .join(elsewhere.with_columns(pl.lit(True).alias("elsewhere")), on="b_idx", how="left")
    )
    reason = (
        pl.when(pl.col("best_score").is_null() & pl.col("elsewhere").fill_null(False))
        .then(pl.lit(decision.OUTSIDE_DATE_WINDOW))
        .when(pl.col("best_score").is_null())
        .then(pl.lit(decision.NO_CANDIDATE))
        .when(pl.col("differs"))
        .then(pl.lit(decision.AMOUNT_DIFFERS))
        .when(pl.col("best_score") < SETTINGS.suggest_threshold)
        .then(pl.lit(decision.BELOW_THRESHOLD))
        .otherwise(pl.lit(decision.AMBIGUOUS))
    )
    return open_rows.select("b_idx", reason.alias("reason"))


def _rows(values: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"b_idx": values}, schema={"b_idx": pl.UInt32})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 4).map(lambda s: s / 4), st.integers(-1, 1)), max_size=30),
    st.sets(st.integers(0, 9)),
    st.sets(st.integers(0, 9)),
    st.sets(st.integers(0, 9)),
)
def test_open_reasons_equal_the_join_definition(
    candidates: list[tuple[int, float, int]], rows: set[int], matched: set[int], elsewhere: set[int]
) -> None:
    # ties in score between a pair at the same amount and one differing included: the first one decides
    pairs = pl.DataFrame(
        candidates, schema={"b_idx": pl.UInt32, "score": pl.Float64, "amount_diff_minor": pl.Int64}, orient="row"
    )
    expected = _open_reasons_by_joins(_rows(sorted(rows)), pairs, _rows(sorted(matched)), _rows(sorted(elsewhere)))
    found = open_reasons(
        _rows(sorted(rows)), "b_idx", pairs, _rows(sorted(matched)), same_amount_elsewhere=_rows(sorted(elsewhere)),
        settings=SETTINGS,
    )  # fmt: skip
    assert found.sort("b_idx").equals(expected.sort("b_idx"))


def test_a_row_whose_only_candidate_a_person_rejected_says_so() -> None:
    bank = bank_rows({"id": "b1", "day": 10, "amount": -7200, "description": "GOOGLE WORKSPACE"})
    ledger = ledger_rows(
        {"id": "l1", "day": 10, "amount": -7200, "description": "Google Workspace"},
        {"id": "l2", "day": 40, "amount": -7200, "description": "Google Workspace"},  # same amount, outside the window
    )
    rejected = pl.DataFrame({"bank_txn_id": ["b1"], "ledger_entry_id": ["l1"]})
    result = match(bank, ledger, settings=SETTINGS, rejected=rejected)
    reasons = dict(result.open_items.select("row_id", "reason").iter_rows())
    assert reasons == {"b1": "rejected", "l1": "rejected", "l2": "outside_date_window"}
    # once the rejected row is gone (matched, deleted), the reason is what is left
    alone = match(bank, ledger.filter(pl.col("entry_id") == "l2"), settings=SETTINGS, rejected=rejected)
    assert dict(alone.open_items.select("row_id", "reason").iter_rows())["b1"] == "outside_date_window"
