"""Split and transfer categorizations written back: one entry with several postings, and a transfer booked once.

The decision (`book_approved`) is tested on plain values; the books by the nightly run on
two bank accounts sharing one book, read back by beancount, hledger and GnuCash's engine;
Xero's line items against a fake Xero and against Xero's spec (Prism).
"""

from __future__ import annotations

import json
import subprocess
import warnings
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from recon.approved_entries import ApprovedRow, Booking, book_approved
from recon.config import Config
from recon.store import Store, open_store
from recon.writeback import write_back
from recon.writeback.base import NewEntry
from tests.helpers import recon
from tests.two_banks import CHECKING, FED, LEDGERS, LOAN, OPENING, SAVINGS, write_banks_and_rules
from tests.writeback_books import tool
from tests.xero_fixtures import import_bank, xero_setup
from tests.xero_server import XeroServer


def _split_json(*parts: tuple[str, int]) -> str:
    return json.dumps([{"category": c, "amount": str(Decimal(a).scaleb(-2)), "amount_minor": a} for c, a in parts])


# --- the decision ------------------------------------------------------------------------------


def test_a_split_books_every_part_against_the_bank_row() -> None:
    row = ApprovedRow("t1", "checking", -12345, "USD", splits=_split_json(("Expenses:Food", -7407),
                                                                         ("Expenses:Home", -4938)))  # fmt: skip
    [booking] = book_approved([row], LEDGERS, fed_accounts=FED)
    assert booking == Booking("t1", counter_postings=(("Expenses:Food", 7407), ("Expenses:Home", 4938)))
    assert sum(a for _, a in booking.counter_postings) == -row.amount_minor


def test_a_split_that_no_longer_adds_up_to_the_row_is_held_with_why() -> None:
    row = ApprovedRow("t1", "checking", -10000, "USD", splits=_split_json(("Expenses:Food", -7407),
                                                                         ("Expenses:Home", -4938)))  # fmt: skip
    [booking] = book_approved([row], LEDGERS, fed_accounts=FED)
    assert booking.held_because is not None
    assert "-123.45" in booking.held_because
    assert "-100.00" in booking.held_because


def test_a_transfer_between_two_recon_accounts_is_booked_from_the_outflow_side_only() -> None:
    out = ApprovedRow("out", "checking", -50000, "USD", transfer_account="savings")
    into = ApprovedRow("in", "savings", 50000, "USD", transfer_account="checking")
    booked, held = book_approved([out, into], LEDGERS, fed_accounts=FED)
    assert booked == Booking("out", counter_account=SAVINGS, transfer_to="savings")
    assert held.held_because == f"booked from the other side: checking ({CHECKING})"
    assert held.counter_account is None


def test_a_transfer_may_name_the_other_account_by_its_ledger_account() -> None:
    out = ApprovedRow("out", "checking", -50000, "USD", transfer_account=SAVINGS)
    into = ApprovedRow("in", "savings", 50000, "USD", transfer_account=CHECKING)
    booked, held = book_approved([out, into], LEDGERS, fed_accounts=FED)
    assert booked.counter_account == SAVINGS
    assert held.held_because is not None
    assert held.held_because.startswith("booked from the other side: checking")


def test_a_transfer_with_an_account_no_bank_feeds_is_a_plain_entry_from_either_side() -> None:
    loan_payment = ApprovedRow("pay", "checking", -25000, "USD", transfer_account="car-loan")
    loan_paid_out = ApprovedRow("in", "checking", 1000000, "USD", transfer_account="car-loan")
    assert book_approved([loan_payment, loan_paid_out], LEDGERS, fed_accounts=FED) == [
        Booking("pay", counter_account=LOAN),
        Booking("in", counter_account=LOAN),
    ]


def test_the_inflow_is_booked_while_the_other_bank_has_sent_nothing() -> None:
    # were the other account's rows to come later, its outflow matches this entry: still one entry
    into = ApprovedRow("in", "savings", 50000, "USD", transfer_account="checking")
    assert book_approved([into], LEDGERS, fed_accounts={"savings"}) == [Booking("in", counter_account=CHECKING)]


def test_a_transfer_to_its_own_account_is_held() -> None:
    row = ApprovedRow("t", "checking", -100, "USD", transfer_account="checking")
    [booking] = book_approved([row], LEDGERS, fed_accounts=FED)
    assert booking.held_because is not None
    assert "own account" in booking.held_because


