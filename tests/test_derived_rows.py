"""What names a bank row when the row is replaced: a person's categorization moves, the rest goes."""

from __future__ import annotations

from pathlib import Path

import duckdb

from recon.derived_rows import forget_replaced_bank_rows
from recon.store import open_store


def _categorize(con: duckdb.DuckDBPyConnection, txn_id: str, origin: str, category: str) -> None:
    con.execute(
        "INSERT INTO categorizations (txn_id, origin, category, ignored, categorized_at) "
        "VALUES (?, ?, ?, false, now())",
        [txn_id, origin, category],
    )


def test_a_persons_categorization_moves_to_the_successor_unless_it_has_one_of_its_own(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        con = store.con
        _categorize(con, "gone-1", "person", "Expenses:Travel")  # successor new-1 has nothing: it moves
        _categorize(con, "gone-2", "person", "Expenses:Meals")  # successor new-2 has a person's own: it stays
        _categorize(con, "new-2", "person", "Expenses:Office")
        _categorize(con, "gone-3", "engine", "Expenses:Fees")  # the engine's: categorized again by the rules
        _categorize(con, "gone-4", "person", "Expenses:Rent")  # gone without a successor: forgotten
        forget_replaced_bank_rows(con, {"gone-1": "new-1", "gone-2": "new-2", "gone-3": "new-3", "gone-4": None})
        rows = con.execute("SELECT txn_id, origin, category FROM categorizations ORDER BY txn_id").fetchall()
    assert rows == [("new-1", "person", "Expenses:Travel"), ("new-2", "person", "Expenses:Office")]
