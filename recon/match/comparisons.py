"""Stage 2, compare: one similarity per signal for every candidate pair.

Descriptions are compared in bulk with rapidfuzz (`process.cpdist` over the pairs,
all cores for more than a few), never in a Python loop per pair. Strings are gathered
by row index from numpy arrays rather than joined into the pair frame.

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

from recon.match.engine import ENGINE
from recon.match.positions import among
from recon.match.side_by_side import side_by_side

PAIRS_WORTH_THREADS = 2_000
"""Fewer pairs are scored on one core: starting rapidfuzz's threads costs as much as scoring a thousand or two."""


def _workers(pairs: int) -> int:
    return -1 if pairs >= PAIRS_WORTH_THREADS else 1


def text_similarity(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """token_set_ratio in [0, 1] of two aligned arrays of normalized texts; empty text scores 0."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.float64)
    scores = process.cpdist(left, right, scorer=fuzz.token_set_ratio, workers=_workers(len(left)), dtype=np.float64)
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
    scores = process.cpdist(left, right, scorer=fuzz.partial_ratio, workers=_workers(len(left)), dtype=np.float64)
    scores /= 100.0
    lengths = np.minimum(np.fromiter(map(len, left), int, len(left)), np.fromiter(map(len, right), int, len(right)))
    return np.where(lengths >= MIN_COMPACT_LENGTH, COMPACT_WEIGHT * scores, 0.0)


def _dictionaries(*frames: pl.DataFrame) -> list[tuple[np.ndarray, pl.DataFrame]]:
    """(code of each row, the distinct rows) of each frame, collected together: code i stands for
    the i-th distinct row."""
    plans = []
    for frame in frames:
        distinct = frame.lazy().unique(maintain_order=True)
        with_code = distinct.with_row_index("_code")
        codes = frame.lazy().join(with_code, on=frame.columns, how="left", maintain_order="left", nulls_equal=True)
        plans += [codes.select("_code"), distinct]
    collected = pl.collect_all(plans, engine=ENGINE)
    return [
        (codes["_code"].to_numpy(), distinct) for codes, distinct in zip(collected[::2], collected[1::2], strict=True)
    ]


def description_similarity(pairs: pl.DataFrame, bank: pl.DataFrame, ledger: pl.DataFrame) -> pl.Series:
    """Best of (bank text vs ledger description), (bank text vs ledger counterparty) and
    the compact bank text against the compact counterparty.

    "STRIPE TRANSFER ST-1234" says little like "Stripe payout" but names the
    counterparty "Stripe", so the best of them counts.

    Normalized texts repeat a lot (card masks, ids and dates are gone; members, twins and
    payroll share one text), so each distinct (bank text, ledger texts) is scored once and
    the scores are gathered back to the pairs: the same result as scoring every pair, for
    a fraction of the rapidfuzz calls.
    """
    if pairs.is_empty():
        return pl.Series("description_score", [], dtype=pl.Float64)
    (bank_code, bank_texts), (ledger_code, ledger_texts) = _dictionaries(
        bank.select("norm_description"), ledger.select("norm_description", "norm_counterparty")
    )
    # one integer per (bank text, ledger texts): < 2^63 for any realistic number of distinct texts
    bank_of_pair = bank_code[pairs["b_idx"].to_numpy()].astype(np.int64)
    keys = pl.LazyFrame({"key": bank_of_pair * len(ledger_texts) + ledger_code[pairs["l_idx"].to_numpy()]})
    distinct = keys.unique("key", maintain_order=True).with_row_index("slot")
    slots, distinct_keys = pl.collect_all(
        [keys.join(distinct, on="key", how="left", maintain_order="left").select("slot"), distinct.select("key")],
        engine=ENGINE,
    )
    of_pair, distinct_key = slots["slot"].to_numpy(), distinct_keys["key"].to_numpy()
    bank_of, ledger_of = distinct_key // len(ledger_texts), distinct_key % len(ledger_texts)
    bank_text = bank_texts["norm_description"].to_numpy()
    description, counterparty = (
        ledger_texts[column].to_numpy() for column in ("norm_description", "norm_counterparty")
    )
    by_description = text_similarity(bank_text[bank_of], description[ledger_of])
    by_counterparty = text_similarity(bank_text[bank_of], counterparty[ledger_of])
    # spaces dropped once per distinct text, not once per pair
    no_space = np.frompyfunc(lambda text: text.replace(" ", ""), 1, 1)
    by_compact = compact_similarity(no_space(bank_text)[bank_of], no_space(counterparty)[ledger_of])
    best = np.maximum(np.maximum(by_description, by_counterparty), by_compact)
    return pl.Series("description_score", best[of_pair])


def reference_signals(pairs: pl.DataFrame, bank_tokens: pl.DataFrame, ledger_tokens: pl.DataFrame) -> pl.DataFrame:
    """reference_match, reference_conflict and shared_reference of every pair (same order as `pairs`).

    A pair matches when both rows carry the same token (`shared_reference` is the least
    of them). It conflicts when no token is shared but both rows carry a token of the
    same kind (prefix): two invoice numbers, and not the same one.

    Both signals need a token on each row: the tokens are joined only to the pairs
    where both rows have one (a small share); every other pair is (False, False, null).
    """
    b_idx, l_idx = pairs["b_idx"].to_numpy(), pairs["l_idx"].to_numpy()
    with_tokens = np.flatnonzero(among(b_idx, bank_tokens["b_idx"]) & among(l_idx, ledger_tokens["l_idx"]))
    both = (
        pl.LazyFrame({"b_idx": b_idx[with_tokens], "l_idx": l_idx[with_tokens]})
        .with_row_index("pos")
        .join(bank_tokens.lazy().select("b_idx", "token", "prefix"), on="b_idx")
        .join(
            ledger_tokens.lazy().select("l_idx", pl.col("token").alias("l_token"), pl.col("prefix").alias("l_prefix")),
            on="l_idx",
        )
    )
    # the token of each pair as a categorical code: a column of millions of mostly null strings is slow
    shared, same_kind = pl.collect_all(
        [
            both.filter(pl.col("token") == pl.col("l_token"))
            .group_by("pos")
            .agg(pl.col("token").min().cast(pl.Categorical)),
            both.filter(pl.col("prefix") == pl.col("l_prefix")).select("pos"),
        ],
        engine=ENGINE,
    )
    match = np.zeros(pairs.height, dtype=bool)
    match[with_tokens[shared["pos"].to_numpy()]] = True
    conflict = np.zeros(pairs.height, dtype=bool)
    conflict[with_tokens[same_kind["pos"].to_numpy()]] = True
    source = np.zeros(pairs.height, dtype=np.uint32)  # position 0 of `choices` is null
    source[with_tokens[shared["pos"].to_numpy()]] = np.arange(1, shared.height + 1, dtype=np.uint32)
    choices = pl.concat([pl.Series([None], dtype=pl.Categorical), shared["token"]])
    return pl.DataFrame([
        pl.Series("reference_match", match),
        pl.Series("reference_conflict", conflict & ~match),
        choices.gather(source).alias("shared_reference"),
    ])  # fmt: skip


def compare(
    pairs: pl.DataFrame,
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    bank_tokens: pl.DataFrame,
    ledger_tokens: pl.DataFrame,
) -> pl.LazyFrame:
    """Add `description_score`, `reference_match`, `reference_conflict`, `shared_reference` to the pairs
    (lazy: the caller collects them with what it computes from them)."""
    description, references = side_by_side(
        lambda: description_similarity(pairs, bank, ledger).to_frame(),
        lambda: reference_signals(pairs, bank_tokens, ledger_tokens),
    )
    signals = [description, references]
    return pl.concat([pairs.lazy(), *(frame.lazy() for frame in signals)], how="horizontal")
