"""Stage 1, block: the candidate (bank row, ledger row) pairs worth scoring.

Pairs are only ever formed within one account and currency. A pair a person
rejected is never a candidate again.
"""

from __future__ import annotations

import polars as pl

from recon.config import MatchingSettings

PAIR_SCHEMA = {"b_idx": pl.UInt32, "l_idx": pl.UInt32, "date_diff_days": pl.Int64}


def exact_amount_in_window(
    bank: pl.DataFrame, ledger: pl.DataFrame, *, settings: MatchingSettings
) -> pl.DataFrame:
    """Pairs with the same account, currency and amount, the bank date inside the date window.

    The window is asymmetric: the bank may post up to `bank_days_after_books` days after
    the books and `bank_days_before_books` days before them.
    """
    keys = ["account_id", "currency", "amount_minor"]
    pairs = (
        bank.select("b_idx", "posted_date", *keys)
        .join(ledger.select("l_idx", pl.col("posted_date").alias("l_date"), *keys), on=keys)
        .with_columns((pl.col("posted_date") - pl.col("l_date")).dt.total_days().alias("date_diff_days"))
        .filter(
            pl.col("date_diff_days").is_between(
                -settings.bank_days_before_books, settings.bank_days_after_books
            )
        )
    )
    return pairs.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA)  # type: ignore[arg-type]


CHECK_CLEARING_DAYS = 90


def check_number(bank: pl.DataFrame, ledger: pl.DataFrame, *, settings: MatchingSettings) -> pl.DataFrame:
    """Pairs where the bank's check number is the ledger reference, with the same amount.

    Checks clear when the payee deposits them, often weeks after they were written,
    so the window reaches `CHECK_CLEARING_DAYS` after the book date.
    """
    keys = ["account_id", "currency", "amount_minor", "check_key"]
    digits = r"^0*(\d+)$"
    bank_checks = bank.filter(pl.col("check_number").is_not_null()).select(
        "b_idx", "posted_date", "account_id", "currency", "amount_minor",
        pl.col("check_number").str.strip_chars().str.extract(digits, 1).alias("check_key"),
    )  # fmt: skip
    ledger_checks = ledger.filter(pl.col("reference").is_not_null()).select(
        "l_idx", pl.col("posted_date").alias("l_date"), "account_id", "currency", "amount_minor",
        pl.col("reference").str.strip_chars().str.extract(digits, 1).alias("check_key"),
    )  # fmt: skip
    pairs = (
        bank_checks.drop_nulls("check_key")
        .join(ledger_checks.drop_nulls("check_key"), on=keys)
        .with_columns((pl.col("posted_date") - pl.col("l_date")).dt.total_days().alias("date_diff_days"))
        .filter(pl.col("date_diff_days").is_between(-settings.bank_days_before_books, CHECK_CLEARING_DAYS))
    )
    return pairs.select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA)  # type: ignore[arg-type]


def without_rejected(pairs: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Drop the pairs a person rejected (`rejected` has b_idx, l_idx)."""
    if rejected.is_empty():
        return pairs
    return pairs.join(rejected.select("b_idx", "l_idx").cast(pl.UInt32), on=["b_idx", "l_idx"], how="anti")
