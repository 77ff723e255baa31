"""Stage 4, assign: each row in at most one match, resolved across all candidates.

The candidate pairs form a bipartite graph; its connected components are solved
one by one:

- a component with one bank row or one ledger row (a star, by far the most common
  shape) takes its best pair: there greedy and optimal are the same thing;
- any other component gets the assignment with the highest total score
  (`scipy.optimize.linear_sum_assignment`), so one strong pair never steals a row
  that leaves two other rows worse off. Equal totals are broken towards the nearest
  dates (a small penalty on the squared day distance): recurring identical amounts
  (subscriptions, payroll) pair month with month, not crosswise;
- a component too large for a dense matrix falls back to mutual-best rounds (the
  sequential greedy result, vectorized).

Ties are broken by smaller date distance, then by row order, so runs are repeatable.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_ORDER = ["score", "abs_days", "b_idx", "l_idx"]
_DESC = [True, False, False, False]
MAX_DENSE_CELLS = 4_000_000
"""Components with more (bank rows x ledger rows) than this use mutual-best rounds."""
DAY_PENALTY = 1e-6
"""Weight of the squared day distance in the optimal assignment: breaks ties only."""


def mutual_best(pairs: pl.DataFrame) -> pl.DataFrame:
    """Rounds of "mutual best": pairs that are the best of both their rows are taken, then the rest again."""
    remaining = pairs.with_columns(pl.col("date_diff_days").abs().alias("abs_days")).sort(_ORDER, descending=_DESC)
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


def components(pairs: pl.DataFrame) -> pl.Series:
    """Connected component id of every pair of the bipartite candidate graph."""
    if pairs.is_empty():
        return pl.Series("component", [], dtype=pl.Int64)
    bank_nodes, bank_of_pair = np.unique(pairs["b_idx"].to_numpy(), return_inverse=True)
    ledger_nodes, ledger_of_pair = np.unique(pairs["l_idx"].to_numpy(), return_inverse=True)
    n = len(bank_nodes) + len(ledger_nodes)
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=np.int8), (bank_of_pair, ledger_of_pair + len(bank_nodes))), shape=(n, n)
    )
    _, labels = connected_components(graph, directed=False)
    return pl.Series("component", labels[bank_of_pair], dtype=pl.Int64)


def _optimal(component: pl.DataFrame) -> pl.DataFrame:
    """The highest-total assignment of one component (a subset of its pairs)."""
    bank_nodes, rows = np.unique(component["b_idx"].to_numpy(), return_inverse=True)
    ledger_nodes, cols = np.unique(component["l_idx"].to_numpy(), return_inverse=True)
    days = component["date_diff_days"].to_numpy().astype(np.float64)
    weight = np.zeros((len(bank_nodes), len(ledger_nodes)))
    # a real pair always weighs more than a non-pair (0), even at score 0
    weight[rows, cols] = component["score"].to_numpy() + 1e-3 - DAY_PENALTY * np.minimum(days * days, 100.0)
    chosen_rows, chosen_cols = linear_sum_assignment(weight, maximize=True)
    real = weight[chosen_rows, chosen_cols] > 0
    picked = pl.DataFrame(
        {"b_idx": bank_nodes[chosen_rows[real]], "l_idx": ledger_nodes[chosen_cols[real]]},
        schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32},
    )
    return component.join(picked, on=["b_idx", "l_idx"], how="semi")


def assign_one_to_one(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs taken, one per row at most (a subset of `pairs`, sorted by b_idx)."""
    if pairs.is_empty():
        return pairs
    graph = pairs.with_columns(components(pairs))
    sizes = graph.group_by("component").agg(
        pl.col("b_idx").n_unique().alias("n_bank"), pl.col("l_idx").n_unique().alias("n_ledger")
    )
    graph = graph.join(sizes, on="component")
    is_star = (pl.col("n_bank") == 1) | (pl.col("n_ledger") == 1)
    stars = (
        graph.filter(is_star)
        .with_columns(pl.col("date_diff_days").abs().alias("abs_days"))
        .sort(["component", *_ORDER], descending=[False, *_DESC])
        .group_by("component", maintain_order=True)
        .first()
    )
    taken = [stars.select(pairs.columns)]
    dense = graph.filter(~is_star & (pl.col("n_bank") * pl.col("n_ledger") <= MAX_DENSE_CELLS))
    for _, component in dense.sort("component", "b_idx", "l_idx").group_by("component", maintain_order=True):
        taken.append(_optimal(component).select(pairs.columns))
    huge = graph.filter(~is_star & (pl.col("n_bank") * pl.col("n_ledger") > MAX_DENSE_CELLS))
    if not huge.is_empty():
        taken.append(mutual_best(huge.select(pairs.columns)))
    return pl.concat(taken).sort("b_idx", "l_idx")