def test_counter_postings_must_sum_to_the_other_side() -> None:
    with pytest.raises(ValueError, match="sum to"):
        NewEntry("t", "t", date(2024, 3, 1), -1000, "USD", None, "x", counter_postings=(("Expenses:A", 999),))
    entry = NewEntry("t", "t", date(2024, 3, 1), -1000, "USD", None, "x", counter_account="Expenses:A")
    assert entry.postings == (("Expenses:A", 1000),)


# --- the books, through the nightly run ------------------------------------------------------------


def _setup(folder: Path, fmt: str) -> Path:
    write_banks_and_rules(folder)
    (folder / "books").mkdir()
    if fmt == "gnucash":
        book, lines = "main.gnucash", []  # the test makes the book
    elif fmt == "beancount":
        book, lines = "main.beancount", ['option "operating_currency" "USD"', "2024-01-01 open Equity:Opening"]
        for account, amount in OPENING.items():
            lines += [f"2024-01-01 open {account}", '2024-02-29 * "Opening balance"', f"  {account}  {amount} USD",
                      "  Equity:Opening"]  # fmt: skip
    else:
        book, lines = "main.journal", []
        for account, amount in OPENING.items():
            lines += ["2024/02/29 * Opening balance", f"    {account}    ${amount}", "    Equity:Opening", ""]
    if lines:
        (folder / "books" / book).write_text("\n".join(lines) + "\n")
    config = folder / "recon.toml"
    accounts = "".join(
        f'\n[[accounts]]\nid = "{name}"\ncurrency = "USD"\nledger_account = "{ledger}"\n'
        f'\n[[sources]]\naccount = "{name}"\nformat = "ofx"\npaths = ["bank/{name}/*.ofx"]\n'
        f'\n[[ledgers]]\naccount = "{name}"\nformat = "{fmt}"\npaths = ["books/{book}"]\nwriteback = true\n'
        for name, ledger in LEDGERS.items()
        if name in FED
    )
    accounts += f'\n[[accounts]]\nid = "car-loan"\ncurrency = "USD"\nledger_account = "{LOAN}"\n'  # no feed
    config.write_text(f'[store]\npath = "recon.duckdb"\n\n[output]\ndir = "out"\n{accounts}\n'
                      '[rules]\npaths = ["rules/*.yaml"]\n')  # fmt: skip
    return config


def _run(config: Path) -> str:
    result = recon("run", "--config", config)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _book_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "books").iterdir())}


def _held_notes(folder: Path) -> list[str]:
    """What the write-back log says of the bank rows it wrote no entry for."""
    con = duckdb.connect(str(folder / "recon.duckdb"), read_only=True)
    try:
        rows = con.execute("SELECT error FROM writeback_log WHERE action = 'add' AND status = 'skipped'").fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def _beancount_transactions(book: Path) -> list[object]:
    from beancount import loader
    from beancount.core import data

    entries, errors, _ = loader.load_file(str(book))
    assert errors == []
    return [e for e in entries if isinstance(e, data.Transaction) and e.narration != "Opening balance"]


def test_beancount_books_a_split_as_one_entry_and_each_transfer_once(tmp_path: Path) -> None:
    bean_check = tool("bean-check")
    if bean_check is None:
        pytest.skip("bean-check is not installed (pip install 'beancount>=3')")
    config = _setup(tmp_path, "beancount")
    book = tmp_path / "books" / "main.beancount"

    _run(config)
    assert subprocess.run([bean_check, str(book)], capture_output=True).returncode == 0
    transactions = _beancount_transactions(book)
    by_accounts = {frozenset(p.account for p in t.postings): t for t in transactions}  # type: ignore[attr-defined]
    assert len(by_accounts) == len(transactions) == 3  # the split, the transfer (once), the loan payment

    split = by_accounts[frozenset({CHECKING, "Expenses:Groceries", "Expenses:Household"})]
    amounts = {p.account: p.units.number for p in split.postings}  # type: ignore[attr-defined]
    assert amounts == {CHECKING: Decimal("-123.45"), "Expenses:Groceries": Decimal("74.07"),
                       "Expenses:Household": Decimal("49.38")}  # fmt: skip
    assert sum(amounts.values()) == 0

    transfer = by_accounts[frozenset({CHECKING, SAVINGS})]
    assert {p.account: p.units.number for p in transfer.postings} == {  # type: ignore[attr-defined]
        CHECKING: Decimal("-500.00"), SAVINGS: Decimal("500.00")}  # fmt: skip
    assert by_accounts[frozenset({CHECKING, "Liabilities:Car-Loan"})]
    assert _held_notes(tmp_path) == [f"booked from the other side: checking ({CHECKING})"]
    dry_run = recon("writeback", "--dry-run", "--config", config)
    assert f"booked from the other side: checking ({CHECKING})" in dry_run.stdout

    _run(config)  # the book now holds the transfer for savings too: its bank row matches it
    assert subprocess.run([bean_check, str(book)], capture_output=True).returncode == 0
    assert len(_beancount_transactions(book)) == 3
    settled = _book_files(tmp_path)
    _run(config)
    assert _book_files(tmp_path) == settled


