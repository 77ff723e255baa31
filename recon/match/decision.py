"""Stage 5, decide: auto, suggested, or left open with a reason code.

`auto` needs all of: a score at the auto threshold, equal amounts, no conflicting
reference, and a clear lead (`ambiguity_margin`) over the runner-up of each of its
two rows (another candidate either row could have had): recon does not guess
between look-alikes. The one exception is true twins: when the competing candidate
is indistinguishable from the chosen one (same account, amount, date, text and
references), any pairing gives the same books, so the twin does not count as a
rival and the reasons say so.

Rows left open get a reason code for the exceptions report.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from recon.config import MatchingSettings

NO_CANDIDATE = "no_candidate"
OUTSIDE_DATE_WINDOW = "outside_date_window"
AMOUNT_DIFFERS = "amount_differs"
BELOW_THRESHOLD = "below_threshold"
AMBIGUOUS = "ambiguous"
TWIN_NOTE = "identical twin rows: any pairing gives the same books"


def _competitors(
    row: np.ndarray,
    other: np.ndarray,
    other_twin: np.ndarray,
    assigned_row: np.ndarray,
    assigned_other: np.ndarray,
    assigned_twin: np.ndarray,
    assigned_other_twin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates competing with an assigned pair through one of its rows (one side's view).

    A candidate (row, other) competes with the assigned pair of its `row` when its `other`
    row is not that pair's. Returns (candidate position, slot of the assigned pair, whether
    the candidate is a harmless twin): its other row is a twin of the chosen partner, or
    the partner assigned to its other row is a twin of this row.
    """
    slot_of_row = np.full(int(max(row.max(initial=0), assigned_row.max(initial=0))) + 1, -1, dtype=np.int64)
    slot_of_row[assigned_row] = np.arange(len(assigned_row))
    slot_of_other = np.full(int(max(other.max(initial=0), assigned_other.max(initial=0))) + 1, -1, dtype=np.int64)
    slot_of_other[assigned_other] = np.arange(len(assigned_other))

    position = np.flatnonzero(slot_of_row[row] >= 0)
    slot = slot_of_row[row[position]]
    competing = other[position] != assigned_other[slot]
    position, slot = position[competing], slot[competing]
    partner = slot_of_other[other[position]]
    has_partner = partner >= 0
    partner_is_twin = np.zeros(len(position), dtype=bool)
    partner_is_twin[has_partner] = assigned_twin[partner[has_partner]] == assigned_twin[slot[has_partner]]
    harmless = (other_twin[position] == assigned_other_twin[slot]) | partner_is_twin
    return position, slot, harmless


