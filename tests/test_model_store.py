from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from recon.errors import RunError, StoreBusyError
from recon.model import BANK_EXTRACT, BANK_TRANSACTIONS, LEDGER_ENTRIES, STATEMENT_BALANCES, assign_row_ids
from recon.store import Store, open_store
from recon.store.migrations import LATEST_VERSION

_DUCK_TYPES = {"VARCHAR": "VARCHAR", "BIGINT": "BIGINT", "DATE": "DATE", "BOOLEAN": "BOOLEAN"}


@pytest.mark.parametrize("table", [BANK_TRANSACTIONS, LEDGER_ENTRIES, STATEMENT_BALANCES], ids=lambda t: t.name)
def test_store_tables_are_the_model(tmp_path: Path, table) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        described = store.con.execute(f"DESCRIBE {table.name}").fetchall()
    assert [(r[0], r[1], r[2]) for r in described] == [
        (c.name, c.sql_type, "YES" if c.nullable else "NO") for c in table.columns
    ]


def test_migrations_apply_once_and_record_the_version(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    open_store(path).close()
    open_store(path).close()
    con = duckdb.connect(str(path))
    assert con.execute("SELECT count(*), max(version) FROM schema_migrations").fetchone() == (
        LATEST_VERSION,
        LATEST_VERSION,
    )
    con.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', now())")
    con.close()
    with pytest.raises(RunError, match="newer than this recon"):
        open_store(path)


def test_store_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    open_store(path).close()
    assert path.stat().st_mode & 0o077 == 0


def test_a_second_process_is_told_the_store_is_busy(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "s.duckdb"
    open_store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusyError, match="in use by another recon process"):
            open_store(path, wait_seconds=0.2)
    finally:
        holder.kill()
        holder.wait()


def test_a_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    def insert_then_fail(store: Store) -> None:
        with store.transaction() as con:
            con.execute("INSERT INTO accounts VALUES ('a', 'USD', NULL)")
            raise ZeroDivisionError

    with open_store(tmp_path / "s.duckdb") as store:
        with pytest.raises(ZeroDivisionError):
            insert_then_fail(store)
        assert store.con.execute("SELECT count(*) FROM accounts").fetchone() == (0,)


def _extract(rows: list[tuple[str | None, date, int, str]]) -> pl.DataFrame:
    return BANK_EXTRACT.conform(
        pl.DataFrame(
            [
                {"external_id": e, "posted_date": d, "amount_minor": a, "currency": "USD", "description": t,
                 "pending": False, "source_file": "f.csv", "source_line": i + 2}
                for i, (e, d, a, t) in enumerate(rows)
            ]
        )
    )  # fmt: skip


def test_identical_rows_in_one_file_get_distinct_ids_and_stable_ones() -> None:
    day = date(2026, 8, 5)
    first = _extract([(None, day, -475, "COFFEE"), (None, day, -475, "coffee "), (None, day, -900, "LUNCH")])
    ids = assign_row_ids(first, account_id="chk", id_column="txn_id")["txn_id"].to_list()
    assert len(set(ids)) == 3
    # the same rows in another export (other lines, another order of unrelated rows) get the same ids
    again = _extract([(None, day, -900, "LUNCH"), (None, day, -475, "Coffee"), (None, day, -475, "COFFEE")])
    assert set(assign_row_ids(again, account_id="chk", id_column="txn_id")["txn_id"]) == set(ids)
    # an export that holds only one of the two coffees adds none
    one = _extract([(None, day, -475, "COFFEE")])
    assert set(assign_row_ids(one, account_id="chk", id_column="txn_id")["txn_id"]) <= set(ids)


def test_source_ids_win_and_are_scoped_by_account() -> None:
    frame = _extract([("FIT1", date(2026, 1, 2), 100, "A"), ("FIT1", date(2026, 1, 3), 200, "B changed")])
    ids = assign_row_ids(frame, account_id="chk", id_column="txn_id")["txn_id"].to_list()
    assert ids[0] == ids[1]
    other = assign_row_ids(frame, account_id="savings", id_column="txn_id")["txn_id"].to_list()
    assert other[0] != ids[0]
