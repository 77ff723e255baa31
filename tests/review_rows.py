"""The demo's rows and suggestions the review tests decide on, found by what they are, not by hard-coded ids.

After `recon run` on the generated demo the matcher leaves, among others: 1:1
suggestions for the monthly Google Workspace debit (-72.00), a 1:1 suggestion for
an Initech payment that differs by 9.00, and the 1:N suggestion of the batched
deposit 1730.00 = 1200.00 (Hooli) + 530.00 (Wayne Foods).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from recon.cli import main


@dataclass(frozen=True, slots=True)
class DemoReview:
    gsuite_suggestion: str  # a 1:1 suggestion, -72.00 on both sides
    initech_suggestion: str  # a 1:1 suggestion whose amounts differ by 9.00
    batched_suggestion: str  # the 1:N suggestion of the 1730.00 deposit
    deposit: str  # bank txn_id of the 1730.00 deposit
    receipts: tuple[str, str]  # ledger entry_ids of the 1200.00 and 530.00 receipts
    fee: str  # bank txn_id of an open MONTHLY SERVICE FEE row
    open_ledger: str  # ledger entry_id of the open 2450.00 Globex receipt


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    rows = con.execute(sql).fetchall()
    assert rows, f"the demo lacks what this test needs: {sql}"
    return str(rows[0][0])


def demo_review(store_path: Path) -> DemoReview:
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        suggested = "SELECT match_id FROM matches WHERE status = 'suggested' AND "
        return DemoReview(
            gsuite_suggestion=_one(con, suggested + "kind = '1:1' AND reasons LIKE 'amount equal%' ORDER BY match_id"),
            initech_suggestion=_one(con, suggested + "reasons LIKE '%differs by -9.00%'"),
            batched_suggestion=_one(con, suggested + "kind = '1:N'"),
            deposit=_one(con, "SELECT txn_id FROM bank_transactions WHERE amount_minor = 173000"),
            receipts=(
                _one(
                    con, "SELECT entry_id FROM ledger_entries WHERE amount_minor = 120000 AND description LIKE '%Hooli'"
                ),
                _one(
                    con, "SELECT entry_id FROM ledger_entries WHERE amount_minor = 53000 AND description LIKE '%Wayne%'"
                ),
            ),
            fee=_one(
                con,
                "SELECT txn_id FROM bank_transactions WHERE description = 'MONTHLY SERVICE FEE' ORDER BY posted_date",
            ),
            open_ledger=_one(con, "SELECT row_id FROM open_items WHERE side = 'ledger' ORDER BY row_id"),
        )
    finally:
        con.close()


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run the `recon` entry point in this process (faster than a subprocess): exit code, stdout, stderr."""
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def query(store_path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
