"""Helpers for tests: run the real CLI in a subprocess, snapshot a store's content."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

# Columns that differ between two runs by nature (ids of batches and runs, clocks).
VOLATILE = {"batch_id", "run_id", "created_at", "imported_at", "decided_at"}

CONTENT_TABLES = {
    "bank_transactions": "txn_id",
    "ledger_entries": "entry_id",
    "statement_balances": "account_id, as_of, kind, source_file",
    "matches": "match_id",
    "match_links": "match_id, bank_txn_id, ledger_entry_id",
    "open_items": "side, row_id",
}


def recon(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `recon ARGS...` as a real process (with `env` added to this process's environment)."""
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env} if env else None,
    )


def snapshot(store_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every content table's rows, sorted, without the run-specific columns."""
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        out = {}
        for table, order in CONTENT_TABLES.items():
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall() if r[0] not in VOLATILE]
            out[table] = con.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}").fetchall()
        return out
    finally:
        con.close()


def count(store_path: Path, sql: str) -> int:
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row else 0
    finally:
        con.close()
