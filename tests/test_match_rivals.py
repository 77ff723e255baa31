"""decide's rivals by index arithmetic equal the plain definition by joins."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.match.decision import _rivals


def _rivals_by_joins(assigned: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """The definition: every candidate sharing a row with an assigned pair, minus that pair itself."""
    keyed = assigned.select("b_idx", "l_idx", "b_twin", "l_twin")
    partner_of_ledger = assigned.select(pl.col("l_idx").alias("other"), pl.col("b_twin").alias("other_partner_twin"))
    partner_of_bank = assigned.select(pl.col("b_idx").alias("other"), pl.col("l_twin").alias("other_partner_twin"))
    views = []
    for row, other, twin, other_twin, partner in (
        ("b_idx", "l_idx", "b_twin", "l_twin", partner_of_ledger),
        ("l_idx", "b_idx", "l_twin", "b_twin", partner_of_bank),
    ):
        views.append(
            keyed.join(
                pairs.select(row, pl.col(other).alias("other"), pl.col(other_twin).alias("other_twin"), "score"),
                on=row,
            )
            .filter(pl.col("other") != pl.col(other))
            .join(partner, on="other", how="left")
            .select(
                "b_idx",
                "l_idx",
                "score",
                ((pl.col("other_twin") == pl.col(other_twin)) | (pl.col("other_partner_twin") == pl.col(twin)))
                .fill_null(False)
                .alias("twin"),
            )
        )
    found = (
        pl.concat(views)
        .group_by("b_idx", "l_idx")
        .agg(pl.col("score").filter(~pl.col("twin")).max().alias("runner_up"), pl.col("twin").any().alias("has_twin"))
    )
    return (
        assigned.select("b_idx", "l_idx")
        .join(found, on=["b_idx", "l_idx"], how="left", maintain_order="left")
        .select(pl.col("runner_up").fill_null(0.0), pl.col("has_twin").fill_null(False))
    )


@st.composite
def candidates_and_assignment(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    cells = draw(st.sets(st.tuples(st.integers(0, 7), st.integers(0, 7)), min_size=1, max_size=30))
    pairs = sorted(cells)
    bank_twin = draw(st.lists(st.integers(0, 2), min_size=8, max_size=8))
    ledger_twin = draw(st.lists(st.integers(0, 2), min_size=8, max_size=8))
    scores = draw(st.lists(st.integers(0, 100), min_size=len(pairs), max_size=len(pairs)))
    frame = pl.DataFrame(
        {
            "b_idx": [b for b, _ in pairs],
            "l_idx": [lx for _, lx in pairs],
            "score": [s / 100 for s in scores],
            "b_twin": [bank_twin[b] for b, _ in pairs],
            "l_twin": [ledger_twin[lx] for _, lx in pairs],
        },
        schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32, "score": pl.Float64, "b_twin": pl.UInt64, "l_twin": pl.UInt64},
    )
    # an assignment: each row in at most one assigned pair
    chosen, used_bank, used_ledger = [], set(), set()
    for position in draw(st.permutations(range(len(pairs)))):
        b, lx = pairs[position]
        if b not in used_bank and lx not in used_ledger and draw(st.booleans()):
            chosen.append(position)
            used_bank.add(b)
            used_ledger.add(lx)
    return frame[chosen], frame


@settings(max_examples=300, deadline=None)
@given(candidates_and_assignment())
def test_rivals_equal_the_join_definition(case: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    assigned, pairs = case
    assert _rivals(assigned, pairs).equals(_rivals_by_joins(assigned, pairs))
