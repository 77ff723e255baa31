"""Stage 5, decide: auto, suggested, or left open with a reason code.

`auto` needs both a score at the auto threshold and a clear lead over the runner-up
of each of its two rows (another candidate a row could have had): recon does not
guess between look-alikes. Rows left open get a reason code for the exceptions report.
"""

from __future__ import annotations

import polars as pl

from recon.config import MatchingSettings

NO_CANDIDATE = "no_candidate"
BELOW_THRESHOLD = "below_threshold"
CANDIDATE_TAKEN = "candidate_taken"


def runner_up(assigned: pl.DataFrame, pairs: pl.DataFrame) -> pl.Series:
    """Best score of any other candidate of each assigned pair's bank or ledger row (0 when none)."""
    others_bank = (
        assigned.select("b_idx", "l_idx")
        .join(pairs.select("b_idx", pl.col("l_idx").alias("other"), "score"), on="b_idx")
        .filter(pl.col("other") != pl.col("l_idx"))
    )
    others_ledger = (
        assigned.select("b_idx", "l_idx")
        .join(pairs.select(pl.col("b_idx").alias("other"), "l_idx", "score"), on="l_idx")
        .filter(pl.col("other") != pl.col("b_idx"))
    )
    best = (
        pl.concat(
            [others_bank.select("b_idx", "l_idx", "score"), others_ledger.select("b_idx", "l_idx", "score")]
        )
        .group_by("b_idx", "l_idx")
        .agg(pl.col("score").max().alias("runner_up"))
    )
    return (
        assigned.select("b_idx", "l_idx")
        .join(best, on=["b_idx", "l_idx"], how="left")
        .select(pl.col("runner_up").fill_null(0.0))
        .to_series()
    )


def decide(assigned: pl.DataFrame, pairs: pl.DataFrame, *, settings: MatchingSettings) -> pl.DataFrame:
    """Add `runner_up` and `status` (auto | suggested | None) to the assigned pairs."""
    with_runner = assigned.with_columns(runner_up(assigned, pairs))
    clear_lead = (pl.col("score") - pl.col("runner_up")) >= settings.ambiguity_margin
    status = (
        pl.when(
            (pl.col("score") >= settings.auto_threshold) & clear_lead & (pl.col("amount_diff_minor") == 0)
        )
        .then(pl.lit("auto"))
        .when(pl.col("score") >= settings.suggest_threshold)
        .then(pl.lit("suggested"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    ambiguous_note = (
        pl.when((pl.col("score") >= settings.auto_threshold) & ~clear_lead)
        .then(pl.format("; ambiguous: another candidate scores {}", pl.col("runner_up").round(2)))
        .otherwise(pl.lit(""))
    )
    return with_runner.with_columns(
        status.alias("status"), (pl.col("reasons") + ambiguous_note).alias("reasons")
    )


def open_reasons(
    rows: pl.DataFrame, idx: str, pairs: pl.DataFrame, matched: pl.DataFrame, *, settings: MatchingSettings
) -> pl.DataFrame:
    """Reason code for every row of one side that ended in no match."""
    best = pairs.group_by(idx).agg(pl.col("score").max().alias("best_score"))
    open_rows = rows.join(matched.select(idx), on=idx, how="anti").join(best, on=idx, how="left")
    reason = (
        pl.when(pl.col("best_score").is_null())
        .then(pl.lit(NO_CANDIDATE))
        .when(pl.col("best_score") < settings.suggest_threshold)
        .then(pl.lit(BELOW_THRESHOLD))
        .otherwise(pl.lit(CANDIDATE_TAKEN))
    )
    return open_rows.with_columns(reason.alias("reason"))
