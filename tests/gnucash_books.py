"""The write-back story of `tests.writeback_books` as a GnuCash SQLite book, built with piecash.

The same seeded month: the book holds every bank row but the bank-only ones (a
fee, interest), plus an opening balance the bank does not list. Beancount's `*`
becomes GnuCash's cleared ('c'); pending (`!`) and unmarked entries are new ('n').
Each story transaction gets a check-number-like `num` ("101"...), which the
importer gives as the reference.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from recon.config import Config
from tests.writeback_books import ACCOUNT, OPENING, StoryTxn, write_bank, write_config

SYSTEM_PYTHON = "/usr/bin/python3"
"""Debian's Python 3.11, which has GnuCash's own bindings (python3-gnucash)."""


def piecash_module() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import piecash
    return piecash


def write_gnucash_book(path: Path, txns: list[StoryTxn], *, account: str = ACCOUNT) -> Path:
    """A new GnuCash SQLite book at `path` with the story's transactions in `account`."""
    piecash = piecash_module()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = piecash.create_book(str(path), currency="USD", keep_foreign_keys=False, overwrite=True)
        usd = book.default_currency
        accounts: dict[str, Any] = {}

        def get(full_name: str) -> Any:
            if full_name not in accounts:
                parent_name, _, name = full_name.rpartition(":")
                parent = get(parent_name) if parent_name else book.root_account
                kind = {"Assets": "ASSET", "Income": "INCOME", "Expenses": "EXPENSE", "Equity": "EQUITY"}
                top = full_name.split(":")[0]
                account_type = "BANK" if full_name == account else kind.get(top, "ASSET")
                accounts[full_name] = piecash.Account(
                    name=name, type=account_type, commodity=usd, parent=parent, placeholder=not parent_name
                )
            return accounts[full_name]

        bank = get(account)
        piecash.Transaction(
            currency=usd, description="Opening balance", post_date=date(2024, 2, 29),
            splits=[piecash.Split(account=bank, value=OPENING, reconcile_state="y"),
                    piecash.Split(account=get("Equity:Opening Balances"), value=-OPENING)],
        )  # fmt: skip
        for i, t in enumerate(txns):
            state = "c" if t.flag == "*" else "n"
            piecash.Transaction(
                currency=usd, description=t.payee, post_date=t.day, num=str(101 + i),
                splits=[piecash.Split(account=bank, value=t.amount, reconcile_state=state, memo="March"),
                        piecash.Split(account=get(t.counter), value=-t.amount)],
            )  # fmt: skip
        book.save()
        book.close()
    return path


def make_gnucash_setup(
    folder: Path, *, txns: list[StoryTxn], balance: Decimal | None = None, by_gnucash: bool = False
) -> Config:
    """Bank OFX, GnuCash book (books/main.gnucash) and recon.toml in `folder`; returns the loaded config.

    The book is made with piecash, or by GnuCash itself with `by_gnucash`.
    """
    write_bank(folder, txns, balance=balance)
    make_book = create_book_with_gnucash if by_gnucash else write_gnucash_book
    make_book(folder / "books" / "main.gnucash", txns)
    return write_config(folder, fmt="gnucash", book="books/main.gnucash")


def hold_gnucash_lock(book: Path, *, host: str = "desk-7", pid: int = 4242) -> None:
    """Put a row in `gnclock`, as GnuCash does while it has the book open."""
    import sqlite3

    con = sqlite3.connect(book)
    with con:
        con.execute("INSERT INTO gnclock (Hostname, PID) VALUES (?, ?)", (host, pid))
    con.close()


GNUCASH_READER = r"""
import json, sys
from decimal import Decimal
from gnucash import ACCT_TYPE_ROOT, Session, SessionOpenMode

def dec(n):
    return str(Decimal(n.num()) / Decimal(n.denom()))

def full_name(account):
    names = []
    while account is not None and account.GetType() != ACCT_TYPE_ROOT:
        names.append(account.GetName())
        account = account.get_parent()
    return ":".join(reversed(names))

session = Session("sqlite3://" + sys.argv[1], SessionOpenMode.SESSION_READ_ONLY)
try:
    account = session.book.get_root_account()
    for name in sys.argv[2].split(":"):  # GnuCash's separator is a preference ('.' in the bindings): walk names
        account = next((c for c in account.get_children() if c.GetName() == name), None) if account else None
    if account is None:
        print(json.dumps({"error": "no account " + sys.argv[2]}))
        sys.exit(3)
    splits = []
    for split in account.GetSplitList():
        txn = split.GetParent()
        splits.append({
            "date": txn.GetDate().strftime("%Y-%m-%d"), "description": txn.GetDescription(),
            "amount": dec(split.GetAmount()), "state": split.GetReconcile(), "memo": split.GetMemo(),
            "reconciled_on": split.GetDateReconciled().strftime("%Y-%m-%d") if split.GetReconcile() == "y" else None,
            "other": [full_name(s.GetAccount()) for s in txn.GetSplitList()
                      if full_name(s.GetAccount()) != sys.argv[2]],
        })
    print(json.dumps({"balance": dec(account.GetBalance()), "cleared": dec(account.GetClearedBalance()),
                      "reconciled": dec(account.GetReconciledBalance()), "splits": splits}))
finally:
    session.end()
"""


