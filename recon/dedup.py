"""Duplicate flags: rows that repeat another row, flagged with a reason and the pair, never merged.

Identity (`recon.model.assign_row_ids`) already stores a transaction once when the
same source sends it again with the same id, or the same file is imported twice.
What is left for this module are repeats identity cannot see:

- bank: the same transaction from two sources (an OFX download and a CSV export of
  the same account, or a feed and a file; or a bank that re-issued its ids): same
  account, date and amount, in different source files. Within each file the k-th
  row of a (date, amount) pairs with the k-th of the other file, so two identical
  coffees that both sources show twice stay two rows, each with one twin;
- ledger: a bill entered twice: same account, amount and reference (invoice or bill
  number) on two entries; or the same entry exported twice under new ids: same
  account, date, amount and description from different source files.

The later row (by import batch, then id) is flagged as the duplicate of the earlier.
Flagged rows are left out of matching and listed in the report; a person can dismiss
a flag (status `dismissed`), and a dismissed pair is never flagged again.
"""

from __future__ import annotations

import polars as pl
from rapidfuzz import fuzz, process

from recon.match.text import normalized_text
from recon.store import Store

DUPLICATE_SCHEMA = {
    "side": pl.String, "row_id": pl.String, "duplicate_of": pl.String, "account_id": pl.String, "reason": pl.String,
}  # fmt: skip


def _rank_within_file(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort("batch_order", "row_id").with_columns(
        pl.int_range(pl.len()).over([*keys, "source_file"]).alias("k")
    )


def _pairs_across_files(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Rows sharing `keys` and their rank k, from different files; the earlier row on the left."""
    ranked = _rank_within_file(frame, keys)
    joined = ranked.join(ranked, on=[*keys, "k"], suffix="_later").filter(
        (pl.col("source_file") != pl.col("source_file_later"))
        & (
            (pl.col("batch_order") < pl.col("batch_order_later"))
            | ((pl.col("batch_order") == pl.col("batch_order_later")) & (pl.col("row_id") < pl.col("row_id_later")))
        )
    )
    # a later row repeats at most one earlier row: the first file's
    return joined.sort("batch_order", "row_id").unique(subset=["row_id_later"], keep="first", maintain_order=True)


def _similarity(pairs: pl.DataFrame) -> pl.Series:
    if pairs.is_empty():
        return pl.Series("similarity", [], dtype=pl.Float64)
    left = pairs.select(normalized_text(pl.col("description"))).to_series().to_numpy()
    right = pairs.select(normalized_text(pl.col("description_later"))).to_series().to_numpy()
    return pl.Series("similarity", process.cpdist(left, right, scorer=fuzz.token_set_ratio, workers=-1) / 100.0)


def bank_duplicates(bank: pl.DataFrame) -> pl.DataFrame:
    """Flags for bank rows (columns: row_id, account_id, posted_date, amount_minor, description, source_file,
    batch_order)."""
    pairs = _pairs_across_files(bank, ["account_id", "posted_date", "amount_minor"])
    pairs = pairs.with_columns(_similarity(pairs))
    return pairs.select(
        pl.lit("bank").alias("side"),
        pl.col("row_id_later").alias("row_id"),
        pl.col("row_id").alias("duplicate_of"),
        "account_id",
        pl.format(
            "same date and amount as {}:{} (description similarity {})",
            pl.col("source_file"), pl.col("source_line").fill_null(0), pl.col("similarity").round(2),
        ).alias("reason"),
    )  # fmt: skip


def ledger_duplicates(ledger: pl.DataFrame) -> pl.DataFrame:
    """Flags for ledger rows: a repeated reference with the same amount, or the same entry from two exports."""
    with_ref = ledger.filter(pl.col("reference").is_not_null() & (pl.col("reference").str.strip_chars() != ""))
    ranked = with_ref.sort("batch_order", "row_id").with_columns(
        pl.col("reference").str.strip_chars().str.to_uppercase().alias("ref_key")
    )
    first = ranked.group_by("account_id", "amount_minor", "ref_key", maintain_order=True).agg(
        pl.col("row_id").first().alias("duplicate_of"),
        pl.col("source_file").first().alias("first_file"),
        pl.col("source_line").first().alias("first_line"),
    )
    by_reference = (
        ranked.join(first, on=["account_id", "amount_minor", "ref_key"])
        .filter(pl.col("row_id") != pl.col("duplicate_of"))
        .select(
            pl.lit("ledger").alias("side"), "row_id", "duplicate_of", "account_id",
            pl.format("same reference {} and amount as {}:{}", pl.col("reference"), pl.col("first_file"),
                      pl.col("first_line").fill_null(0)).alias("reason"),
        )
    )  # fmt: skip
    normalized = ledger.with_columns(normalized_text(pl.col("description")).alias("norm"))
    exported_twice = _pairs_across_files(normalized, ["account_id", "posted_date", "amount_minor", "norm"]).select(
        pl.lit("ledger").alias("side"),
        pl.col("row_id_later").alias("row_id"),
        pl.col("row_id").alias("duplicate_of"),
        "account_id",
        pl.format("same date, amount and description as {}:{}", pl.col("source_file"),
                  pl.col("source_line").fill_null(0)).alias("reason"),
    )  # fmt: skip
    return pl.concat([by_reference, exported_twice]).unique(subset=["row_id"], keep="first", maintain_order=True)


_ROWS_SQL = """
SELECT r.{key} AS row_id, r.account_id, r.posted_date, r.amount_minor, r.description, r.source_file,
       r.source_line, {extra} b.imported_at AS batch_order
FROM {table} r JOIN import_batches b USING (batch_id)
"""


def flag_duplicates(store: Store, *, run_id: str) -> int:
    """Recompute the flags (keeping people's dismissals); one transaction. Returns the number flagged."""
    with store.transaction() as con:
        bank = store.query(_ROWS_SQL.format(key="txn_id", table="bank_transactions", extra="") + " WHERE NOT r.pending")
        ledger = store.query(_ROWS_SQL.format(key="entry_id", table="ledger_entries", extra="r.reference,"))
        flags = [bank_duplicates(bank)] if bank.height else []
        if ledger.height:
            flags.append(ledger_duplicates(ledger))
        found = pl.concat(flags).cast(DUPLICATE_SCHEMA) if flags else pl.DataFrame(schema=DUPLICATE_SCHEMA)  # type: ignore[arg-type]
        con.register("found_duplicates", found.to_arrow())
        con.execute("DELETE FROM duplicates WHERE status = 'flagged'")
        con.execute(
            """INSERT INTO duplicates SELECT f.side, f.row_id, f.duplicate_of, f.account_id, f.reason, 'flagged', ?
               FROM found_duplicates f ANTI JOIN duplicates d USING (side, row_id)""",
            [run_id],
        )
        con.unregister("found_duplicates")
        flagged = con.execute("SELECT count(*) FROM duplicates WHERE status = 'flagged'").fetchall()[0][0]
    return int(flagged)
