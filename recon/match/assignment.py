"""Stage 4, assign: each row in at most one match, resolved across all candidates.

Rounds of "mutual best": a pair is taken when it is the best candidate of both its
bank row and its ledger row; taken rows leave, and the next round runs on what is
left. This gives exactly the sequential greedy result (best pair first), vectorized.
Ties are broken by smaller date distance, then by row order, so runs are repeatable.
"""

from __future__ import annotations

import polars as pl

_ORDER = ["score", "abs_days", "b_idx", "l_idx"]
_DESC = [True, False, False, False]


def assign_one_to_one(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs taken, one per row at most (a subset of `pairs`)."""
    remaining = pairs.with_columns(pl.col("date_diff_days").abs().alias("abs_days")).sort(
        _ORDER, descending=_DESC
    )
    taken: list[pl.DataFrame] = []
    while not remaining.is_empty():
        best_of_bank = remaining.group_by("b_idx", maintain_order=True).first().select("b_idx", "l_idx")
        best_of_ledger = remaining.group_by("l_idx", maintain_order=True).first().select("b_idx", "l_idx")
        mutual = best_of_bank.join(best_of_ledger, on=["b_idx", "l_idx"])
        chosen = remaining.join(mutual, on=["b_idx", "l_idx"], how="semi")
        taken.append(chosen)
        remaining = remaining.join(chosen.select("b_idx"), on="b_idx", how="anti").join(
            chosen.select("l_idx"), on="l_idx", how="anti"
        )
    if not taken:
        return pairs.clear()
    return pl.concat(taken).drop("abs_days").select(pairs.columns)
