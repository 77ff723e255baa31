"""Editing a rule and running again is safe: an engine categorization follows the current rules until a
book has it; a `book_difference` match the edited rule no longer allows goes back to suggested."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from bench.ofx_writer import OfxTxn, ofx_statement
from recon.approved_entries import approved_new_entries
from recon.config import load_config
from recon.store import open_store
from tests.helpers import recon

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
format = "hledger"
paths = ["books.journal"]
writeback = WRITEBACK
[rules]
paths = ["rules/*.yaml"]
"""

OFX = ofx_statement(
    [
        OfxTxn("D1", date(2026, 9, 9), Decimal("1845.00"), "ACH CREDIT INITECH LLC",
               memo="ORIG CO NAME:INITECH LLC INV-19050"),
    ],
    account_id="000123456789", currency="USD", start=date(2026, 9, 1), end=date(2026, 9, 30), balance=None,
)  # fmt: skip

BOOK = """2026-08-31 Opening
    Assets:Bank:Checking      $20000.00
    Equity:Opening

2026-09-08 * (INV-19050) Initech LLC | Payment received - Initech LLC
    Assets:Bank:Checking      $1854.00
    Income:Sales
"""

RULE = """rules:
  - name: Initech wire short
    when: {description: {contains: INITECH}, amount: {sign: positive}}
    then:
      payee: Initech
      book_difference: {account: "ACCOUNT", max_amount: "MAX"}
"""


def _setup(tmp_path: Path, *, writeback: bool = False) -> Path:
    (tmp_path / "recon.toml").write_text(CONFIG.replace("WRITEBACK", "true" if writeback else "false"))
    (tmp_path / "bank.ofx").write_text(OFX)
    (tmp_path / "books.journal").write_text(BOOK)
    (tmp_path / "rules").mkdir()
    _rule(tmp_path, account="Expenses:Bank Fees:Wires", max_amount="10.00")
    return tmp_path / "recon.toml"


def _rule(tmp_path: Path, *, account: str, max_amount: str) -> None:
    (tmp_path / "rules" / "diff.yaml").write_text(RULE.replace("ACCOUNT", account).replace("MAX", max_amount))


def _query(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(tmp_path / "recon.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _run(config: Path) -> str:
    result = recon("run", "--config", config)
    assert result.returncode == 0, result.stderr
    return result.stdout + result.stderr


def test_lowering_the_limit_sends_the_match_back_to_suggested_and_nothing_is_booked(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    _run(config)
    [(status, reasons)] = _query(tmp_path, "SELECT status, reasons FROM matches")
    assert status == "auto"
    assert "booked to Expenses:Bank Fees:Wires" in reasons

    _rule(tmp_path, account="Expenses:Merchant Fees", max_amount="5.00")  # the 9.00 difference no longer fits
    output = _run(config)
    assert "went back to suggested" in output
    [(status, reasons)] = _query(tmp_path, "SELECT status, reasons FROM matches")
    assert status == "suggested"
    assert "booked" not in reasons
    [(account, limit)] = _query(tmp_path, "SELECT difference_account, difference_max_minor FROM categorizations")
    assert (account, limit) == ("Expenses:Merchant Fees", 500)
    with open_store(load_config(config).store_path) as store:
        assert approved_new_entries(store) == []

    # a person confirms it as it is: no rule edit changes it again
    [(match_id,)] = _query(tmp_path, "SELECT match_id FROM matches")
    confirmed = recon("review", "confirm", match_id, "--config", config)
    assert confirmed.returncode == 0, confirmed.stderr
    _rule(tmp_path, account="Expenses:Merchant Fees", max_amount="1.00")
    assert "went back to suggested" not in _run(config)
    assert _query(tmp_path, "SELECT status FROM matches") == [("confirmed",)]


def test_a_new_account_within_the_limit_keeps_the_match_auto_and_books_the_new_account(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    _run(config)
    _rule(tmp_path, account="Expenses:Merchant Fees", max_amount="20.00")
    _run(config)
    [(status, reasons)] = _query(tmp_path, "SELECT status, reasons FROM matches")
    assert status == "auto"
    assert reasons.endswith("the difference is booked to Expenses:Merchant Fees by rule 'Initech wire short'")
    with open_store(load_config(config).store_path) as store:
        [entry] = approved_new_entries(store)
    assert entry.counter_account == "Expenses:Merchant Fees"


def test_deleting_the_rule_drops_its_categorizations(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    _run(config)
    (tmp_path / "rules" / "diff.yaml").write_text("rules: []\n")
    _run(config)
    assert _query(tmp_path, "SELECT rule_name FROM categorizations") == []
    [(status,)] = _query(tmp_path, "SELECT status FROM matches")
    assert status == "suggested"


def test_a_categorization_made_before_the_row_was_matched_is_not_kept(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    (tmp_path / "rules" / "diff.yaml").write_text(
        "rules:\n  - name: Initech\n    when: {description: {contains: INITECH}}\n    then: {category: Income:Sales}\n"
    )
    (tmp_path / "books.journal").write_text(BOOK.split("\n\n")[0] + "\n")
    _run(config)  # nothing in the book to match yet: categorized as an open row
    assert _query(tmp_path, "SELECT rule_name FROM categorizations") == [("Initech",)]
    (tmp_path / "books.journal").write_text(BOOK.replace("$1854.00", "$1845.00"))
    _run(config)  # matched now: what the rule said of the open row is stale
    assert _query(tmp_path, "SELECT status FROM matches") == [("auto",)]
    assert _query(tmp_path, "SELECT rule_name FROM categorizations") == []


def test_once_written_to_the_book_the_categorization_and_the_match_are_kept(tmp_path: Path) -> None:
    config = _setup(tmp_path, writeback=True)
    _run(config)
    assert "Expenses:Bank Fees:Wires  $9.00" in (tmp_path / "recon.journal").read_text()
    before = _query(tmp_path, "SELECT * EXCLUDE (run_id, categorized_at) FROM categorizations")

    _rule(tmp_path, account="Expenses:Merchant Fees", max_amount="5.00")
    output = _run(config)
    assert "went back to suggested" not in output
    assert _query(tmp_path, "SELECT * EXCLUDE (run_id, categorized_at) FROM categorizations") == before
    assert _query(tmp_path, "SELECT status FROM matches") == [("auto",)]
    assert "Merchant Fees" not in (tmp_path / "recon.journal").read_text()

    tested = recon("rules", "test", "--config", config)
    assert "1 row kept: its categorization is in a book (written back)" in tested.stdout, tested.stdout
