"""Exports of the store as CSV or Parquet: matches, normalized bank rows, normalized ledger rows.

Amounts are written as exact decimal strings (`amount`) in CSV; Parquet keeps them
too, beside `amount_minor`. Column names are part of the public interface (README).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from recon.errors import UserError
from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES, Table
from recon.money import minor_to_decimal_expr
from recon.store import Store

ExportKind = Literal["matches", "transactions", "ledger"]

# bank_txn_id and ledger_entry_id are the store's ids (what `recon review` takes); the sources' own
# ids are beside them, so a person can find the row in the bank file or the books
MATCHES_SQL = """
SELECT m.match_id, m.status, m.kind, m.score, m.account_id,
       l.bank_txn_id,
       coalesce(b.external_id, b.source_file || ':' || CAST(b.source_line AS VARCHAR)) AS bank_external_id,
       l.ledger_entry_id,
       coalesce(e.external_id, e.source_file || ':' || CAST(e.source_line AS VARCHAR)) AS ledger_external_id,
       l.amount_diff_minor, l.date_diff_days, m.reasons
FROM matches m
JOIN match_links l USING (match_id)
JOIN bank_transactions b ON b.txn_id = l.bank_txn_id
JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
ORDER BY m.account_id, b.posted_date, m.match_id, l.bank_txn_id, l.ledger_entry_id
"""

_MATCH_STATE = """
    (SELECT max(m.status) FROM match_links ml JOIN matches m USING (match_id)
     WHERE ml.{column} = r.{key} AND m.status IN ('auto', 'confirmed', 'suggested')) AS match_status"""


def _rows_sql(table: Table, *, key: str, link_column: str) -> str:
    """Every column of the table (raw included: it is the row's provenance), then its match status."""
    columns = ", ".join(f"r.{name}" for name in table.names)
    return f"""
SELECT {columns}, {_MATCH_STATE.format(column=link_column, key=key)}
FROM {table.name} r ORDER BY r.account_id, r.posted_date, r.source_file, r.source_line, r.{key}
"""


TRANSACTIONS_SQL = _rows_sql(BANK_TRANSACTIONS, key="txn_id", link_column="bank_txn_id")
LEDGER_SQL = _rows_sql(LEDGER_ENTRIES, key="entry_id", link_column="ledger_entry_id")

_SQL: dict[str, str] = {"matches": MATCHES_SQL, "transactions": TRANSACTIONS_SQL, "ledger": LEDGER_SQL}


def export_frame(store: Store, kind: ExportKind) -> pl.DataFrame:
    frame = store.query(_SQL[kind])
    if "amount_minor" in frame.columns:
        amount = minor_to_decimal_expr(pl.col("amount_minor"), pl.col("currency")).alias("amount")
        position = frame.columns.index("amount_minor")
        frame = frame.with_columns(amount).select(*frame.columns[:position], "amount", *frame.columns[position:])
    return frame


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        # CSV users read the exact decimal `amount`; the integer stays in Parquet only
        frame.drop("amount_minor", strict=False).write_csv(path)
    elif suffix == ".parquet":
        frame.write_parquet(path)
    else:
        raise UserError(f"{path}: unknown export format '{suffix}'; use .csv or .parquet")
