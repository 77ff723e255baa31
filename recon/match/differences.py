"""Matches off by a fee, made automatic where a rule says how to book the difference.

A match whose amounts differ is never `auto` on its own (the difference would hide
money). A categorization rule with `book_difference` on the bank row (a card
processor's payout, say) tells recon where the difference goes and how large it may
be; a suggested 1:1 match within those limits that is not ambiguous becomes `auto`,
with the booking named in its reasons, and the write-back books the difference.
"""

from __future__ import annotations

import polars as pl

DIFFERENCE_RULE_SCHEMA = {
    "bank_txn_id": pl.String, "bank_amount_minor": pl.Int64, "rule_name": pl.String,
    "difference_account": pl.String, "difference_max_minor": pl.Int64, "difference_max_bp": pl.Int64,
}  # fmt: skip


def apply_difference_rules(matches: pl.DataFrame, links: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """`matches` (same columns) with each fitting suggested 1:1 match made auto.

    `rules` holds, per bank row with a `book_difference` rule, its amount and the rule's limits
    (DIFFERENCE_RULE_SCHEMA); a limit left empty does not limit.
    """
    if rules.is_empty() or matches.is_empty():
        return matches
    per_match = links.group_by("match_id").agg(
        pl.col("bank_txn_id").first(), pl.col("amount_diff_minor").first(), pl.len().alias("links")
    )
    diff = pl.col("amount_diff_minor").abs()
    base = pl.col("bank_amount_minor").abs()
    fits = (
        (pl.col("status") == "suggested")
        & (pl.col("kind") == "1:1")
        & (pl.col("links") == 1)
        & (pl.col("amount_diff_minor") != 0)
        & ~pl.col("reasons").str.contains("ambiguous")
        & (pl.col("difference_max_minor").is_not_null() | pl.col("difference_max_bp").is_not_null())
        & (pl.col("difference_max_minor").is_null() | (diff <= pl.col("difference_max_minor")))
        & (pl.col("difference_max_bp").is_null() | (diff * 10_000 <= pl.col("difference_max_bp") * base))
    ).fill_null(False)
    decided = (
        matches.join(per_match, on="match_id", how="left")
        .join(rules.cast(DIFFERENCE_RULE_SCHEMA), on="bank_txn_id", how="left")  # type: ignore[arg-type]
        .with_columns(fits.alias("_fits"))
    )
    booking = pl.format("; the difference is booked to {} by rule '{}'", "difference_account", "rule_name")
    return decided.with_columns(
        pl.when("_fits").then(pl.lit("auto")).otherwise(pl.col("status")).alias("status"),
        pl.when("_fits").then(pl.col("reasons") + booking).otherwise(pl.col("reasons")).alias("reasons"),
    ).select(matches.columns)


BOOKING_PATTERN = r"; the difference is booked to .* by rule '.*'$"
"""The reasons' tail `apply_difference_rules` adds (what a re-check takes off)."""


def recheck_booked_differences(matches: pl.DataFrame, links: pl.DataFrame, rules: pl.DataFrame) -> pl.DataFrame:
    """Engine `auto` matches made so by a `book_difference` rule, decided again with today's rules.

    `matches` are such matches (not yet written to a book); each comes back `auto` with
    today's booking in its reasons where today's rule still allows the difference, else
    `suggested` (for a person to review) with the booking taken off its reasons.
    """
    undone = matches.with_columns(
        pl.lit("suggested").alias("status"), pl.col("reasons").str.replace(BOOKING_PATTERN, "")
    )
    return apply_difference_rules(undone, links, rules)
