"""Stage 3, score: one confidence in [0, 1] per pair, with the parts kept as its explanation.

    score = 0.55 amount_score + 0.15 date_score + 0.30 description_score

then adjusted by references: a reference on both rows lifts the score to a floor
(0.97 inside the date window, 0.91 outside it, where only the reference speaks for
the pair); a conflicting reference (two different invoice or check numbers) cuts it
to 60%. Every pair proposed gets a `reasons` text such as "amount equal, 2 days apart,
reference inv10023 on both sides, description 0.91".
"""

from __future__ import annotations

import numpy as np
import polars as pl

from recon.config import MatchingSettings
from recon.match.blocking import allowed_difference
from recon.money import minor_to_decimal_expr

AMOUNT_WEIGHT = 0.55
DATE_WEIGHT = 0.15
DESCRIPTION_WEIGHT = 0.30
REFERENCE_FLOOR = 0.97
"""A reference on both sides, the amount equal, dates inside the window: near-certain."""
LATE_REFERENCE_FLOOR = 0.91
"""The same beyond the date window (a check cashed weeks later): the reference carries the pair alone."""
REFERENCE_WITH_AMOUNT_DIFFERENCE_FLOOR = 0.75
"""A reference on both sides but the amounts differ: worth a person's look, never automatic."""
CONFLICT_FACTOR = 0.6


def amount_score(settings: MatchingSettings) -> pl.Expr:
    """1 when equal; otherwise 0.7 for a tiny difference, falling to 0.4 at the tolerance.

    With the other signals perfect a differing amount scores at most 0.84: never auto,
    and a fee at the edge of the tolerance with a matching description is still suggested.
    """
    allowed = pl.max_horizontal(allowed_difference(pl.col("l_amount"), settings), pl.lit(1))
    partial = 0.7 - 0.3 * (pl.col("amount_diff_minor").abs() / allowed).clip(0, 1)
    return pl.when(pl.col("amount_diff_minor") == 0).then(1.0).otherwise(partial)


def date_score(settings: MatchingSettings) -> pl.Expr:
    """1 on the same day, falling linearly to 0.5 just past the (asymmetric) window edge; 0 beyond it.

    A bank posting four days late is ordinary, so a date inside the window costs little;
    it still ranks the nearest of several look-alikes first.
    """
    days = pl.col("date_diff_days")
    late = 1 - 0.5 * days / (settings.bank_days_after_books + 1)
    early = 1 + 0.5 * days / (settings.bank_days_before_books + 1)
    inside = pl.when(days >= 0).then(late).otherwise(early)
    return pl.when(in_window(settings)).then(inside).otherwise(0.0)


def in_window(settings: MatchingSettings) -> pl.Expr:
    return pl.col("date_diff_days").is_between(-settings.bank_days_before_books, settings.bank_days_after_books)


def _amount_reasons(pairs: pl.DataFrame) -> pl.Series:
    """The amount part of the reasons ("amount equal" or the difference): formatted only where the amounts
    differ, few of the pairs."""
    differs = np.flatnonzero(pairs["amount_diff_minor"].to_numpy())
    equal = pl.Series(["amount equal"], dtype=pl.String).new_from_index(0, pairs.height)
    if len(differs) == 0:
        return equal
    differences = pairs.select("amount_diff_minor", "currency")[differs].select(
        pl.format(
            "amount differs by {} {}",
            minor_to_decimal_expr(pl.col("amount_diff_minor"), pl.col("currency")),
            pl.col("currency"),
        )
    )
    return equal.scatter(differs, differences.to_series())


def _date_reasons(pairs: pl.DataFrame) -> pl.Series:
    """The date part of the reasons ("same day", "1 day apart", "N days apart"): one text per distance
    (at most the reference window, a few hundred days), gathered by each pair's distance."""
    days = np.abs(pairs["date_diff_days"].to_numpy())
    texts = ["same day", "1 day apart", *(f"{n} days apart" for n in range(2, int(days.max(initial=0)) + 1))]
    return pl.Series(texts, dtype=pl.String)[days]


def _reasons(amount_reason: pl.Series, date_reason: pl.Series) -> pl.Expr:
    return pl.concat_str(
        pl.lit(amount_reason),
        pl.lit(date_reason),
        pl.when(pl.col("reference_match")).then(pl.format("reference {} on both sides", pl.col("shared_reference"))),
        pl.when(pl.col("reference_conflict")).then(pl.lit("references differ")),
        pl.format("description {}", pl.col("description_score").round(2)),
        separator=", ",
        ignore_nulls=True,
    )


def explain(pairs: pl.DataFrame) -> pl.DataFrame:
    """Add the human-readable `reasons` to scored pairs.

    Separate from `score`: formatting text for millions of candidates that are never
    proposed was a large part of a 1M-row run, so only the pairs assigned get reasons.
    """
    return pairs.with_columns(_reasons(_amount_reasons(pairs), _date_reasons(pairs)).alias("reasons"))


def score(pairs: pl.LazyFrame, *, settings: MatchingSettings) -> pl.LazyFrame:
    """Add `amount_score`, `date_score` and `score` to compared pairs (`explain` adds the reasons).

    Lazy, so that the scores are computed in the query that computes their inputs. The
    pairs need `l_amount` (the ledger amount, for the tolerance); `explain` also needs the
    `currency`.
    """
    with_parts = pairs.with_columns(
        amount_score(settings).alias("amount_score"), date_score(settings).alias("date_score")
    )
    combined = (
        AMOUNT_WEIGHT * pl.col("amount_score")
        + DATE_WEIGHT * pl.col("date_score")
        + DESCRIPTION_WEIGHT * pl.col("description_score")
    )
    equal = pl.col("amount_diff_minor") == 0
    floor = (
        pl.when(pl.col("reference_match") & equal & in_window(settings))
        .then(REFERENCE_FLOOR)
        .when(pl.col("reference_match") & equal)
        .then(LATE_REFERENCE_FLOOR)
        .when(pl.col("reference_match"))
        .then(REFERENCE_WITH_AMOUNT_DIFFERENCE_FLOOR)
        .otherwise(0.0)
    )
    adjusted = (
        pl.when(pl.col("reference_conflict"))
        .then(combined * CONFLICT_FACTOR)
        .otherwise(pl.max_horizontal(combined, floor))
    )
    return with_parts.with_columns(adjusted.round(4).alias("score"))