def system_gnucash_available() -> bool:
    """Whether the system Python has GnuCash's bindings (Debian: python3-gnucash)."""
    try:
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import gnucash"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def read_with_gnucash(book: Path, account: str = ACCOUNT) -> dict[str, Any]:
    """The account as the real GnuCash engine reads it: balances and each split's state, memo and date."""
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", GNUCASH_READER, str(book), account], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def sql_dump(book: Path) -> list[str]:
    """The book's content as SQL, line by line (what GnuCash would read back)."""
    import sqlite3

    con = sqlite3.connect(f"{book.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return list(con.iterdump())
    finally:
        con.close()


GNUCASH_BOOKER = r"""
import sys
from datetime import date
from gnucash import GncNumeric, Session, SessionOpenMode, Split, Transaction

book_path, description, day, cents, bank_name, counter_name = sys.argv[1:]
session = Session("sqlite3://" + book_path, SessionOpenMode.SESSION_NORMAL_OPEN)
try:
    book = session.book
    usd = book.get_table().lookup("CURRENCY", "USD")

    def find(full_name):
        account = book.get_root_account()
        for name in full_name.split(":"):
            account = next(c for c in account.get_children() if c.GetName() == name)
        return account

    posted = date.fromisoformat(day)
    txn = Transaction(book)
    txn.BeginEdit()
    txn.SetCurrency(usd)
    txn.SetDescription(description)
    txn.SetDate(posted.day, posted.month, posted.year)
    for account, amount in ((find(bank_name), int(cents)), (find(counter_name), -int(cents))):
        split = Split(book)
        split.SetParent(txn)
        split.SetAccount(account)
        split.SetValue(GncNumeric(amount, 100))
        split.SetAmount(GncNumeric(amount, 100))
    txn.CommitEdit()
finally:
    session.end()
"""


def book_with_gnucash(book: Path, *, description: str, day: date, amount: Decimal, counter: str) -> None:
    """Book a transaction with the real GnuCash engine (as a user would in GnuCash), into the bank account."""
    cents = int(amount * 100)
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", GNUCASH_BOOKER, str(book), description, day.isoformat(), str(cents), ACCOUNT, counter],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


GNUCASH_BUILDER = r"""
import json, sys
from datetime import date
import gnucash
from gnucash import Account, GncNumeric, Session, SessionOpenMode, Split, Transaction

book_path, story = sys.argv[1], json.loads(sys.stdin.read())
Session("sqlite3://" + book_path, SessionOpenMode.SESSION_NEW_STORE).end()  # GnuCash 4 logs a harmless error here
session = Session("sqlite3://" + book_path, SessionOpenMode.SESSION_NORMAL_OPEN)
try:
    book = session.book
    usd = book.get_table().lookup("CURRENCY", "USD")
    types = {"Assets": gnucash.ACCT_TYPE_ASSET, "Income": gnucash.ACCT_TYPE_INCOME,
             "Expenses": gnucash.ACCT_TYPE_EXPENSE, "Equity": gnucash.ACCT_TYPE_EQUITY}
    made = {}

    def account(full_name):
        if full_name not in made:
            parent_name, _, name = full_name.rpartition(":")
            parent = account(parent_name) if parent_name else book.get_root_account()
            new = Account(book)
            new.BeginEdit()
            new.SetName(name)
            kind = gnucash.ACCT_TYPE_BANK if full_name == story["bank"] else types[full_name.split(":")[0]]
            new.SetType(kind)
            new.SetCommodity(usd)
            parent.append_child(new)
            new.CommitEdit()
            made[full_name] = new
        return made[full_name]

    for t in story["transactions"]:
        posted = date.fromisoformat(t["date"])
        txn = Transaction(book)
        txn.BeginEdit()
        txn.SetCurrency(usd)
        txn.SetDescription(t["description"])
        txn.SetNum(t["num"])
        txn.SetDate(posted.day, posted.month, posted.year)
        for name, cents, state, memo in ((story["bank"], t["cents"], t["state"], t["memo"]),
                                         (t["counter"], -t["cents"], "n", "")):
            split = Split(book)
            split.SetParent(txn)
            split.SetAccount(account(name))
            split.SetValue(GncNumeric(cents, 100))
            split.SetAmount(GncNumeric(cents, 100))
            split.SetReconcile(state)
            split.SetMemo(memo)
        txn.CommitEdit()
finally:
    session.end()
"""


def create_book_with_gnucash(path: Path, txns: list[StoryTxn]) -> Path:
    """The same book as `write_gnucash_book`, made by the real GnuCash engine instead of piecash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    transactions = [{"date": "2024-02-29", "description": "Opening balance", "num": "", "cents": int(OPENING * 100),
                     "state": "y", "memo": "", "counter": "Equity:Opening Balances"}]  # fmt: skip
    transactions += [
        {"date": t.day.isoformat(), "description": t.payee, "num": str(101 + i), "cents": int(t.amount * 100),
         "state": "c" if t.flag == "*" else "n", "memo": "March", "counter": t.counter}
        for i, t in enumerate(txns)
    ]  # fmt: skip
    done = subprocess.run(
        [SYSTEM_PYTHON, "-c", GNUCASH_BUILDER, str(path)],
        input=json.dumps({"bank": ACCOUNT, "transactions": transactions}), capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for log in path.parent.glob(f"{path.name}.*.log"):
        log.unlink()  # GnuCash's transaction logs beside the book
    return path
