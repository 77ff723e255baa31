"""The rows rules run on: the engine's input frame, read from the store or made from examples.

`RULE_INPUT` is what a rule can look at. `prepare` adds the helper columns that
conditions and actions are compiled against (normalized text, amounts scaled to
1/10,000 so that rule amounts compare exactly with any currency).
"""

from __future__ import annotations

import polars as pl

from recon.categorize.schema import TEXT_FIELDS
from recon.categorize.values import E4_DECIMALS
from recon.money import currency_exponent
from recon.store import Store

__all__ = ["OPEN_ROWS_SQL", "RULE_INPUT", "history_rows", "lower_col", "open_rows", "prepare", "text_col"]

RULE_INPUT = pl.Schema(
    {
        "txn_id": pl.String,
        "account_id": pl.String,
        "posted_date": pl.Date,
        "amount_minor": pl.Int64,
        "currency": pl.String,
        "description": pl.String,
        "payee": pl.String,
        "memo": pl.String,
        "reference": pl.String,
        "source": pl.String,
    }
)

# The memo is not a column of bank_transactions: formats that give one apart (OFX MEMO)
# keep it in the raw record. `try` because not every importer writes JSON there.
_SELECT = """
SELECT b.txn_id, b.account_id, b.posted_date, b.amount_minor, b.currency, b.description, b.payee,
       try(json_extract_string(b.raw, '$.memo')) AS memo, b.reference, i.format AS source
FROM bank_transactions b LEFT JOIN import_batches i USING (batch_id)
"""

OPEN_ROWS_SQL = (
    _SELECT
    + """
WHERE NOT b.pending
  AND b.txn_id NOT IN (SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
                       WHERE m.status IN ('auto', 'confirmed'))
  AND b.txn_id NOT IN (SELECT txn_id FROM categorizations WHERE origin = 'person')
ORDER BY b.posted_date, b.txn_id
"""
)
"""Rows the engine categorizes: booked, not held by an accepted match, not categorized by a person."""


def _read(store: Store, sql: str) -> pl.DataFrame:
    frame = store.query(sql)
    if frame.is_empty():
        return pl.DataFrame(schema=RULE_INPUT)
    return frame.cast(dict(RULE_INPUT))  # type: ignore[arg-type]


def open_rows(store: Store) -> pl.DataFrame:
    return _read(store, OPEN_ROWS_SQL)


def history_rows(store: Store) -> pl.DataFrame:
    """Every stored bank row, open or not: what `rules check` and `rules suggest` learn from."""
    return _read(store, _SELECT + " ORDER BY b.posted_date, b.txn_id")


def text_col(field: str) -> str:
    return f"_text_{field}"


def lower_col(field: str) -> str:
    return f"_lower_{field}"


def prepare(rows: pl.DataFrame) -> pl.DataFrame:
    """Add the helper columns rules are compiled against; `rows` has the `RULE_INPUT` columns."""
    exponents = {c: currency_exponent(c) for c in rows["currency"].unique().drop_nulls().to_list()}
    e4_per_minor = pl.col("currency").replace_strict(
        {c: 10 ** (E4_DECIMALS - e) for c, e in exponents.items()}, default=100, return_dtype=pl.Int64
    )
    texts = [
        pl.col(f).fill_null("").str.replace_all(r"\s+", " ").str.strip_chars().alias(text_col(f)) for f in TEXT_FIELDS
    ]
    return rows.with_columns(*texts, e4_per_minor.alias("_e4_per_minor")).with_columns(
        *[pl.col(text_col(f)).str.to_lowercase().alias(lower_col(f)) for f in TEXT_FIELDS],
        (pl.col("amount_minor") * pl.col("_e4_per_minor")).alias("_amount_e4"),
    )
