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
from recon.match.blocking import pair_keys
from recon.match.positions import among

NO_CANDIDATE = "no_candidate"
OUTSIDE_DATE_WINDOW = "outside_date_window"
AMOUNT_DIFFERS = "amount_differs"
BELOW_THRESHOLD = "below_threshold"
AMBIGUOUS = "ambiguous"
REJECTED = "rejected"
"""No candidate left but a pairing a person rejected."""
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


def _best_lost(assigned: pl.DataFrame, lost_rivals: pl.DataFrame) -> np.ndarray:
    """The best score the rows of each assigned pair lost to pruning, aligned with `assigned` (NaN: none)."""
    key = pair_keys(lost_rivals["b_idx"].to_numpy(), lost_rivals["l_idx"].to_numpy())
    order = np.argsort(key)
    key, lost = key[order], np.fmax(lost_rivals["lost_b"].to_numpy(), lost_rivals["lost_l"].to_numpy())[order]
    wanted = pair_keys(assigned["b_idx"].to_numpy(), assigned["l_idx"].to_numpy())
    slot = np.minimum(np.searchsorted(key, wanted), len(key) - 1)
    return np.where(key[slot] == wanted, lost[slot], np.nan)


def _notes(reasons: pl.Series, runner_up: np.ndarray, ambiguous: np.ndarray, twin: np.ndarray) -> pl.Series:
    """The reasons, with "ambiguous: ..." or the twin note appended where one applies (few pairs)."""
    noted = np.flatnonzero(ambiguous | twin)
    if len(noted) == 0:
        return reasons
    note = pl.when(pl.col("ambiguous")).then(
        pl.format("ambiguous: another candidate scores {}", pl.col("runner_up").round(2))
    )
    few = pl.DataFrame({
        "reasons": reasons[noted], "runner_up": runner_up[noted], "ambiguous": ambiguous[noted],
    })  # fmt: skip
    text = few.select(
        pl.concat_str("reasons", note.otherwise(pl.lit(TWIN_NOTE)), separator="; ", ignore_nulls=True)
    ).to_series()
    return reasons.scatter(noted, text)


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
    rivals = _rivals(assigned, pairs)
    runner_up, has_twin = rivals["runner_up"].to_numpy(), rivals["has_twin"].to_numpy()
    if lost_rivals is not None and not lost_rivals.is_empty():
        runner_up = np.fmax(runner_up, _best_lost(assigned, lost_rivals))
    score = assigned["score"].to_numpy()
    high = score >= settings.auto_threshold
    clear_lead = (score - runner_up) >= settings.ambiguity_margin - 1e-9
    equal = assigned["amount_diff_minor"].to_numpy() == 0
    certain = high & clear_lead & equal & ~assigned["reference_conflict"].to_numpy()
    status = np.where(certain, 0, np.where(score >= settings.suggest_threshold, 1, 2))
    decided = assigned.hstack([
        pl.Series("runner_up", runner_up), pl.Series("has_twin", has_twin),
        pl.Series("status", ["auto", "suggested", None], dtype=pl.String)[status],
    ])  # fmt: skip
    notes = _notes(assigned["reasons"], runner_up, high & ~clear_lead, has_twin & certain)
    return decided.replace_column(decided.get_column_index("reasons"), notes)


def _best_candidate(row: np.ndarray, score: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Position of the best-scoring candidate of each `wanted` row (the first one in the candidates' order
    among equals), -1 for a row without candidates. `row` holds each candidate's row number."""
    size = int(max(row.max(initial=0), wanted.max(initial=0))) + 1
    position = np.flatnonzero(among(row, wanted))
    best = np.full(size, -np.inf)
    np.maximum.at(best, row[position], score[position])
    position = position[score[position] == best[row[position]]]
    first = np.full(size, len(row), dtype=np.int64)
    np.minimum.at(first, row[position], position)
    return np.where(first[wanted] < len(row), first[wanted], -1)


def open_reasons(
    rows: pl.DataFrame,
    idx: str,
    pairs: pl.DataFrame,
    matched: pl.DataFrame,
    *,
    same_amount_elsewhere: pl.DataFrame,
    settings: MatchingSettings,
    rejected: pl.Series | None = None,
) -> pl.DataFrame:
    """Reason code (`reason`) for every row of one side that ended in no match: the rows not in `matched`.

    `pairs` are all compared candidates (also those without the evidence a differing
    amount needs); `same_amount_elsewhere` lists the rows (`idx`) with a same-amount
    row on the other side outside the date window; `rejected`, the rows (`idx`) a person
    rejected a pairing of. A row's best candidate (highest score) says whether the amount
    differs or the score is too low.
    """
    if not matched.is_empty():
        rows = rows.filter(~pl.col(idx).is_in(matched[idx].implode()))
    row = rows[idx].to_numpy()
    score = pairs["score"].to_numpy()
    best = _best_candidate(pairs[idx].to_numpy(), score, row)
    has_candidate = best >= 0
    best = best[has_candidate]
    best_score = np.full(len(row), np.nan)
    best_score[has_candidate] = score[best]
    differs = np.zeros(len(row), dtype=bool)
    differs[has_candidate] = pairs["amount_diff_minor"].to_numpy()[best] != 0
    elsewhere = np.isin(row, same_amount_elsewhere[idx].to_numpy())
    was_rejected = np.isin(row, rejected.to_numpy()) if rejected is not None else np.zeros(len(row), dtype=bool)
    reason = np.select(
        [
            ~has_candidate & was_rejected, ~has_candidate & elsewhere, ~has_candidate, differs,
            best_score < settings.suggest_threshold,
        ],
        [REJECTED, OUTSIDE_DATE_WINDOW, NO_CANDIDATE, AMOUNT_DIFFERS, BELOW_THRESHOLD],
        default=AMBIGUOUS,
    )  # fmt: skip
    return rows.with_columns(pl.Series("reason", reason, dtype=pl.String))
