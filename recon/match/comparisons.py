"""Stage 2, compare: one similarity per signal for every candidate pair.

Descriptions are compared in bulk with rapidfuzz (`process.cpdist` over the pairs,
all cores), never in a Python loop per pair. Strings are gathered by row index
from numpy arrays rather than joined into the pair frame.

Signals added to the pairs:
  description_score  token_set_ratio of the normalized texts, in [0, 1]: the bank text
                     against the ledger description or counterparty, whichever is better
  reference_match    a reference token (invoice, check, end-to-end id) is on both rows
  reference_conflict both rows name a reference of the same kind (two invoices,
                     two check numbers) and not the same one
  shared_reference   the token that agreed, for the explanation
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process


def text_similarity(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """token_set_ratio in [0, 1] of two aligned arrays of normalized texts; empty text scores 0."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.float64)
    scores = process.cpdist(left, right, scorer=fuzz.token_set_ratio, workers=-1, dtype=np.float64)
    return scores / 100.0


MIN_COMPACT_LENGTH = 5
COMPACT_WEIGHT = 0.9
"""A name found inside the other text with its spaces gone is good evidence, a little below a token match."""


def compact_similarity(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """partial_ratio in [0, 1] of texts without spaces, for names banks run together or cut short.

    "UBERSUPPLY" is "Uber Supply", "VANDELA" is the start of "Vandelay Health". Texts
    shorter than `MIN_COMPACT_LENGTH` score 0: three letters are found everywhere.
    """
    if len(left) == 0:
        return np.zeros(0, dtype=np.float64)
    scores = process.cpdist(left, right, scorer=fuzz.partial_ratio, workers=-1, dtype=np.float64) / 100.0
    lengths = np.minimum(np.fromiter(map(len, left), int, len(left)), np.fromiter(map(len, right), int, len(right)))
    return np.where(lengths >= MIN_COMPACT_LENGTH, COMPACT_WEIGHT * scores, 0.0)


def _dictionary(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code of each row, the distinct texts): code i stands for the i-th distinct text."""
    distinct = texts.unique(maintain_order=True)
    codes = (
        texts.to_frame("text")
        .join(
            distinct.to_frame("text").with_row_index("code"),
            on="text",
            how="left",
            maintain_order="left",
            nulls_equal=True,
        )
        .get_column("code")
        .to_numpy()
    )
    return codes.astype(np.int64), distinct.to_numpy()


def description_similarity(pairs: pl.DataFrame, bank: pl.DataFrame, ledger: pl.DataFrame) -> pl.Series:
    """Best of (bank text vs ledger description), (bank text vs ledger counterparty) and
    the compact bank text against the compact counterparty.

    "STRIPE TRANSFER ST-1234" says little like "Stripe payout" but names the
    counterparty "Stripe", so the best of them counts.

    Normalized texts repeat a lot (card masks, ids and dates are gone; members, twins and
    payroll share one text), so each distinct (bank text, description, counterparty) is
    scored once and the scores are gathered back to the pairs: the same result as scoring
    every pair, for a fraction of the rapidfuzz calls.
    """
    if pairs.is_empty():
        return pl.Series("description_score", [], dtype=pl.Float64)
    bank_code, bank_texts = _dictionary(bank["norm_description"])
    description_code, descriptions = _dictionary(ledger["norm_description"])
    counterparty_code, counterparties = _dictionary(ledger["norm_counterparty"])
    b = pairs["b_idx"].to_numpy()
    lx = pairs["l_idx"].to_numpy()
    # one integer per (bank text, description, counterparty): < 2^63 for any realistic number of distinct texts
    key = (bank_code[b] * len(descriptions) + description_code[lx]) * len(counterparties) + counterparty_code[lx]
    keys = pl.DataFrame({"key": key})
    distinct = keys.unique("key").with_row_index("slot")
    of_pair = keys.join(distinct, on="key", how="left", maintain_order="left")["slot"].to_numpy()
    distinct_keys = distinct["key"].to_numpy()
    counterparty_of = distinct_keys % len(counterparties)
    description_of = (distinct_keys // len(counterparties)) % len(descriptions)
    bank_text = bank_texts[distinct_keys // (len(counterparties) * len(descriptions))]
    by_description = text_similarity(bank_text, descriptions[description_of])
    counterparty = counterparties[counterparty_of]
    by_counterparty = text_similarity(bank_text, counterparty)
    no_space = np.frompyfunc(lambda text: text.replace(" ", ""), 1, 1)
    by_compact = compact_similarity(no_space(bank_text), no_space(counterparty))
    best = np.maximum(np.maximum(by_description, by_counterparty), by_compact)
    return pl.Series("description_score", best[of_pair])


def reference_signals(pairs: pl.DataFrame, bank_tokens: pl.DataFrame, ledger_tokens: pl.DataFrame) -> pl.DataFrame:
    """reference_match, reference_conflict and shared_reference of every pair (same order as `pairs`)."""
    keyed = pairs.select("b_idx", "l_idx")
    both = keyed.join(bank_tokens.select("b_idx", "token", "prefix"), on="b_idx").join(
        ledger_tokens.select("l_idx", pl.col("token").alias("l_token"), pl.col("prefix").alias("l_prefix")),
        on="l_idx",
    )
    shared = (
        both.filter(pl.col("token") == pl.col("l_token"))
        .group_by("b_idx", "l_idx")
        .agg(pl.col("token").min().alias("shared_reference"))
    )
    conflicting = (
        both.filter(pl.col("prefix").is_not_null() & (pl.col("prefix") == pl.col("l_prefix")))
        .group_by("b_idx", "l_idx", "prefix")
        .agg((pl.col("token") == pl.col("l_token")).any().alias("agrees"))
        .filter(~pl.col("agrees"))
        .select("b_idx", "l_idx", pl.lit(True).alias("reference_conflict"))
        .unique()
    )
    return (
        keyed.join(shared, on=["b_idx", "l_idx"], how="left", maintain_order="left")
        .join(conflicting, on=["b_idx", "l_idx"], how="left", maintain_order="left")
        .select(
            pl.col("shared_reference").is_not_null().alias("reference_match"),
            (pl.col("reference_conflict").fill_null(False) & pl.col("shared_reference").is_null()).alias(
                "reference_conflict"
            ),
            "shared_reference",
        )
    )


def compare(
    pairs: pl.DataFrame,
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    bank_tokens: pl.DataFrame,
    ledger_tokens: pl.DataFrame,
) -> pl.DataFrame:
    """Add `description_score`, `reference_match`, `reference_conflict`, `shared_reference` to the pairs."""
    return pairs.with_columns(description_similarity(pairs, bank, ledger)).hstack(
        reference_signals(pairs, bank_tokens, ledger_tokens)
    )
