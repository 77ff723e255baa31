"""A row whose id the store holds comes again with other content.

Ledger: the books are the truth, so the store takes the new content (engine matches dropped
and matched again, a person's kept, the old entry kept in `ledger_row_events`). Bank: the
store keeps its row and the import report warns. Two rows of one file sharing an id with
another amount or date are a broken file.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.review_rows import query, run_cli

CONFIG = """
[store]
path = "recon.duckdb"

[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "Assets:Bank:Checking"

[[sources]]
account = "checking"
format = "ofx"
paths = ["bank.ofx"]

[[ledgers]]
account = "checking"
format = "csv"
paths = ["gl.csv"]
"""

HEADER = "id,date,amount,description,counterparty,reference,account\n"
RENT = "JE-2,2026-07-01,{amount},Office rent,Oakwood Properties,,Assets:Bank:Checking\n"
COFFEE = "JE-1,2026-07-03,-4.75,Coffee,Blue Bottle,,Assets:Bank:Checking\n"
BANK = [
    OfxTxn("F1", date(2026, 7, 1), Decimal("-4200.00"), "ACH DEBIT OAKWOOD PROPERTIES RENT"),
    OfxTxn("F2", date(2026, 7, 3), Decimal("-4.75"), "BLUE BOTTLE COFFEE"),
]


def _ofx(path: Path, txns: list[OfxTxn]) -> None:
    path.write_text(
        ofx_statement(
            txns, account_id="42", currency="USD", start=date(2026, 7, 1), end=date(2026, 7, 31), balance=Decimal("100")
        )
    )


@pytest.fixture
def books(tmp_path: Path) -> Path:
    (tmp_path / "recon.toml").write_text(CONFIG)
    _ofx(tmp_path / "bank.ofx", BANK)
    (tmp_path / "gl.csv").write_text(HEADER + COFFEE + RENT.format(amount="-4200.00"))
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], books: Path, *args: str) -> tuple[int, str, str]:
    return run_cli(capsys, *args, "--config", books / "recon.toml")


def _rent_match(store: Path) -> list[tuple[object, ...]]:
    return query(
        store,
        "SELECT m.match_id, m.status, m.origin, l.amount_diff_minor FROM matches m JOIN match_links l USING (match_id) "
        "JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id WHERE e.external_id = 'JE-2'",
    )


def test_an_entry_the_books_changed_takes_the_new_amount_and_is_matched_again(
    capsys: pytest.CaptureFixture[str], books: Path
) -> None:
    store = books / "recon.duckdb"
    assert _run(capsys, books, "run")[0] == 0
    [(old_match, status, _, diff)] = _rent_match(store)
    assert (status, diff) == ("auto", 0)

    (books / "gl.csv").write_text(HEADER + COFFEE + RENT.format(amount="-4300.00"))
    code, out, err = _run(capsys, books, "run")
    assert code == 0, err
    assert "2 rows: 0 new, 1 already known, 1 changed" in err + out
    assert "rows imported:  4 read, 0 new, 3 already known, 1 changed" in out
    assert "gl.csv:3: JE-2: amount -4200.00 -> -4300.00" in err
    assert query(store, "SELECT amount_minor FROM ledger_entries WHERE external_id = 'JE-2'") == [(-430000,)]
    # the engine's match was for -4200.00: dropped; the match run matched again, seeing the 100.00 difference
    assert [(status, diff) for _, status, _, diff in _rent_match(store)] == [("suggested", 10000)]
    assert query(store, "SELECT event, changes, old_amount_minor, new_amount_minor, match_id, match_action "
                 "FROM ledger_row_events") == [
        ("changed", "amount -4200.00 -> -4300.00", -420000, -430000, old_match, "dropped")
    ]  # fmt: skip

    code, out, err = _run(capsys, books, "import")
    assert code == 0, err
    assert "2 rows: 0 new, 2 already known" in err + out
    assert "changed" not in err + out
    assert query(store, "SELECT count(*) FROM ledger_row_events") == [(1,)]


def test_a_persons_match_on_a_changed_entry_is_kept_and_reported(
    capsys: pytest.CaptureFixture[str], books: Path
) -> None:
    store = books / "recon.duckdb"
    assert _run(capsys, books, "run")[0] == 0
    [(match_id, _, _, _)] = _rent_match(store)
    assert _run(capsys, books, "review", "confirm", str(match_id), "--by", "ana")[0] == 0

    (books / "gl.csv").write_text(HEADER + COFFEE + RENT.format(amount="-4300.00").replace("Office rent", "Rent"))
    code, _, err = _run(capsys, books, "import")
    assert code == 0, err
    assert "gl.csv:3: JE-2: amount -4200.00 -> -4300.00, description 'Office rent' -> 'Rent'" in err
    assert f"is in match {match_id} (confirmed, made or decided by a person): kept" in err
    # kept, and its difference is now what the bank and the books disagree by: -4200.00 - -4300.00
    assert _rent_match(store) == [(match_id, "confirmed", "engine", 10000)]
    assert query(store, "SELECT match_action FROM ledger_row_events") == [("kept",)]


def test_a_bank_id_sent_again_with_another_amount_keeps_the_stored_row_and_warns(
    capsys: pytest.CaptureFixture[str], books: Path
) -> None:
    store = books / "recon.duckdb"
    assert _run(capsys, books, "import")[0] == 0
    _ofx(books / "bank.ofx", [BANK[0], OfxTxn("F2", date(2026, 7, 4), Decimal("-5.75"), "BLUE BOTTLE COFFEE")])
    code, out, err = _run(capsys, books, "import")
    assert code == 0, err
    assert "2 rows: 0 new, 2 already known" in err + out
    assert "1 row with an id already stored differs from the stored row: kept the stored one" in err
    assert "bank.ofx:" in err
    assert ": F2: stored date 2026-07-03, file 2026-07-04, amount -4.75, file -5.75" in err
    assert query(store, "SELECT posted_date, amount_minor FROM bank_transactions WHERE external_id = 'F2'") == [
        (date(2026, 7, 3), -475)
    ]


def test_two_rows_of_one_file_with_one_id_and_other_amounts_refuse_the_file(
    capsys: pytest.CaptureFixture[str], books: Path
) -> None:
    gl = books / "gl.csv"
    gl.write_text(HEADER + COFFEE + RENT.format(amount="-4200.00") + COFFEE + RENT.format(amount="-4300.00"))
    code, _, err = _run(capsys, books, "import")
    assert code == 2
    assert (
        f"{gl}:5: field 'id': 'JE-2' is also the id of line 3 but with another amount -4200.00 there, "
        "-4300.00 here: two rows of one file cannot share an id"
    ) in err
    assert f"{gl}:4" not in err  # the identical repeat of JE-1 is no problem
    assert query(books / "recon.duckdb", "SELECT count(*) FROM ledger_entries") == [(0,)]

    gl.write_text(HEADER + COFFEE + RENT.format(amount="-4200.00") + COFFEE)
    code, out, err = _run(capsys, books, "import")
    assert code == 0, err
    assert "3 rows: 2 new, 1 already known" in err + out
    assert "1 rows repeat an id of the same file; kept the first" in err


def test_two_exports_that_disagree_about_an_entry_do_not_flip_it_every_run(
    books: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (books / "recon.toml").write_text(CONFIG.replace('paths = ["gl.csv"]', 'paths = ["gl*.csv"]'))
    assert _run(capsys, books, "run")[0] == 0
    (books / "gl-later.csv").write_text(HEADER + RENT.format(amount="-4300.00"))  # another export, the rent edited
    for _ in range(3):
        code, _, err = _run(capsys, books, "run")
        assert code == 0, err
        assert "gl-later.csv:2: JE-2: stored from gl.csv, which has it otherwise (amount -4200.00 -> -4300.00)" in err
    store = books / "recon.duckdb"
    assert query(store, "SELECT amount_minor FROM ledger_entries WHERE external_id = 'JE-2'") == [(-420000,)]
    assert query(store, "SELECT count(*) FROM ledger_row_events") == [(0,)]
