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

__all__ = [
    "GOVERNED_ROWS_SQL",
    "MEMO_KEY_BY_FORMAT",
    "RULE_INPUT",
    "WRITTEN_ROWS_SQL",
    "WRITTEN_SQL",
    "governed_rows",
    "history_rows",
    "lower_col",
    "prepare",
    "text_col",
]

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

MEMO_KEY_BY_FORMAT = {"ofx": "MEMO"}
"""Where a row's memo is, by import format: the key of the `raw` JSON record that holds it.

The memo is not a column of bank_transactions: only formats that give one apart from
the description keep it in the raw record (OFX MEMO, the importer's leaves keyed by tag).
CAMT, MT940, BAI2, CSV and Plaid give none apart (their remittance text is in the
description): their rows' memo is empty text.
"""


def _memo_sql() -> str:
    cases = " ".join(
        f"WHEN '{fmt}' THEN json_extract_string(b.raw, '$.{key}')" for fmt, key in MEMO_KEY_BY_FORMAT.items()
    )
    # `try`: a raw record written by hand (or by an older importer) may not be JSON
    return f"try(CASE i.format {cases} END)"


_SELECT = f"""
SELECT b.txn_id, b.account_id, b.posted_date, b.amount_minor, b.currency, b.description, b.payee,
       {_memo_sql()} AS memo, b.reference, i.format AS source
FROM bank_transactions b LEFT JOIN import_batches i USING (batch_id)
"""

_HELD = """SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
           WHERE m.status IN ('auto', 'confirmed')"""

WRITTEN_ROWS_SQL = """
SELECT DISTINCT t.txn_id, coalesce(w.ledger_location, w.target) AS location
FROM writeback_log w, unnest(string_split(w.bank_txn_id, ' ')) AS t(txn_id)
WHERE w.action = 'add' AND w.status = 'done'
"""
"""Bank rows whose categorization a book has, and where: write-back added an entry by it (its own, or a match's
difference)."""
WRITTEN_SQL = f"SELECT DISTINCT txn_id FROM ({WRITTEN_ROWS_SQL})"
"""The txn_ids of `WRITTEN_ROWS_SQL`."""

_DIFFERENCE_MATTERS = """SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
           WHERE m.status IN ('auto', 'confirmed') AND m.kind = '1:1' AND l.amount_diff_minor <> 0"""

GOVERNED_ROWS_SQL = (
    _SELECT.replace("SELECT b.txn_id,", f"SELECT b.txn_id NOT IN ({_HELD}) AS is_open, b.txn_id,", 1)
    + f"""
WHERE NOT b.pending
  AND (b.txn_id NOT IN ({_HELD}) OR b.txn_id IN ({_DIFFERENCE_MATTERS}))
  AND b.txn_id NOT IN (SELECT txn_id FROM categorizations WHERE origin = 'person')
  AND b.txn_id NOT IN ({WRITTEN_SQL})
ORDER BY b.posted_date, b.txn_id
"""
)
"""Rows whose engine categorization follows the current rules on every run: the open rows, and
rows in an accepted 1:1 match off by a difference (`book_difference` says how it is booked); but
never a row a person categorized, nor one whose categorization a book already has (`WRITTEN_SQL`).
Every other engine categorization is stale and dropped, except the written ones, which are kept."""


def _read(store: Store, sql: str) -> pl.DataFrame:
    frame = store.query(sql)
    if frame.is_empty():
        return pl.DataFrame(schema=RULE_INPUT)
    return frame.cast(dict(RULE_INPUT))  # type: ignore[arg-type]


def governed_rows(store: Store) -> tuple[pl.DataFrame, pl.Series]:
    """The rows of `GOVERNED_ROWS_SQL` (`RULE_INPUT` columns), and which of them are open (booleans)."""
    frame = store.query(GOVERNED_ROWS_SQL)
    if frame.is_empty():
        return pl.DataFrame(schema=RULE_INPUT), pl.Series("is_open", [], dtype=pl.Boolean)
    return frame.select(RULE_INPUT.names()).cast(dict(RULE_INPUT)), frame["is_open"]  # type: ignore[arg-type]


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
