"""Importing: idempotent, atomic per file, exact; bad input refused whole with its location."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.helpers import count, recon

CONFIG = """
[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "Assets:Bank:Checking"
"""


def _ofx(path: Path, txns: list[OfxTxn], *, start: date, end: date) -> Path:
    path.write_text(ofx_statement(txns, account_id="42", currency="USD", start=start, end=end, balance=Decimal("100")))
    return path


def _setup(tmp_path: Path) -> Path:
    config = tmp_path / "recon.toml"
    config.write_text(CONFIG)
    return config


JULY = [OfxTxn(f"F{i}", date(2026, 7, i), Decimal(f"-{i}.25"), f"SHOP {i}") for i in range(1, 11)]


def test_same_ofx_twice_and_overlapping_statements_store_each_row_once(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    first = _ofx(tmp_path / "a.ofx", JULY[:7], start=date(2026, 7, 1), end=date(2026, 7, 7))
    overlap = _ofx(tmp_path / "b.ofx", JULY[4:], start=date(2026, 7, 5), end=date(2026, 7, 10))
    store = tmp_path / "recon.duckdb"

    result = recon("import", "--config", config, first)
    assert result.returncode == 0, result.stderr
    assert "7 read, 7 new, 0 already known" in result.stdout
    assert recon("import", "--config", config, first).stdout.count("0 new, 7 already known") == 1
    result = recon("import", "--config", config, overlap)
    assert "6 read, 3 new, 3 already known" in result.stdout
    assert count(store, "SELECT count(*) FROM bank_transactions") == 10
    assert count(store, "SELECT sum(amount_minor) FROM bank_transactions") == -sum(i * 100 + 25 for i in range(1, 11))
    assert count(store, "SELECT count(*) FROM import_batches") == 3


def test_two_identical_rows_without_ids_in_one_file_are_two_rows(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    gl = tmp_path / "gl.csv"
    gl.write_text(
        "id,date,amount,description,counterparty,reference,account\n"
        ",2026-08-05,-4.75,Coffee,Blue Bottle,,Assets:Bank:Checking\n"
        ",2026-08-05,-4.75,Coffee,Blue Bottle,,Assets:Bank:Checking\n"
        ",2026-08-05,-9.00,Lunch,,,Assets:Bank:Checking\n"
        "X1,2026-08-06,10.00,Other GL account,,,Income:Sales\n"
    )
    assert recon("import", "--config", config, "--ledger", gl).returncode == 0
    assert recon("import", "--config", config, "--ledger", gl).returncode == 0
    store = tmp_path / "recon.duckdb"
    assert count(store, "SELECT count(*) FROM ledger_entries WHERE amount_minor = -475") == 2
    # the row of another GL account is not this bank account's
    assert count(store, "SELECT count(*) FROM ledger_entries") == 3


def test_bad_amount_on_line_7_refuses_the_whole_file(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    lines = ["id,date,amount,description,counterparty,reference,account"]
    lines += [f"J{i},2026-08-0{i},{i}.00,Row {i},,," for i in range(1, 9)]
    lines[6] = "J6,2026-08-06,12,3x,Row 6,,,"  # line 7 of the file: the amount is '12' and an extra field
    lines[6] = 'J6,2026-08-06,"12,3x",Row 6,,,'
    gl = tmp_path / "gl.csv"
    gl.write_text("\n".join(lines) + "\n")
    result = recon("import", "--config", config, "--ledger", gl)
    assert result.returncode == 2
    assert f"{gl}:7: field 'amount': '12,3x' is not an exact amount" in result.stderr
    assert "Traceback" not in result.stderr
    store = tmp_path / "recon.duckdb"
    assert count(store, "SELECT count(*) FROM ledger_entries") == 0
    assert count(store, "SELECT count(*) FROM import_batches") == 0


def test_line_numbers_count_quoted_newlines(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    gl = tmp_path / "gl.csv"
    gl.write_text(
        "id,date,amount,description,counterparty,reference,account\n"
        'A,2026-01-02,1.00,"two\nlines",,,\n'
        "B,2026-13-45,2.00,bad date,,,\n"
    )
    result = recon("import", "--config", config, "--ledger", gl)
    assert result.returncode == 2
    assert f"{gl}:4: field 'date': '2026-13-45' is not a date (YYYY-MM-DD)" in result.stderr


def test_currency_other_than_the_account_is_refused(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    eur = tmp_path / "eur.ofx"
    eur.write_text(
        ofx_statement(JULY[:2], account_id="42", currency="EUR", start=date(2026, 7, 1), end=date(2026, 7, 2),
                      balance=Decimal("0"))
    )  # fmt: skip
    result = recon("import", "--config", config, eur)
    assert result.returncode == 2
    assert "field 'currency': 'EUR' differs from the currency of account 'checking' (USD)" in result.stderr


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01 not a statement")
    result = recon("import", "--config", config, junk)
    assert result.returncode == 2
    assert "cannot tell the format of this bank file" in result.stderr
    result = recon("import", "--config", config, tmp_path / "missing.ofx")
    assert result.returncode == 2
    assert "file not found" in result.stderr


def test_dry_run_stores_nothing(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    first = _ofx(tmp_path / "a.ofx", JULY, start=date(2026, 7, 1), end=date(2026, 7, 10))
    result = recon("import", "--config", config, "--dry-run", first)
    assert result.returncode == 0
    assert "10 read, 10 would be new" in result.stdout
    assert not (tmp_path / "recon.duckdb").exists()  # no store file is created either
