"""Stage 3, score: one confidence in [0, 1] per pair, with the parts kept as its explanation."""

from __future__ import annotations

import polars as pl

from recon.config import MatchingSettings

AMOUNT_WEIGHT = 0.55
DATE_WEIGHT = 0.15
DESCRIPTION_WEIGHT = 0.30
REFERENCE_FLOOR = 0.97  # a reference on both sides with the exact amount is near-certain


def score(pairs: pl.DataFrame, *, settings: MatchingSettings) -> pl.DataFrame:
    """Add `date_score`, `score` and the human-readable `reasons` to compared pairs."""
    window = max(settings.bank_days_after_books, settings.bank_days_before_books) + 1
    date_score = (1 - pl.col("date_diff_days").abs() / window).clip(0, 1)
    combined = (
        AMOUNT_WEIGHT + DATE_WEIGHT * pl.col("date_score") + DESCRIPTION_WEIGHT * pl.col("description_score")
    )
    days = pl.col("date_diff_days").abs()
    date_reason = (
        pl.when(days == 0)
        .then(pl.lit("same day"))
        .when(days == 1)
        .then(pl.lit("1 day apart"))
        .otherwise(pl.format("{} days apart", days))
    )
    reasons = pl.concat_str(
        pl.lit("amount equal"),
        date_reason,
        pl.when(pl.col("reference_match")).then(pl.lit("reference on both sides")),
        pl.format("description {}", pl.col("description_score").round(2)),
        separator=", ",
        ignore_nulls=True,
    )
    return pairs.with_columns(date_score.alias("date_score")).with_columns(
        pl.when(pl.col("reference_match"))
        .then(pl.max_horizontal(combined, pl.lit(REFERENCE_FLOOR)))
        .otherwise(combined)
        .round(4)
        .alias("score"),
        reasons.alias("reasons"),
    )