def _hledger(*args: str) -> subprocess.CompletedProcess[str]:
    command = tool("hledger")
    if command is None:
        pytest.skip("hledger is not installed (Debian: apt-get install hledger)")
    return subprocess.run([command, *args], capture_output=True, text=True, timeout=60)


def _journal_entries(book: Path) -> list[dict[str, object]]:
    printed = _hledger("-f", str(book), "print", "-O", "json")
    assert printed.returncode == 0, printed.stderr
    skip = {"Opening balance", "recon: bank statement closing balance"}
    return [t for t in json.loads(printed.stdout) if t["tdescription"] not in skip]


def _postings(entry: dict[str, object]) -> dict[str, Decimal]:
    out = {}
    for p in entry["tpostings"]:  # type: ignore[attr-defined]
        quantity = p["pamount"][0]["aquantity"]
        out[p["paccount"]] = Decimal(quantity["decimalMantissa"]).scaleb(-quantity["decimalPlaces"])
    return out


def test_hledger_books_a_split_as_one_entry_and_each_transfer_once(tmp_path: Path) -> None:
    config = _setup(tmp_path, "hledger")
    book = tmp_path / "books" / "main.journal"

    _run(config)
    assert _hledger("-f", str(book), "check").returncode == 0
    entries = [_postings(e) for e in _journal_entries(book)]
    assert len(entries) == 3
    assert {CHECKING: Decimal("-123.45"), "Expenses:Groceries": Decimal("74.07"),
            "Expenses:Household": Decimal("49.38")} in entries  # fmt: skip
    assert {CHECKING: Decimal("-500.00"), SAVINGS: Decimal("500.00")} in entries
    assert {CHECKING: Decimal("-250.00"), "Liabilities:Car Loan": Decimal("250.00")} in entries
    assert all(sum(e.values()) == 0 for e in entries)
    assert _held_notes(tmp_path) == [f"booked from the other side: checking ({CHECKING})"]

    _run(config)
    assert _hledger("-f", str(book), "check").returncode == 0
    assert len(_journal_entries(book)) == 3
    savings = _hledger("-f", str(book), "bal", SAVINGS, "-N", "--layout", "bare")
    assert "1500" in savings.stdout
    settled = _book_files(tmp_path)
    _run(config)
    assert _book_files(tmp_path) == settled


def _gnucash_book(path: Path) -> None:
    """Both bank accounts in one GnuCash book, with their opening balances (made with piecash)."""
    from tests.gnucash_books import piecash_module

    piecash = piecash_module()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = piecash.create_book(str(path), currency="USD", keep_foreign_keys=False, overwrite=True)
        usd = book.default_currency
        assets = piecash.Account(name="Assets", type="ASSET", commodity=usd, parent=book.root_account, placeholder=1)
        bank = piecash.Account(name="Bank", type="ASSET", commodity=usd, parent=assets)
        equity = piecash.Account(name="Equity", type="EQUITY", commodity=usd, parent=book.root_account)
        opening = piecash.Account(name="Opening Balances", type="EQUITY", commodity=usd, parent=equity)
        for ledger, amount in OPENING.items():
            account = piecash.Account(name=ledger.rsplit(":", 1)[1], type="BANK", commodity=usd, parent=bank)
            piecash.Transaction(
                currency=usd, description="Opening balance", post_date=date(2024, 2, 29),
                splits=[piecash.Split(account=account, value=amount, reconcile_state="y"),
                        piecash.Split(account=opening, value=-amount)],
            )  # fmt: skip
        book.save()
        book.close()


