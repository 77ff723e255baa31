"""Duplicate flags: the same statement from two sources is flagged, legit repeats are kept."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.helpers import count, recon

CONFIG = """
[[accounts]]
id = "checking"
currency = "USD"

[[sources]]
account = "checking"
format = "ofx"
paths = ["bank/*.ofx"]

[[sources]]
account = "checking"
format = "csv"
profile = "chase-checking"
paths = ["bank/*.csv"]

[[ledgers]]
account = "checking"
paths = ["ledger/*.csv"]
"""

JULY = [
    OfxTxn("F1", date(2026, 7, 1), Decimal("-4.75"), "BLUE BOTTLE COFFEE"),
    OfxTxn("F2", date(2026, 7, 1), Decimal("-4.75"), "BLUE BOTTLE COFFEE"),
    OfxTxn("F3", date(2026, 7, 2), Decimal("1200.00"), "ACH CREDIT HOOLI"),
    OfxTxn("F4", date(2026, 7, 3), Decimal("-15.00"), "MONTHLY SERVICE FEE"),
]


def _chase_csv(txns: list[OfxTxn]) -> str:
    lines = ["Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #"]
    for t in txns:
        kind = "CREDIT" if t.amount > 0 else "DEBIT"
        lines.append(f"{kind},{t.posted:%m/%d/%Y},{t.name},{t.amount},ACH_{kind},,")
    return "\n".join(lines) + "\n"


def _setup(tmp_path: Path) -> Path:
    (tmp_path / "bank").mkdir()
    (tmp_path / "ledger").mkdir()
    (tmp_path / "bank" / "july.ofx").write_text(
        ofx_statement(JULY, account_id="1", currency="USD", start=date(2026, 7, 1), end=date(2026, 7, 3),
                      balance=Decimal("100.00"))
    )  # fmt: skip
    (tmp_path / "ledger" / "gl.csv").write_text(
        "id,date,amount,description,counterparty,reference,account\n"
        "J1,2026-07-01,-4.75,Coffee,Blue Bottle,,\n"
        "J2,2026-07-01,-4.75,Coffee,Blue Bottle,,\n"
        "J3,2026-07-01,1200.00,Payment received - Hooli,Hooli,INV-9,\n"
        "J4,2026-07-02,1200.00,Payment received - Hooli (again),Hooli,INV-9,\n"
    )
    config = tmp_path / "recon.toml"
    config.write_text(CONFIG)
    return config


def test_same_statement_as_ofx_and_csv_is_flagged_and_repeats_are_kept(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    (tmp_path / "bank" / "july-export.csv").write_text(_chase_csv(JULY))
    result = recon("run", "--config", config)
    assert result.returncode == 0, result.stderr
    store = tmp_path / "recon.duckdb"
    # both sources are stored: nothing is merged silently
    assert count(store, "SELECT count(*) FROM bank_transactions") == 8
    # every CSV row is flagged as a duplicate of its OFX twin, one twin each (the two coffees stay two)
    assert count(store, "SELECT count(*) FROM duplicates WHERE side = 'bank'") == 4
    assert (
        count(
            store,
            """SELECT count(DISTINCT d.duplicate_of) FROM duplicates d JOIN bank_transactions b ON b.txn_id = d.row_id
           WHERE b.source_file LIKE '%.csv'""",
        )
        == 4
    )
    # the bill entered twice (same invoice and amount) is flagged in the ledger; the two coffees are not
    assert count(store, "SELECT count(*) FROM duplicates WHERE side = 'ledger'") == 1
    assert (
        count(
            store,
            "SELECT count(*) FROM duplicates d JOIN ledger_entries e ON e.entry_id = d.row_id "
            "WHERE e.external_id = 'J4'",
        )
        == 1
    )
    # flagged rows are not matched, and the report lists them with their reason
    assert (
        count(
            store,
            "SELECT count(*) FROM match_links l JOIN duplicates d ON d.row_id IN (l.bank_txn_id, l.ledger_entry_id)",
        )
        == 0
    )
    page = (tmp_path / "out" / "exceptions.html").read_text()
    assert "Possible duplicates (5)" in page
    assert "same reference INV-9 and amount" in page


def test_rerun_flags_the_same_and_a_single_source_flags_nothing(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    assert recon("run", "--config", config).returncode == 0
    assert recon("run", "--config", config).returncode == 0
    store = tmp_path / "recon.duckdb"
    assert count(store, "SELECT count(*) FROM duplicates WHERE side = 'bank'") == 0
    assert count(store, "SELECT count(*) FROM bank_transactions WHERE amount_minor = -475") == 2


def test_repeated_identical_rows_of_a_real_statement_are_kept_and_not_flagged(tmp_path: Path, corpus: Path) -> None:
    # ING DE: three identical 2.90 EUR transit tickets on 2018-12-09 (the running balance tells them apart)
    statement = corpus / "csv" / "ofxstatement-de-ing-test_with_saldo_1.csv"
    config = tmp_path / "recon.toml"
    config.write_text(
        '[[accounts]]\nid = "giro"\ncurrency = "EUR"\n\n[[sources]]\naccount = "giro"\nformat = "csv"\n'
        f'profile = "ing-de"\npaths = ["{statement}"]\n'
    )
    for _ in range(2):
        result = recon("run", "--config", config)
        assert result.returncode == 0, result.stderr
    store = tmp_path / "recon.duckdb"
    assert count(store, "SELECT count(*) FROM bank_transactions WHERE posted_date = '2018-12-09'") == 3
    assert count(store, "SELECT count(DISTINCT txn_id) FROM bank_transactions WHERE amount_minor = -290") == 4
    assert count(store, "SELECT count(*) FROM duplicates") == 0


def test_a_dismissed_flag_stays_dismissed_and_the_row_is_matched_again(tmp_path: Path) -> None:
    config = _setup(tmp_path)
    (tmp_path / "bank" / "july-export.csv").write_text(_chase_csv(JULY))
    assert recon("run", "--config", config).returncode == 0
    store = tmp_path / "recon.duckdb"
    con = duckdb.connect(str(store), read_only=True)
    [(ledger_row,)] = con.execute("SELECT row_id FROM duplicates WHERE side = 'ledger'").fetchall()
    con.close()
    result = recon("review", "not-duplicate", ledger_row, "--config", config, "--by", "ann", "--note", "two invoices")
    assert result.returncode == 0, result.stderr
    assert recon("run", "--config", config).returncode == 0
    assert count(store, "SELECT count(*) FROM duplicates WHERE side = 'ledger' AND status = 'dismissed'") == 1
    assert count(store, "SELECT count(*) FROM duplicates WHERE side = 'ledger' AND status = 'flagged'") == 0
    assert count(
        store, "SELECT count(*) FROM review_decisions WHERE action = 'not_duplicate' AND decided_by = 'ann'"
    ) == 1  # fmt: skip
    # the row takes part in matching again: it is matched or open with a reason, not hidden as a duplicate
    page = (tmp_path / "out" / "exceptions.html").read_text()
    assert "Possible duplicates (4)" in page
    bad = recon("review", "not-duplicate", "no-such-row", "--config", config)
    assert bad.returncode == 2
    assert "not flagged as duplicates: no-such-row" in bad.stderr
