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

Before that, `strongest_candidates` keeps a pair only when it is among the best
`CANDIDATES_PER_ROW` of its bank row or of its ledger row: dense buckets of recurring
amounts would otherwise make a few components of millions of pairs.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from recon.match.blocking import pair_keys

MAX_DENSE_CELLS = 4_000_000
"""Components with more (bank rows x ledger rows) than this use mutual-best rounds."""
DAY_PENALTY = 1e-6
"""Weight of the squared day distance in the optimal assignment: breaks ties only."""


CANDIDATES_PER_ROW = 12
"""Pairs a row keeps for the assignment: its best ones by score (then nearest date)."""


def _among_best(row: np.ndarray, score: np.ndarray, per_row: int) -> np.ndarray:
    """Whether each pair scores at least the `per_row`-th best score of its row (ties all kept)."""
    counts = np.bincount(row)
    keep = counts[row] <= per_row
    crowded = np.flatnonzero(~keep)
    if len(crowded) == 0:
        return keep
    group, points = row[crowded].astype(np.int64), score[crowded]
    # scores are rounded to 4 decimals: an integer key sorts by row, then best score first
    if points.min() >= -10_000 and points.max() <= 10_000:
        # the key holds both (row, 10_000 - points in its low 15 bits): sorting the keys is enough,
        # no argsort and no gathers
        sorted_key = pl.Series(group << 15 | (10_000 - points)).sort().to_numpy()
        sorted_group, sorted_points = sorted_key >> 15, 10_000 - (sorted_key & 0x7FFF)
    else:
        order = pl.Series(group * 20_001 + (10_000 - points)).arg_sort().to_numpy()
        sorted_group, sorted_points = group[order], points[order]
    starts = np.flatnonzero(np.r_[True, sorted_group[1:] != sorted_group[:-1]])
    sizes = np.diff(np.r_[starts, len(sorted_group)])
    threshold = np.zeros(len(counts), dtype=np.int64)
    threshold[sorted_group[starts]] = sorted_points[starts + np.minimum(sizes, per_row) - 1]
    keep[crowded] = points >= threshold[group]
    return keep


def _best_per_row(row: np.ndarray, score: np.ndarray, rows: int) -> np.ndarray:
    """Highest score of each row number 0..rows-1 among (row, score); NaN for rows without one."""
    best = np.full(rows, -np.inf)
    np.maximum.at(best, row, score)  # unbuffered, in place: far faster than a group-by here
    best[best == -np.inf] = np.nan
    return best


