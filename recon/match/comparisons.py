"""Stage 2, compare: one similarity per signal for every candidate pair.

Descriptions are compared in bulk with rapidfuzz (`process.cpdist` over the pairs,
all cores), never in a Python loop per pair. Strings are gathered by row index
from numpy arrays rather than joined into the pair frame.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

_BOILERPLATE = (
    r"\b(ach|pos|debit|credit|card|purchase|payment|pmt|deposit|dep|online|transfer|xfer|"
    r"orig co name|co entry descr|web|ppd|ccd|id|ref|checkcard|visa|mastercard|recurring)\b"
)


def normalized_text(expr: pl.Expr) -> pl.Expr:
    """Description without bank boilerplate, card numbers, dates and punctuation, for comparing."""
    return (
        expr.fill_null("")
        .str.to_lowercase()
        .str.replace_all(r"x{2,}\d+|\*+\d+|#\d+", " ")
        .str.replace_all(r"\d{1,2}/\d{1,2}(/\d{2,4})?", " ")
        .str.replace_all(r"[^a-z0-9]+", " ")
        .str.replace_all(_BOILERPLATE, " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def description_similarity(pairs: pl.DataFrame, bank_text: np.ndarray, ledger_text: np.ndarray) -> pl.Series:
    """token_set_ratio in [0, 1] of each pair's normalized descriptions."""
    if pairs.is_empty():
        return pl.Series("description_score", [], dtype=pl.Float64)
    left = bank_text[pairs["b_idx"].to_numpy()]
    right = ledger_text[pairs["l_idx"].to_numpy()]
    scores = process.cpdist(left, right, scorer=fuzz.token_set_ratio, workers=-1, dtype=np.float64)
    return pl.Series("description_score", scores / 100.0)


def reference_agreement(pairs: pl.DataFrame, bank: pl.DataFrame, ledger: pl.DataFrame) -> pl.Series:
    """Whether the ledger reference (invoice, check number) shows on the bank row."""
    joined = (
        pairs.select("b_idx", "l_idx")
        .join(bank.select("b_idx", "ref_text"), on="b_idx", how="left")
        .join(ledger.select("l_idx", "ref_key"), on="l_idx", how="left")
    )
    agree = (pl.col("ref_key").str.len_chars() >= 3) & pl.col("ref_text").str.contains(
        pl.col("ref_key"), literal=True
    )
    return joined.select(agree.fill_null(False).alias("reference_match")).to_series()


def compare(pairs: pl.DataFrame, bank: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Add `description_score` and `reference_match` to the pairs.

    The bank description is compared with the ledger's description and with its
    counterparty; the better of the two counts ("STRIPE TRANSFER ST-1234" says
    little like "Stripe payout" but names the counterparty "Stripe").
    """
    bank_text = bank["norm_description"].to_numpy()
    by_description = description_similarity(pairs, bank_text, ledger["norm_description"].to_numpy())
    by_counterparty = description_similarity(pairs, bank_text, ledger["norm_counterparty"].to_numpy())
    return pairs.with_columns(
        pl.max_horizontal(by_description, by_counterparty).alias("description_score"),
        reference_agreement(pairs, bank, ledger),
    )
