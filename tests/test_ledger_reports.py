"""QuickBooks Online and Xero per-account report CSVs as the book side (issue #7).

The reports are generated from a seeded story (`tests.ledger_reports`); the bank
side of the same story is an OFX statement (`tests.writeback_books.write_bank`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from importers import BANK_IMPORTERS, LEDGER_IMPORTERS, detect
from importers.ledger_report import section_matches
from importers.quickbooks_csv import QuickBooksCsv
from importers.xero_csv import XeroCsv
from recon.config import AccountSettings
from recon.importing import ImportJob, import_file
from recon.store import open_store
from tests.helpers import count, recon
from tests.ledger_reports import SAVINGS, bank_rows_expected, ledger_story, quickbooks_report, xero_report
from tests.writeback_books import BANK_ONLY, write_bank, write_config

COLUMNS = ("source_line", "posted_date", "amount_minor", "reference", "counterparty", "ledger_account")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture
def qbo(tmp_path: Path) -> Path:
    return write(tmp_path, "gl.csv", quickbooks_report(ledger_story()))


@pytest.fixture
def xero(tmp_path: Path) -> Path:
    return write(tmp_path, "account-transactions.csv", xero_report(ledger_story()))


def test_quickbooks_general_ledger_gives_the_bank_sections_rows_signed_from_the_bank(qbo: Path) -> None:
    extract = QuickBooksCsv("1000 Checking").extract(qbo, currency="USD")
    assert extract.problems == []
    rows = extract.rows
    assert rows.height == len(ledger_story()) + len(SAVINGS)
    assert list(zip(rows["posted_date"], rows["amount_minor"], strict=True)) == bank_rows_expected(ledger_story())
    # line 8: preamble (4 lines), header, section row, Beginning Balance
    assert rows.select(COLUMNS).row(0) == (8, date(2024, 3, 2), -15323, "R1000", "Green Grocer", "1000 Checking")
    last = (28, date(2024, 3, 28), -24712, "R1013", "Bookshop Ltd", "1000 Checking")  # line 28 of the file
    assert rows.select(COLUMNS).row(-1) == last
    assert rows["description"][0] == "Green Grocer March"
    # amounts with thousands separators, exact; a deposit is money in, an expense money out
    by_ref = dict(zip(rows["reference"], rows["amount_minor"], strict=True))
    assert (by_ref["R2001"], by_ref["R2002"], by_ref["R2003"]) == (234567, -125000, -1248050)
    transfers = rows.filter(rows["reference"].is_null())
    assert transfers["amount_minor"].to_list() == [50000, -120000]  # to savings is money out of checking
    assert set(rows["external_id"].to_list()) == {None}  # ids are the import's content hashes


def test_transaction_detail_by_account_reads_the_same(tmp_path: Path, qbo: Path) -> None:
    detail = write(tmp_path, "detail.csv", quickbooks_report(ledger_story(), title="Transaction Detail by Account"))
    assert detect(detail, "ledger") is LEDGER_IMPORTERS["quickbooks"]
    a = QuickBooksCsv("1000 Checking").extract(detail, currency="USD").rows
    b = QuickBooksCsv("1000 Checking").extract(qbo, currency="USD").rows
    assert a.drop("source_file").equals(b.drop("source_file"))


@pytest.mark.parametrize("setting", ["1000 Checking", "1000 checking", "1000", "Checking", "  CHECKING "])
def test_the_bank_section_is_found_by_name_case_insensitively_or_by_code(qbo: Path, setting: str) -> None:
    extract = QuickBooksCsv(setting).extract(qbo, currency="USD")
    assert extract.problems == []
    assert extract.rows.height == len(ledger_story()) + len(SAVINGS)
    assert set(extract.rows["ledger_account"]) == {setting}  # the import service keeps the config's account


def test_each_entry_keeps_its_line_as_the_report_has_it(qbo: Path) -> None:
    lines = qbo.read_text(encoding="utf-8-sig").splitlines()
    for setting in ("1000 Checking", None):  # one section, and every section
        rows = QuickBooksCsv(setting).extract(qbo, currency="USD").rows
        assert rows.height > 0
        assert rows["raw"].to_list() == [lines[line - 1] for line in rows["source_line"]]


def test_another_section_is_another_account(qbo: Path) -> None:
    savings = QuickBooksCsv("1010").extract(qbo, currency="USD").rows
    assert savings["amount_minor"].to_list() == [-50000, 120000]
    every = QuickBooksCsv().extract(qbo, currency="USD").rows  # no account: every section, labelled
    assert every.filter(every["ledger_account"] == "1000 Checking").height == len(ledger_story()) + len(SAVINGS)
    assert every.filter(every["ledger_account"] == "Rent")["amount_minor"].to_list() == [125000]


@pytest.mark.parametrize(
    ("section", "setting", "same"),
    [
        ("1000 · Checking", "1000", True),
        ("Checking (1000)", "1000 Checking", True),
        ("090 - Business Bank Account", "business bank account", True),
        ("090 - Business Bank Account", "090", True),
        ("1000 Checking", "1010 Checking", False),
        ("1000 Checking", "Savings", False),
        ("Checking", "1000", False),
    ],
)
def test_section_matching(section: str, setting: str, same: bool) -> None:
    assert section_matches(section, setting) is same


def test_a_report_without_the_account_is_refused_naming_the_sections_it_has(qbo: Path) -> None:
    extract = QuickBooksCsv("2000 Credit Card").extract(qbo, currency="USD")
    [problem] = extract.problems
    assert "no section of account '2000 Credit Card'" in problem.message
    assert "its sections: 1000 Checking, 1010 Savings, Books" in problem.message
    assert extract.rows.height == 0


def test_xero_debit_is_money_in_and_both_date_styles_read(tmp_path: Path, xero: Path) -> None:
    extract = XeroCsv("Business Bank Account").extract(xero, currency="USD")
    assert extract.problems == []
    rows = extract.rows
    assert list(zip(rows["posted_date"], rows["amount_minor"], strict=True)) == bank_rows_expected(ledger_story())
    assert rows.select(COLUMNS).row(0)[:5] == (8, date(2024, 3, 2), -15323, "R1000", "Green Grocer")
    by_ref = dict(zip(rows["reference"], rows["amount_minor"], strict=True))
    assert (by_ref["R2001"], by_ref["R2003"]) == (234567, -1248050)
    iso = write(tmp_path, "iso.csv", xero_report(ledger_story(), iso_dates=True))
    again = XeroCsv("Business Bank Account").extract(iso, currency="USD").rows
    assert again.select("posted_date", "amount_minor").equals(rows.select("posted_date", "amount_minor"))


def test_xero_section_with_a_code(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", xero_report(ledger_story(), bank="090 - Business Bank Account"))
    assert XeroCsv("090").extract(path, currency="USD").rows.height == len(ledger_story()) + len(SAVINGS)


def test_bad_date_and_amount_name_line_and_column(tmp_path: Path, qbo: Path) -> None:
    lines = qbo.read_text().splitlines()
    lines[7] = lines[7].replace("03/02/2024", "2024-13-02")
    lines[8] = lines[8].replace("-157.58", "-157.5x")
    broken = write(tmp_path, "broken.csv", "\n".join(lines) + "\n")
    problems = QuickBooksCsv("1000 Checking").extract(broken, currency="USD").problems
    assert [(p.line, p.field) for p in problems] == [(8, "Date"), (9, "Amount")]
    assert "'2024-13-02' is not a date" in problems[0].message
    assert "'-157.5x' is not an exact amount" in problems[1].message


def test_xero_bad_credit_names_the_credit_column(tmp_path: Path, xero: Path) -> None:
    text = xero.read_text().replace(",153.23,", ",153.2.3,", 1)
    problems = XeroCsv("Business Bank Account").extract(write(tmp_path, "b.csv", text), currency="USD").problems
    assert [(p.line, p.field) for p in problems] == [(8, "Credit")]


def test_bad_rows_of_another_account_do_not_refuse_the_bank_section(tmp_path: Path, qbo: Path) -> None:
    lines = qbo.read_text().splitlines()
    rent = next(i for i, line in enumerate(lines) if line.startswith("Rent"))
    lines[rent + 2] = lines[rent + 2].replace("03/05/2024", "someday")
    path = write(tmp_path, "other.csv", "\n".join(lines) + "\n")
    assert QuickBooksCsv("1000 Checking").extract(path, currency="USD").problems == []
    assert [p.field for p in QuickBooksCsv("Rent").extract(path, currency="USD").problems] == ["Date"]


def test_missing_header_is_refused(tmp_path: Path, qbo: Path) -> None:
    text = qbo.read_text().replace(",Date,Transaction Type,", ",Day,Kind,", 1)
    [problem] = QuickBooksCsv("1000").extract(write(tmp_path, "h.csv", text), currency="USD").problems
    assert problem.message.startswith("no QuickBooks Online General Ledger / Transaction Detail by Account header")
    assert ",Date,Transaction Type,Num,Name,Memo/Description,Split,Amount,Balance" in problem.message


def test_identify_tells_the_reports_apart_from_bank_csvs_and_the_generic_gl(
    tmp_path: Path, qbo: Path, xero: Path
) -> None:
    assert detect(qbo, "ledger") is LEDGER_IMPORTERS["quickbooks"]
    assert detect(xero, "ledger") is LEDGER_IMPORTERS["xero"]
    assert detect(qbo, "bank") is None
    assert detect(xero, "bank") is None
    generic = write(tmp_path, "generic.csv", "id,date,amount,description\nGL1,2024-03-02,-153.23,Green Grocer\n")
    assert detect(generic, "ledger") is LEDGER_IMPORTERS["csv"]
    # a header alone, without the report's title above it, is not the report
    headless = write(tmp_path, "headless.csv", "\n".join(qbo.read_text().splitlines()[4:]) + "\n")
    assert not QuickBooksCsv().identify(headless)
    for importer in (LEDGER_IMPORTERS["quickbooks"], LEDGER_IMPORTERS["xero"]):
        assert not importer.identify(write(tmp_path, "empty.csv", ""))
    assert BANK_IMPORTERS["csv"].identify(qbo) is False


def test_corpus_bank_csvs_and_books_are_not_taken_for_reports(corpus: Path) -> None:
    files = sorted((corpus / "csv").glob("*.csv")) + sorted((corpus / "ledger").iterdir())
    assert files
    for path in files:
        assert not QuickBooksCsv().identify(path), path
        assert not XeroCsv().identify(path), path


def test_import_keeps_two_identical_coffees_and_a_second_import_adds_nothing(tmp_path: Path, qbo: Path) -> None:
    account = AccountSettings(id="checking", currency="USD", ledger_account="1000 Checking")
    job = ImportJob(qbo, "ledger", account, "quickbooks")
    with open_store(tmp_path / "s.duckdb") as store:
        first = import_file(store, job, run_id="r1")
        second = import_file(store, job, run_id="r2")
        coffees = store.con.execute(
            "SELECT count(DISTINCT entry_id) FROM ledger_entries WHERE amount_minor = -450"
        ).fetchall()
    assert not first.problems
    assert (first.rows_new, second.rows_new, second.rows_known) == (len(ledger_story()) + 2, 0, len(ledger_story()) + 2)
    assert coffees == [(2,)]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fmt", "ledger_account"), [("quickbooks", "1000 Checking"), ("xero", "Business Bank Account")]
)
def test_recon_run_matches_the_report_against_the_bank_ofx(tmp_path: Path, fmt: str, ledger_account: str) -> None:
    txns = ledger_story()
    write_bank(tmp_path, txns)
    (tmp_path / "ledger").mkdir()
    report = quickbooks_report(txns) if fmt == "quickbooks" else xero_report(txns)
    write(tmp_path / "ledger", "report.csv", report)
    write_config(tmp_path, fmt=fmt, book="ledger/report.csv", ledger_account=ledger_account, writeback=False,
                 extra='\n[output]\ndir = "out"\n')  # fmt: skip
    done = recon("run", "--config", tmp_path / "recon.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    store = tmp_path / "recon.duckdb"
    assert count(store, "SELECT count(*) FROM ledger_entries") == len(txns) + len(SAVINGS)
    assert count(store, "SELECT count(*) FROM bank_transactions") == len(txns) + len(BANK_ONLY)
    matched = """SELECT count(DISTINCT l.ledger_entry_id) FROM match_links l JOIN matches m USING (match_id)
                 WHERE m.status IN ('auto', 'suggested')"""
    assert count(store, matched) == len(txns)  # every story row; the savings transfers and bank fees stay open


def test_import_service_finds_the_section_by_code_and_refuses_a_missing_one(tmp_path: Path, qbo: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        by_code = AccountSettings(id="checking", currency="USD", ledger_account="1000")
        found = import_file(store, ImportJob(qbo, "ledger", by_code, "quickbooks"), run_id="r1")
        card = AccountSettings(id="card", currency="USD", ledger_account="2000 Credit Card")
        missing = import_file(store, ImportJob(qbo, "ledger", card, "quickbooks"), run_id="r2")
    assert (found.rows_new, found.problems) == (len(ledger_story()) + len(SAVINGS), [])
    assert missing.refused
    assert "its sections: 1000 Checking, 1010 Savings" in missing.problems[0].message