def strongest_candidates(
    pairs: pl.DataFrame, *, per_row: int = CANDIDATES_PER_ROW
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(pairs among the `per_row` best of their bank row or of their ledger row, the best score each row lost).

    Dense buckets of recurring amounts give a row a hundred look-alike candidates a
    few days apart. A pair is dropped only when *both* its rows have `per_row` candidates
    scoring at least as well (ties are all kept), so the best pair of every row, and
    every pair either row ranks near its top, stays. The optimal assignment can differ
    from the unpruned one only where both rows of a pair had `per_row` stronger
    alternatives; and `decide` counts the best score a row lost (`lost_b`, `lost_l`,
    for the kept pairs of such rows) as a rival, so pruning never yields an `auto`
    match the full candidate set would not.
    """
    lost_schema = {"b_idx": pl.UInt32, "l_idx": pl.UInt32, "lost_b": pl.Float64, "lost_l": pl.Float64}
    if pairs.is_empty():
        return pairs, pl.DataFrame(schema=lost_schema)
    points = np.rint(pairs["score"].to_numpy() * 10_000).astype(np.int64)
    keep = _among_best(pairs["b_idx"].to_numpy(), points, per_row) | _among_best(
        pairs["l_idx"].to_numpy(), points, per_row
    )
    if keep.all():
        return pairs, pl.DataFrame(schema=lost_schema)
    bank, ledger, score = pairs["b_idx"].to_numpy(), pairs["l_idx"].to_numpy(), pairs["score"].to_numpy()
    lost = ~keep
    # the best lost score of each pair's rows, by row number (NaN: the row lost nothing)
    lost_b = _best_per_row(bank[lost], score[lost], int(bank.max()) + 1)[bank[keep]]
    lost_l = _best_per_row(ledger[lost], score[lost], int(ledger.max()) + 1)[ledger[keep]]
    lost_something = ~np.isnan(lost_b) | ~np.isnan(lost_l)
    lost_rivals = pl.DataFrame({
        "b_idx": bank[keep][lost_something], "l_idx": ledger[keep][lost_something],
        "lost_b": lost_b[lost_something], "lost_l": lost_l[lost_something],
    }).fill_nan(None)  # fmt: skip
    kept = pairs.filter(pl.Series("keep", keep))
    return kept, lost_rivals.cast(lost_schema)  # type: ignore[arg-type]


def mutual_best(pairs: pl.DataFrame) -> pl.DataFrame:
    """Rounds of "mutual best": pairs that are the best of both their rows are taken, then the rest again."""
    if pairs.is_empty():
        return pairs.clear()
    # best score, nearest date, then row order, by one numpy lexsort (a polars sort on four columns is 4x slower);
    # (b_idx, l_idx) is unique, so the order is total
    bank, ledger = pairs["b_idx"].to_numpy(), pairs["l_idx"].to_numpy()
    rows = pair_keys(bank, ledger)
    order = np.lexsort((rows, np.abs(pairs["date_diff_days"].to_numpy()), -pairs["score"].to_numpy()))
    bank, ledger = bank[order], ledger[order]
    # the rounds on positions in that order: the first pair of a row in the order is its best
    bank_taken = np.zeros(int(bank.max()) + 1, dtype=bool)
    ledger_taken = np.zeros(int(ledger.max()) + 1, dtype=bool)
    remaining = np.arange(len(bank))
    taken: list[np.ndarray] = []
    while len(remaining):
        best_of_bank = pl.Series(bank[remaining]).is_first_distinct().to_numpy()
        best_of_ledger = pl.Series(ledger[remaining]).is_first_distinct().to_numpy()
        chosen = remaining[best_of_bank & best_of_ledger]
        taken.append(chosen)
        bank_taken[bank[chosen]] = True
        ledger_taken[ledger[chosen]] = True
        remaining = remaining[~bank_taken[bank[remaining]] & ~ledger_taken[ledger[remaining]]]
    return pairs[order[np.concatenate(taken)]]


def _graph(pairs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """(bank node of each pair, ledger node of each pair, bank node count, component label of every node).

    Row indexes are the nodes as they are (no np.unique: two sorts of millions); rows
    without a pair are components of their own that no pair names.
    """
    bank_of_pair = pairs["b_idx"].to_numpy().astype(np.int64)
    ledger_of_pair = pairs["l_idx"].to_numpy().astype(np.int64)
    bank_nodes = int(bank_of_pair.max()) + 1
    n = bank_nodes + int(ledger_of_pair.max()) + 1
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (bank_of_pair, ledger_of_pair + bank_nodes)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return bank_of_pair, ledger_of_pair, bank_nodes, labels


def components(pairs: pl.DataFrame) -> pl.Series:
    """Connected component id of every pair of the bipartite candidate graph."""
    if pairs.is_empty():
        return pl.Series("component", [], dtype=pl.Int64)
    bank_of_pair, _, _, labels = _graph(pairs)
    # only which pairs share an id matters
    return pl.Series("component", labels[bank_of_pair], dtype=pl.Int64)


def _components_with_sizes(pairs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: its component id, and how many bank rows and ledger rows the component holds."""
    bank_of_pair, ledger_of_pair, bank_nodes, labels = _graph(pairs)
    bank_named = np.zeros(bank_nodes, dtype=bool)
    bank_named[bank_of_pair] = True
    ledger_named = np.zeros(len(labels) - bank_nodes, dtype=bool)
    ledger_named[ledger_of_pair] = True
    # each row is in exactly one component: counting the named rows per label counts distinct rows
    bank_rows = np.bincount(labels[:bank_nodes][bank_named], minlength=len(labels))
    ledger_rows = np.bincount(labels[bank_nodes:][ledger_named], minlength=len(labels))
    component = labels[bank_of_pair].astype(np.int64)
    return component, bank_rows[component], ledger_rows[component]


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


def _numbers_within(component: np.ndarray, node: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """(each pair's node numbered 0, 1, ... in node order among the distinct nodes of its component,
    how many distinct nodes each component 0..components-1 has): `np.unique` per component, all at once.

    A node (a row) is in one component only: its numbers come from one sort of the distinct nodes.
    """
    component_of_node = np.full(int(node.max()) + 1, -1, dtype=np.int64)
    component_of_node[node] = component
    nodes = np.flatnonzero(component_of_node >= 0)  # distinct, in node order
    per_component = np.bincount(component_of_node[nodes], minlength=components)
    by_component = nodes[np.argsort(component_of_node[nodes], kind="stable")]
    first = np.cumsum(per_component) - per_component
    number = np.empty(len(component_of_node), dtype=np.int64)
    number[by_component] = np.arange(len(nodes)) - np.repeat(first, per_component)
    return number[node], per_component


def _optimal_per_component(
    component: np.ndarray, bank: np.ndarray, ledger: np.ndarray, score: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """Positions of the pairs `_optimal` takes in each component (pairs given as aligned arrays).

    Thousands of small components: every pair's cell in its component's weight matrix is
    found for all of them at once, so each component costs only its matrix and the solver.
    """
    if len(component) == 0:
        return np.zeros(0, dtype=np.int64)
    # components numbered 0, 1, ... in label order
    present = np.zeros(int(component.max()) + 1, dtype=bool)
    present[component] = True
    component = (np.cumsum(present) - 1)[component]
    components = int(present.sum())
    row, n_rows = _numbers_within(component, bank, components)
    col, n_cols = _numbers_within(component, ledger, components)
    # the matrices laid end to end: a pair's cell is its component's first cell + its place in the matrix
    first_cell = np.cumsum(n_rows * n_cols) - n_rows * n_cols
    cell = first_cell[component] + row * n_cols[component] + col
    order = np.argsort(cell)
    cell = cell[order]
    local_cell = cell - first_cell[component[order]]
    # the same weights as `_optimal`, element by element
    days = days.astype(np.float64)
    weight_of_pair = (score + 1e-3 - DAY_PENALTY * np.minimum(days * days, 100.0))[order]
    bounds = np.cumsum(np.bincount(component, minlength=components)).tolist()
    chosen_rows: list[np.ndarray] = []
    chosen_cols: list[np.ndarray] = []
    start = 0
    for rows, cols, end in zip(n_rows.tolist(), n_cols.tolist(), bounds, strict=True):
        weight = np.zeros(rows * cols)
        weight[local_cell[start:end]] = weight_of_pair[start:end]
        chosen_in_component = linear_sum_assignment(weight.reshape(rows, cols), maximize=True)
        chosen_rows.append(chosen_in_component[0])
        chosen_cols.append(chosen_in_component[1])
        start = end
    chosen = np.fromiter(map(len, chosen_rows), dtype=np.int64, count=components)
    chosen_cell = (
        np.repeat(first_cell, chosen) + np.concatenate(chosen_rows) * np.repeat(n_cols, chosen)
        + np.concatenate(chosen_cols)
    )  # fmt: skip
    # a chosen cell is taken when it holds a pair (a non-pair weighs 0) of positive weight
    slot = np.minimum(np.searchsorted(cell, chosen_cell), len(cell) - 1)
    slot = slot[cell[slot] == chosen_cell]
    return order[slot[weight_of_pair[slot] > 0]]


def _best_per_component(component: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """Position of each component's first pair in the order of `keys` (lowest first, then by the next key...).

    The keys must order every component's pairs totally, and hold values a float64 holds exactly.
    Each key narrows the candidates to those at their component's lowest value: a few passes
    over the pairs, no sort.
    """
    candidates = np.arange(len(component))
    for key in keys:
        value, group = key[candidates].astype(np.float64), component[candidates]
        lowest = np.full(int(component.max(initial=0)) + 1, np.inf)
        np.minimum.at(lowest, group, value)
        candidates = candidates[value == lowest[group]]
    return candidates


def assign_one_to_one(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs taken, one per row at most (a subset of `pairs`, sorted by b_idx)."""
    if pairs.is_empty():
        return pairs
    component, n_bank, n_ledger = _components_with_sizes(pairs)
    bank, ledger = pairs["b_idx"].to_numpy(), pairs["l_idx"].to_numpy()
    score, days = pairs["score"].to_numpy(), pairs["date_diff_days"].to_numpy()
    is_star = (n_bank == 1) | (n_ledger == 1)
    is_dense = ~is_star & (n_bank * n_ledger <= MAX_DENSE_CELLS)
    is_huge = ~is_star & ~is_dense
    star, dense = np.flatnonzero(is_star), np.flatnonzero(is_dense)
    # a star's best pair: best score, nearest date, then row order (as in `mutual_best`)
    star_keys = [-score[star], np.abs(days[star]), bank[star], ledger[star]]
    taken = [star[_best_per_component(component[star], star_keys)]]
    taken.append(dense[_optimal_per_component(component[dense], bank[dense], ledger[dense], score[dense], days[dense])])
    if is_huge.any():
        huge = pairs.select("b_idx", "l_idx", "score", "date_diff_days").with_row_index("_pair").filter(is_huge)
        taken.append(mutual_best(huge)["_pair"].to_numpy())
    rows = np.concatenate(taken)
    # (b_idx, l_idx) is unique: one numpy sort of the taken rows gives the order of a frame sort by both
    rows = rows[np.argsort(pair_keys(bank[rows], ledger[rows]))]
    return pairs[rows]