def _rivals(assigned: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """`runner_up` (best score of a real rival, 0 if none) and `has_twin` (a harmless twin competed),
    aligned with `assigned`.

    A competing candidate is harmless when it is indistinguishable from the chosen
    partner, or when it went to a row indistinguishable from this one (identical
    bank rows for several payroll entries): either way, swapping gives the same books.
    Index arithmetic over numpy arrays: the candidates are millions, the assigned pairs
    each own their two rows.
    """
    a_bank, a_ledger = assigned["b_idx"].to_numpy(), assigned["l_idx"].to_numpy()
    a_bank_twin, a_ledger_twin = assigned["b_twin"].to_numpy(), assigned["l_twin"].to_numpy()
    bank, ledger = pairs["b_idx"].to_numpy(), pairs["l_idx"].to_numpy()
    via_bank = _competitors(bank, ledger, pairs["l_twin"].to_numpy(), a_bank, a_ledger, a_bank_twin, a_ledger_twin)
    via_ledger = _competitors(ledger, bank, pairs["b_twin"].to_numpy(), a_ledger, a_bank, a_ledger_twin, a_bank_twin)
    position, slot, harmless = (np.concatenate(parts) for parts in zip(via_bank, via_ledger, strict=True))
    score = pairs["score"].to_numpy()
    runner_up = np.zeros(assigned.height, dtype=np.float64)
    real = ~harmless
    np.maximum.at(runner_up, slot[real], score[position[real]])
    has_twin = np.zeros(assigned.height, dtype=bool)
    has_twin[slot[harmless]] = True
    return pl.DataFrame({"runner_up": runner_up, "has_twin": has_twin})


def decide(
    assigned: pl.DataFrame,
    pairs: pl.DataFrame,
    *,
    settings: MatchingSettings,
    lost_rivals: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Add `runner_up`, `has_twin` and `status` (auto | suggested | None) to the assigned pairs.

    `pairs` are the scored candidates (the rivals); both frames carry `b_twin` and `l_twin`.
    `lost_rivals` (b_idx, l_idx, lost_b, lost_l) are the best scores of candidates the
    assignment never saw (`assignment.strongest_candidates`): they count as real rivals,
    twin or not, so pruning can only make a decision more careful.
    """
    with_rivals = assigned.hstack(_rivals(assigned, pairs))
    if lost_rivals is not None and not lost_rivals.is_empty():
        with_rivals = (
            with_rivals.join(lost_rivals, on=["b_idx", "l_idx"], how="left")
            .with_columns(pl.max_horizontal("runner_up", "lost_b", "lost_l").alias("runner_up"))
            .drop("lost_b", "lost_l")
        )
    high = pl.col("score") >= settings.auto_threshold
    clear_lead = (pl.col("score") - pl.col("runner_up")) >= settings.ambiguity_margin - 1e-9
    certain = high & clear_lead & (pl.col("amount_diff_minor") == 0) & ~pl.col("reference_conflict")
    status = (
        pl.when(certain)
        .then(pl.lit("auto"))
        .when(pl.col("score") >= settings.suggest_threshold)
        .then(pl.lit("suggested"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    notes = pl.concat_str(
        pl.col("reasons"),
        pl.when(high & ~clear_lead).then(
            pl.format("ambiguous: another candidate scores {}", pl.col("runner_up").round(2))
        ),
        pl.when(pl.col("has_twin") & certain).then(pl.lit(TWIN_NOTE)),
        separator="; ",
        ignore_nulls=True,
    )
    return with_rivals.with_columns(status.alias("status"), notes.alias("reasons"))


def open_reasons(
    rows: pl.DataFrame,
    idx: str,
    pairs: pl.DataFrame,
    matched: pl.DataFrame,
    *,
    same_amount_elsewhere: pl.DataFrame,
    settings: MatchingSettings,
) -> pl.DataFrame:
    """Reason code for every row of one side that ended in no match.

    `pairs` are all compared candidates (also those without the evidence a differing
    amount needs); `same_amount_elsewhere` lists the rows (`idx`) with a same-amount
    row on the other side outside the date window.
    """
    best = (
        # only the open rows' candidates: sorting every candidate of a large run for them was slow
        pairs.select(idx, "score", "amount_diff_minor")
        .join(rows.select(idx), on=idx, how="semi")
        .sort("score", descending=True)
        .group_by(idx)
        .agg(pl.col("score").first().alias("best_score"), (pl.col("amount_diff_minor").first() != 0).alias("differs"))
    )
    elsewhere = same_amount_elsewhere.select(idx, pl.lit(True).alias("elsewhere"))
    open_rows = (
        rows.join(matched.select(idx), on=idx, how="anti")
        .join(best, on=idx, how="left")
        .join(elsewhere, on=idx, how="left")
    )
    reason = (
        pl.when(pl.col("best_score").is_null() & pl.col("elsewhere").fill_null(False))
        .then(pl.lit(OUTSIDE_DATE_WINDOW))
        .when(pl.col("best_score").is_null())
        .then(pl.lit(NO_CANDIDATE))
        .when(pl.col("differs"))
        .then(pl.lit(AMOUNT_DIFFERS))
        .when(pl.col("best_score") < settings.suggest_threshold)
        .then(pl.lit(BELOW_THRESHOLD))
        .otherwise(pl.lit(AMBIGUOUS))
    )
    return open_rows.with_columns(reason.alias("reason"))