def test_gnucash_books_a_split_as_one_transaction_and_each_transfer_once(tmp_path: Path) -> None:
    from tests.gnucash_books import read_with_gnucash, system_gnucash_available

    if not system_gnucash_available():
        pytest.skip("GnuCash's Python bindings are not installed for /usr/bin/python3 (apt install python3-gnucash)")
    config = _setup(tmp_path, "gnucash")
    book = tmp_path / "books" / "main.gnucash"
    _gnucash_book(book)

    _run(config)
    checking = read_with_gnucash(book, CHECKING)
    others = sorted(sorted(s["other"]) for s in checking["splits"] if s["description"] != "Opening balance")
    assert others == sorted([["Expenses:Groceries", "Expenses:Household"], [LOAN], [SAVINGS]])
    assert Decimal(read_with_gnucash(book, "Expenses:Groceries")["balance"]) == Decimal("74.07")
    assert Decimal(read_with_gnucash(book, "Expenses:Household")["balance"]) == Decimal("49.38")
    savings = read_with_gnucash(book, SAVINGS)
    assert Decimal(savings["balance"]) == Decimal("1500.00")
    assert _held_notes(tmp_path) == [f"booked from the other side: checking ({CHECKING})"]

    _run(config)  # savings' bank row now matches the transfer's split: cleared, nothing added
    savings = read_with_gnucash(book, SAVINGS)
    [transfer] = [s for s in savings["splits"] if s["description"] != "Opening balance"]
    assert transfer["other"] == [CHECKING]
    assert Decimal(read_with_gnucash(book, CHECKING)["balance"]) == Decimal("1126.55")
    settled = book.read_bytes()
    _run(config)
    assert book.read_bytes() == settled


# --- Xero: a split is one bank transaction with a line item per part --------------------------------------


def _split_entries(store: Store, config: Config) -> list[NewEntry]:
    entries = {e.bank_id: e for e in import_bank(store, config)}
    fee, interest = entries["FIT90"], entries["FIT91"]  # -12.00 and 0.37
    return [
        replace(fee, counter_postings=(("Expenses:Bank:Fees", 1000), ("Expenses:Bank Fees", 200))),
        replace(
            interest, counter_postings=(("Income:Interest", -30), ("Expenses:Bank:Fees", 7), ("Income:Interest", -14))
        ),
    ]


def test_xero_gets_one_line_item_per_part_of_a_split(tmp_path: Path, token: str) -> None:
    with XeroServer() as xero:
        config = xero_setup(tmp_path, base_url=xero.url)
        with open_store(config.store_path) as store:
            summary = write_back(store, config, run_id="r1", new_entries=_split_entries(store, config))
        assert summary.as_dict()["written"] == 2
        (put,) = xero.writes()
        sent = {t["Reference"]: t for t in put.json()["BankTransactions"]}
    fee, interest = sent["FIT90"], sent["FIT91"]
    assert fee["Type"] == "SPEND"
    assert [(i["AccountCode"], Decimal(str(i["UnitAmount"]))) for i in fee["LineItems"]] == [
        ("404", Decimal("10.00")), ("404", Decimal("2.00"))]  # fmt: skip
    assert interest["Type"] == "RECEIVE"
    lines = [(i["AccountCode"], Decimal(str(i["UnitAmount"]))) for i in interest["LineItems"]]
    assert lines == [("270", Decimal("0.30")), ("404", Decimal("-0.07")), ("270", Decimal("0.14"))]
    assert sum(amount for _, amount in lines) == Decimal("0.37")


def test_xero_is_not_sent_a_transfer_between_two_banks_as_spend_money(tmp_path: Path, token: str) -> None:
    with XeroServer() as xero:
        config = xero_setup(tmp_path, base_url=xero.url)
        with open_store(config.store_path) as store:
            fee = {e.bank_id: e for e in import_bank(store, config)}["FIT90"]
            transfer = replace(fee, counter_account="Assets:Bank:Savings", transfer_to="savings")
            summary = write_back(store, config, run_id="r1", new_entries=[transfer])
        assert xero.writes() == []
    (item,) = summary.targets[0].items
    assert (item.action, item.status) == ("add", "skipped")
    assert str(item.note) == "a transfer to account 'savings', which is not in the config"


@pytest.mark.slow
def test_a_split_bank_transaction_validates_against_xeros_spec(prism: str, tmp_path: Path, token: str) -> None:
    with XeroServer(upstream=prism) as proxy:
        config = xero_setup(tmp_path, base_url=proxy.url)
        with open_store(config.store_path) as store:
            write_back(store, config, run_id="r1", new_entries=_split_entries(store, config))
        puts = [r for r in proxy.requests if r.method == "PUT"]
    assert puts
    assert [len(t["LineItems"]) for t in puts[0].json()["BankTransactions"]] == [2, 3]
    for request in proxy.requests:
        assert request.violations is None, (request.method, request.path, request.violations)
