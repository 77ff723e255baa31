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

import polars as pl

from recon.config import MatchingSettings

NO_CANDIDATE = "no_candidate"
OUTSIDE_DATE_WINDOW = "outside_date_window"
AMOUNT_DIFFERS = "amount_differs"
BELOW_THRESHOLD = "below_threshold"
AMBIGUOUS = "ambiguous"
TWIN_NOTE = "identical twin rows: any pairing gives the same books"


def _rivals(assigned: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """Per assigned pair: best score of a real rival (`runner_up`) and whether a harmless twin competed.

    A competing candidate is harmless when it is indistinguishable from the chosen
    partner, or when it went to a row indistinguishable from this one (identical
    bank rows for several payroll entries): either way, swapping gives the same books.
    """
    keyed = assigned.select("b_idx", "l_idx", "b_twin", "l_twin")
    partner_of_ledger = assigned.select(pl.col("l_idx").alias("other"), pl.col("b_twin").alias("other_partner_twin"))
    partner_of_bank = assigned.select(pl.col("b_idx").alias("other"), pl.col("l_twin").alias("other_partner_twin"))
    via_bank = (
        keyed.join(
            pairs.select("b_idx", pl.col("l_idx").alias("other"), pl.col("l_twin").alias("other_twin"), "score"),
            on="b_idx",
        )
        .filter(pl.col("other") != pl.col("l_idx"))
        .join(partner_of_ledger, on="other", how="left")
        .select(
            "b_idx",
            "l_idx",
            "score",
            ((pl.col("other_twin") == pl.col("l_twin")) | (pl.col("other_partner_twin") == pl.col("b_twin")))
            .fill_null(False)
            .alias("twin"),
        )
    )
    via_ledger = (
        keyed.join(
            pairs.select(pl.col("b_idx").alias("other"), "l_idx", pl.col("b_twin").alias("other_twin"), "score"),
            on="l_idx",
        )
        .filter(pl.col("other") != pl.col("b_idx"))
        .join(partner_of_bank, on="other", how="left")
        .select(
            "b_idx",
            "l_idx",
            "score",
            ((pl.col("other_twin") == pl.col("b_twin")) | (pl.col("other_partner_twin") == pl.col("l_twin")))
            .fill_null(False)
            .alias("twin"),
        )
    )
    return (
        pl.concat([via_bank, via_ledger])
        .group_by("b_idx", "l_idx")
        .agg(pl.col("score").filter(~pl.col("twin")).max().alias("runner_up"), pl.col("twin").any().alias("has_twin"))
    )


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
    with_rivals = assigned.join(_rivals(assigned, pairs), on=["b_idx", "l_idx"], how="left").with_columns(
        pl.col("runner_up").fill_null(0.0), pl.col("has_twin").fill_null(False)
    )
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
