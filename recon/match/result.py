"""What a match run returns (`MatchResult`, its frames' schemas) and how a match is named (`match_id`).

A match's id is a hash of the rows it links, so the same rows linked again, by any
run or by a person, give the same id: reviews and write-backs refer to it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

MATCH_SCHEMA = {
    "match_id": pl.String, "account_id": pl.String, "status": pl.String, "kind": pl.String,
    "score": pl.Float64, "reasons": pl.String,
}  # fmt: skip
LINK_SCHEMA = {
    "match_id": pl.String, "bank_txn_id": pl.String, "ledger_entry_id": pl.String,
    "amount_diff_minor": pl.Int64, "date_diff_days": pl.Int32,
}  # fmt: skip
OPEN_SCHEMA = {"side": pl.String, "row_id": pl.String, "account_id": pl.String, "reason": pl.String}


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What one match run proposes.

    Attributes:
      matches: one row per match (MATCH_SCHEMA); status auto or suggested.
      links: one row per (bank row, ledger row) link of a match (LINK_SCHEMA).
      open_items: rows left unmatched, with a reason code (OPEN_SCHEMA).
      candidate_pairs: how many pairs blocking produced, for the run log.
    """

    matches: pl.DataFrame
    links: pl.DataFrame
    open_items: pl.DataFrame
    candidate_pairs: int


def match_id(bank_ids: list[str], ledger_ids: list[str]) -> str:
    """Stable id of a match: the same rows linked again give the same id."""
    text = "|".join(sorted(bank_ids)) + "#" + "|".join(sorted(ledger_ids))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def pair_match_ids(bank_ids: pl.Series, ledger_ids: pl.Series) -> pl.Series:
    """`match_id([b], [e])` of each aligned pair, without the sorting and joining of one-element lists."""
    texts = (bank_ids + "#" + ledger_ids).cast(pl.Binary).to_list()
    return pl.Series("match_id", [hashlib.sha256(text).hexdigest()[:20] for text in texts], dtype=pl.String)
