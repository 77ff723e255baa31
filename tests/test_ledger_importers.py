"""The book importers: beancount (read by beancount) and hledger/ledger journals (read by recon's parser).

Expected values of the corpus files were read off the files (line numbers quoted).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from importers import LEDGER_IMPORTERS, detect
from importers.beancount_ledger import BeancountBook
from importers.hledger_journal import HledgerJournal
from recon.config import AccountSettings
from recon.importing import ImportJob, import_file
from recon.store import open_store
from tests.writeback_books import ACCOUNT, beancount_book, journal_book, run_tool, story, tool

BEANCOUNT = BeancountBook()
JOURNAL = HledgerJournal()
COLUMNS = ("source_line", "posted_date", "amount_minor", "currency", "description")


def rows_of(frame: pl.DataFrame, account: str) -> list[tuple[object, ...]]:
    return frame.filter(pl.col("ledger_account") == account).select(COLUMNS).rows()


def test_registry_and_detection() -> None:
    assert LEDGER_IMPORTERS["beancount"] is not None
    assert LEDGER_IMPORTERS["hledger"] is not None


def test_corpus_beangulp_book_one_row_per_card_posting(corpus: Path) -> None:
    path = corpus / "ledger" / "beangulp-ledger.beancount"
    assert detect(path, "ledger") is LEDGER_IMPORTERS["beancount"]
    ex = BEANCOUNT.extract(path, currency="USD")
    assert ex.problems == []
    card = rows_of(ex.rows, "Liabilities:US:CreditCard")
    assert len(card) == 27  # lines 31..135; the pad of line 29 is not a row
    assert card[0] == (31, date(2013, 10, 26), -1892, "USD", "DUANE READE #14354 0NEW YORK / 99999993299 8002892273")
    assert card[-1][:4] == (135, date(2013, 12, 2), -1775, "USD")
    assert card[-1][4].startswith("AMC VILLAGE 7 #2110")
    amounts = {line: amount for line, _, amount, _, _ in card}
    assert amounts[55] == -10210  # '-102.1 USD' (posting line 56)
    assert amounts[95] == -2900  # '-29 USD' (posting line 96)
    assert not ex.rows.filter(pl.col("description").str.contains("Padding inserted")).height
    linked = ex.rows.filter(pl.col("ledger_account") == "Assets:US:UTrade:Cash")
    assert linked["external_id"][0] == "ut14167001@Assets:US:UTrade:Cash"  # the link of line 168


def test_corpus_ledger_autosync_journal_with_negative_zero(corpus: Path) -> None:
    path = corpus / "ledger" / "ledger-autosync-checking.lgr"
    assert detect(path, "ledger") is LEDGER_IMPORTERS["hledger"]
    ex = JOURNAL.extract(path, currency="USD")
    assert ex.problems == []
    foo = rows_of(ex.rows, "Assets:Foo")
    assert len(foo) == 13
    assert foo[0][:4] == (1, date(2011, 3, 31), 1, "USD")
    assert foo[0][4].startswith("DIVIDEND EARNED FOR PERIOD OF 03/01/2011")
    assert foo[3] == (16, date(2011, 4, 7), 0, "USD", "Empty")  # '-$0.00' is zero
    assert foo[-1] == (54, date(2011, 3, 31), -1, "USD", "Match Payee")
    assert 'PAYEE TEST"QUOTE' in [r[4] for r in foo]


def test_corpus_journal_rows_agree_with_hledger(corpus: Path) -> None:
    _agrees_with_hledger(corpus / "ledger" / "ledger-autosync-checking.lgr")


def test_generated_journal_rows_agree_with_hledger(tmp_path: Path) -> None:
    path = tmp_path / "main.journal"
    path.write_text(journal_book(story(size=30)))
    _agrees_with_hledger(path)


def _agrees_with_hledger(path: Path) -> None:
    command = tool("hledger")
    if command is None:
        pytest.skip("hledger is not installed (Debian: apt-get install hledger)")
    printed = json.loads(run_tool(command, "-f", str(path), "print", "-O", "json").stdout)
    theirs = sorted(
        (t["tdate"], t["tdescription"], p["paccount"], _quantity(p["pamount"][0]["aquantity"]))
        for t in printed
        for p in t["tpostings"]
    )
    ex = JOURNAL.extract(path, currency="USD")
    ours = sorted(
        (d.isoformat(), desc, account, Decimal(amount).scaleb(-2))
        for d, desc, account, amount in ex.rows.select(
            "posted_date", "description", "ledger_account", "amount_minor"
        ).rows()
    )
    assert ours == theirs


def _quantity(q: dict[str, int]) -> Decimal:
    return Decimal(q["decimalMantissa"]).scaleb(-q["decimalPlaces"])


def test_generated_beancount_book_rows(tmp_path: Path) -> None:
    txns = story(size=20)
    path = tmp_path / "main.beancount"
    path.write_text(beancount_book(txns))
    ex = BEANCOUNT.extract(path, currency="USD")
    assert ex.problems == []
    bank = ex.rows.filter(pl.col("ledger_account") == ACCOUNT)
    assert bank.height == 21  # the opening balance and the 20 story entries
    assert bank["amount_minor"].sum() == int((Decimal("1500.00") + sum(t.amount for t in txns)) * 100)
    assert bank["counterparty"][1] == txns[0].payee


def test_journal_syntax_subset(tmp_path: Path) -> None:
    (tmp_path / "more.journal").write_text("2024-05-02 Included entry\n    Assets:Bank  10.00 USD\n    Income:X\n")
    path = tmp_path / "main.journal"
    path.write_text(
        "; a comment\n"
        "account Assets:Bank\n"
        "    ; note: sub-line of a directive\n"
        "comment\n"
        "2024-01-01 this is not an entry\n"
        "end comment\n"
        "~ monthly\n"
        "    Expenses:Rent  $500\n"
        "    Assets:Bank\n"
        "\n"
        "2024/05/01=2024/05/03 ! (1042) Hardware Store | nails and screws  ; shop: diy\n"
        "    ; invoice: 77\n"
        "    Expenses:Home             $1,234.56\n"
        "    * Assets:Bank                        ; bank-id: X1\n"
        "\n"
        "2024/05/01 Shares\n"
        "    Assets:Broker    10 AAPL {$50.00} [2024/04/01] @ $51.00\n"
        "    Assets:Cash\n"
        "\n"
        "2024/05/01 * Statement balance\n"
        "    Assets:Bank    $0 = $100.00\n"
        "\n"
        "include more.journal\n"
    )
    ex = JOURNAL.extract(path, currency="USD")
    assert ex.problems == []
    bank = ex.rows.filter(pl.col("ledger_account") == "Assets:Bank")
    assert bank.select("source_line", "posted_date", "amount_minor", "reference", "counterparty").rows() == [
        (11, date(2024, 5, 1), -123456, "1042", "Hardware Store"),
        (1, date(2024, 5, 2), 1000, None, None),
    ]
    assert bank["description"][0] == "Hardware Store | nails and screws"
    assert bank["source_element"].to_list() == [None, "included file more.journal"]
    shares = ex.rows.filter(pl.col("ledger_account").is_in(["Assets:Broker", "Assets:Cash"]))
    assert shares.select("amount_minor", "currency").rows() == [(1000, "AAPL"), (-51000, "USD")]  # at cost


def test_journal_problems_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.journal"
    path.write_text("2024-01-01 ok\n    Assets:Bank  $1.00\n    Income:X\n\n2024-01-02 bad\n    Assets:Bank  $1.2.3\n")
    ex = JOURNAL.extract(path, currency="USD")
    assert [str(p) for p in ex.problems] == [f"{path}:6: field 'amount': '$1.2.3' is not an amount recon can read"]


def test_journal_dates_without_a_year_are_refused_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "short.journal"
    path.write_text("Y 2024\n\n01/15 Lunch\n    Assets:Bank  $-12.00\n    Expenses:Food\n")
    ex = JOURNAL.extract(path, currency="USD")
    assert [(p.line, p.field) for p in ex.problems] == [(3, "date")]
    assert "not a full date" in ex.problems[0].message


def test_journal_amount_with_too_many_decimals_is_refused_only_in_the_account_currency(tmp_path: Path) -> None:
    path = tmp_path / "fx.journal"
    path.write_text(
        "2024-01-01 fund\n    Assets:Fund  1.2345 VTI @ $100\n    Assets:Bank\n\n"
        "2024-01-02 odd\n    Assets:Bank  $1.005\n    Income:X\n"
    )
    ex = JOURNAL.extract(path, currency="USD")
    # the dollar posting and the posting inferred from it; never the fund's 1.2345 VTI
    assert [(p.line, p.field) for p in ex.problems] == [(6, "amount"), (7, "amount")]


def test_beancount_loader_errors_become_problems_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.beancount"
    path.write_text('2024-01-01 open Assets:Bank\n\n2024-01-05 * "Lunch"\n  Assets:Bank  -12.00 USD\n  Expenses:Food\n')
    ex = BEANCOUNT.extract(path, currency="USD")
    assert ex.problems
    assert ex.problems[0].path == str(path)
    assert ex.problems[0].line == 3
    assert "Expenses:Food" in ex.problems[0].message


def test_import_service_keeps_the_bank_account_and_refuses_a_broken_book(tmp_path: Path) -> None:
    good = tmp_path / "main.beancount"
    good.write_text(beancount_book(story()))
    bad = tmp_path / "bad.beancount"
    bad.write_text('2024-01-05 * "Lunch"\n  Assets:Bank:Checking  -12.00 USD\n  Expenses:Food\n')
    account = AccountSettings(id="checking", currency="USD", ledger_account=ACCOUNT)
    with open_store(tmp_path / "store.duckdb") as store:
        report = import_file(store, ImportJob(good, "ledger", account, "beancount"), run_id="t")
        assert report.problems == []
        assert report.rows_new == len(story()) + 1
        assert report.rows_other_accounts == len(story()) + 1
        again = import_file(store, ImportJob(good, "ledger", account, "beancount"), run_id="t")
        assert again.rows_new == 0
        refused = import_file(store, ImportJob(bad, "ledger", account, "beancount"), run_id="t")
        assert refused.refused
        assert all(p.path == str(bad) and p.line is not None for p in refused.problems)


def test_a_misspelt_ledger_account_imports_nothing_and_says_which_accounts_the_book_has(tmp_path: Path) -> None:
    book = tmp_path / "main.beancount"
    book.write_text(beancount_book(story()))
    misspelt = AccountSettings(id="checking", currency="USD", ledger_account="Assets:Bank:Cheking")
    with open_store(tmp_path / "store.duckdb") as store:
        report = import_file(store, ImportJob(book, "ledger", misspelt, "beancount"), run_id="t")
    assert report.rows_new == 0
    (note,) = [n for n in report.notes if "Assets:Bank:Cheking" in n]
    assert ACCOUNT in note
