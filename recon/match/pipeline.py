"""The pipeline: open bank and ledger rows in, matches, links and open items out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from recon.config import MatchingSettings
from recon.match import assignment, blocking, comparisons, decision, scoring

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


def _prepare(frame: pl.DataFrame, id_column: str, idx: str, ref_columns: list[str]) -> pl.DataFrame:
    refs = [pl.col(c).fill_null("") for c in ref_columns]
    return (
        frame.sort(id_column)
        .with_row_index(idx)
        .with_columns(
            comparisons.normalized_text(pl.col("description")).alias("norm_description"),
            pl.concat_str(refs, separator=" ")
            .str.to_lowercase()
            .str.replace_all(r"[^a-z0-9]", "")
            .alias("_ref"),
        )
    )


def match(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    settings: MatchingSettings,
    rejected: pl.DataFrame | None = None,
) -> MatchResult:
    """Match open bank rows against open ledger rows.

    `rejected` holds (bank_txn_id, ledger_entry_id) pairs a person rejected: they are
    never proposed again.
    """
    bank = _prepare(bank, "txn_id", "b_idx", ["description", "check_number", "reference"]).rename(
        {"_ref": "ref_text"}
    )
    ledger = (
        _prepare(ledger, "entry_id", "l_idx", ["reference"])
        .rename({"_ref": "ref_key"})
        .with_columns(comparisons.normalized_text(pl.col("counterparty")).alias("norm_counterparty"))
    )

    pairs = blocking.exact_amount_in_window(bank, ledger, settings=settings)
    pairs = pl.concat([pairs, blocking.check_number(bank, ledger, settings=settings)]).unique(
        subset=["b_idx", "l_idx"], keep="first", maintain_order=True
    )
    if rejected is not None and not rejected.is_empty():
        rejected_idx = rejected.join(
            bank.select("b_idx", pl.col("txn_id").alias("bank_txn_id")), on="bank_txn_id"
        ).join(ledger.select("l_idx", pl.col("entry_id").alias("ledger_entry_id")), on="ledger_entry_id")
        pairs = blocking.without_rejected(pairs, rejected_idx)
    pairs = pairs.with_columns(pl.lit(0, dtype=pl.Int64).alias("amount_diff_minor"))
    compared = comparisons.compare(pairs, bank, ledger)
    scored = scoring.score(compared, settings=settings)
    assigned = assignment.assign_one_to_one(scored)
    decided = decision.decide(assigned, scored, settings=settings).filter(pl.col("status").is_not_null())

    linked = decided.join(bank.select("b_idx", "txn_id", "account_id"), on="b_idx").join(
        ledger.select("l_idx", "entry_id"), on="l_idx"
    )
    ids = [match_id([b], [l_]) for b, l_ in linked.select("txn_id", "entry_id").iter_rows()]
    linked = linked.with_columns(pl.Series("match_id", ids, dtype=pl.String)).sort("match_id")
    matches = linked.select(
        "match_id", "account_id", "status", pl.lit("1:1").alias("kind"), "score", "reasons"
    ).cast(MATCH_SCHEMA)  # type: ignore[arg-type]
    links = linked.select(
        "match_id",
        pl.col("txn_id").alias("bank_txn_id"),
        pl.col("entry_id").alias("ledger_entry_id"),
        "amount_diff_minor",
        "date_diff_days",
    ).cast(LINK_SCHEMA)  # type: ignore[arg-type]

    open_bank = decision.open_reasons(bank, "b_idx", scored, decided, settings=settings).select(
        pl.lit("bank").alias("side"), pl.col("txn_id").alias("row_id"), "account_id", "reason"
    )
    open_ledger = decision.open_reasons(ledger, "l_idx", scored, decided, settings=settings).select(
        pl.lit("ledger").alias("side"), pl.col("entry_id").alias("row_id"), "account_id", "reason"
    )
    open_items = pl.concat([open_bank, open_ledger]).cast(OPEN_SCHEMA)  # type: ignore[arg-type]
    return MatchResult(matches, links, open_items, pairs.height)
