"""What recon keeps about single rows besides matches, and what becomes of it when a row goes.

Open items, categorizations and duplicate flags name one row each (a duplicate flag two).
When a row is deleted for good (a batch undone, an OFX correction, a Plaid pending row
posted under a new id or removed), what names it goes too: otherwise the exceptions
report lists a row that no longer exists until the next match run, and a duplicate flag
points at nothing. A person's categorization is the one thing worth keeping: it moves
to the row that replaces the gone one (as a person's match does, `recon.match_carry`),
unless that row has a person's categorization of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

__all__ = ["forget_replaced_bank_rows", "forget_rows"]

_CARRY_PERSONS_CATEGORIZATION = """
INSERT OR REPLACE INTO categorizations
SELECT c.* REPLACE (s.successor AS txn_id)
FROM categorizations c JOIN (SELECT unnest($gone) AS gone, unnest($successors) AS successor) s ON c.txn_id = s.gone
WHERE c.origin = 'person'
  AND s.successor NOT IN (SELECT txn_id FROM categorizations WHERE origin = 'person')
"""


def forget_rows(con: duckdb.DuckDBPyConnection, *, bank: list[str], ledger: list[str]) -> None:
    """Delete what names these bank and ledger rows: open items, categorizations, duplicate flags."""
    if not bank and not ledger:
        return
    ids = {"bank": bank, "ledger": ledger}
    con.execute(
        "DELETE FROM open_items WHERE (side = 'bank' AND list_contains($bank, row_id)) "
        "OR (side = 'ledger' AND list_contains($ledger, row_id))",
        ids,
    )
    con.execute("DELETE FROM categorizations WHERE list_contains($bank, txn_id)", {"bank": bank})
    con.execute(
        "DELETE FROM duplicates WHERE (side = 'bank' AND (list_contains($bank, row_id) "
        "OR list_contains($bank, duplicate_of))) OR (side = 'ledger' AND (list_contains($ledger, row_id) "
        "OR list_contains($ledger, duplicate_of)))",
        ids,
    )


def forget_replaced_bank_rows(con: duckdb.DuckDBPyConnection, successors: Mapping[str, str | None]) -> None:
    """After a change to stored bank rows (`successors`: each changed txn_id -> the row replacing it, or None),
    the rows no longer stored are gone for good: a person's categorization moves to the successor, everything
    else naming them is deleted. A row still stored (updated in place, booked under its own id) keeps all."""
    stored = con.execute(
        "SELECT txn_id FROM bank_transactions WHERE list_contains($ids, txn_id)", {"ids": list(successors)}
    ).fetchall()
    still = {str(txn_id) for (txn_id,) in stored}
    gone = sorted(txn_id for txn_id in successors if txn_id not in still)
    replaced = [txn_id for txn_id in gone if successors[txn_id]]
    if replaced:
        con.execute(_CARRY_PERSONS_CATEGORIZATION, {"gone": replaced, "successors": [successors[t] for t in replaced]})
    forget_rows(con, bank=gone, ledger=[])
