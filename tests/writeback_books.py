"""A seeded reconciliation story for the write-back tests: a bank OFX and the same month in a book.

The book holds every bank row but the bank-only ones (a fee, interest), plus an
opening balance the bank does not list; some entries are pending (`!`), some
unmarked, some already cleared. Written as a beancount file or an hledger journal
by the same code, so both sinks are tested on the same story.
"""

from __future__ import annotations

import difflib
import random
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bench.ofx_writer import OfxTxn, ofx_statement
from recon.config import Config, load_config
from recon.importing import import_file, jobs_from_config
from recon.matching import run_matching
from recon.runlog import sync_accounts
from recon.store import Store, open_store
from recon.writeback import NewEntry, new_entry_for_bank_row

ACCOUNT = "Assets:Bank:Checking"
OPENING = Decimal("1500.00")
START = date(2024, 3, 1)
END = date(2024, 3, 31)
PAYEES = [
    ("Green Grocer", "Expenses:Food"), ("City Power & Light", "Expenses:Utilities"),
    ("Acme Payroll", "Income:Salary"), ("Corner Cafe", "Expenses:Food"), ("Metro Transit", "Expenses:Transport"),
    ("Bookshop Ltd", "Expenses:Books"), ("Water Works", "Expenses:Utilities"), ("Gym Club", "Expenses:Health"),
]  # fmt: skip
BANK_ONLY = [("MONTHLY SERVICE FEE", Decimal("-12.00")), ("INTEREST PAID", Decimal("0.37"))]


@dataclass(frozen=True)
class StoryTxn:
    fitid: str
    day: date
    amount: Decimal
    payee: str
    counter: str
    flag: str  # '*', '!' or '' (unmarked)


def story(seed: int = 7, size: int = 14) -> list[StoryTxn]:
    rng = random.Random(seed)
    out = []
    for i in range(size):
        payee, counter = PAYEES[i % len(PAYEES)]
        cents = rng.randint(500, 25000)
        amount = Decimal(cents).scaleb(-2) * (1 if counter.startswith("Income") else -1)
        day = START + timedelta(days=1 + 2 * i)
        out.append(StoryTxn(f"FIT{1000 + i}", day, amount, payee, counter, rng.choice(["*", "!", ""])))
    return out


def closing_balance(txns: list[StoryTxn]) -> Decimal:
    return OPENING + sum((t.amount for t in txns), Decimal(0)) + sum((a for _, a in BANK_ONLY), Decimal(0))


def write_bank(folder: Path, txns: list[StoryTxn], *, balance: Decimal | None = None) -> Path:
    bank = [OfxTxn(t.fitid, t.day, t.amount, t.payee.upper()) for t in txns]
    bank += [OfxTxn(f"FIT9{i}", END - timedelta(days=1), a, n) for i, (n, a) in enumerate(BANK_ONLY)]
    text = ofx_statement(
        sorted(bank, key=lambda t: t.posted), account_id="123456", currency="USD", start=START, end=END,
        balance=closing_balance(txns) if balance is None else balance,
    )  # fmt: skip
    path = folder / "bank" / "march.ofx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def beancount_book(txns: list[StoryTxn]) -> str:
    accounts = sorted({ACCOUNT, "Equity:Opening", *(t.counter for t in txns)})
    lines = [";; generated test book", 'option "operating_currency" "USD"', ""]
    lines += [f"2024-01-01 open {a}" for a in accounts]
    lines += ["", '2024-02-29 * "Opening balance"', f"  {ACCOUNT}  {OPENING} USD", "  Equity:Opening", ""]
    for t in txns:
        flag = t.flag or "*"
        lines += [
            f'{t.day.isoformat()} {flag} "{t.payee}" "March"',
            f"  {ACCOUNT}  {t.amount} USD",
            f"  {t.counter}",
            "",
        ]
    return "\n".join(lines)


def journal_book(txns: list[StoryTxn]) -> str:
    lines = ["; generated test journal", "", "2024/02/29 * Opening balance", f"    {ACCOUNT}    ${OPENING}"]
    lines += ["    Equity:Opening", ""]
    for t in txns:
        status = f" {t.flag}" if t.flag else ""
        sign = "-" if t.amount < 0 else ""
        lines += [
            f"{t.day:%Y/%m/%d}{status} {t.payee}",
            f"    {ACCOUNT}    {sign}${abs(t.amount):,}",
            f"    {t.counter}",
            "",
        ]
    return "\n".join(lines)


def make_setup(folder: Path, *, fmt: str, txns: list[StoryTxn], balance: Decimal | None = None) -> Config:
    """Bank file, book and recon.toml in `folder`; returns the loaded config."""
    write_bank(folder, txns, balance=balance)
    name = "main.beancount" if fmt == "beancount" else "main.journal"
    (folder / "books").mkdir(exist_ok=True)
    book = beancount_book(txns) if fmt == "beancount" else journal_book(txns)
    (folder / "books" / name).write_text(book)
    return write_config(folder, fmt=fmt, book=f"books/{name}")


def write_config(
    folder: Path,
    *,
    fmt: str,
    book: str,
    ledger_account: str = ACCOUNT,
    writeback: bool = True,
    account_extra: str = "",
    extra: str = "",
) -> Config:
    """recon.toml in `folder`: one checking account (plus `account_extra` lines), its bank OFX files and one
    book, then `extra`; returns the loaded config."""
    (folder / "recon.toml").write_text(
        f"""[store]
path = "recon.duckdb"

[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "{ledger_account}"
{account_extra}

[[sources]]
account = "checking"
format = "ofx"
paths = ["bank/*.ofx"]

[[ledgers]]
account = "checking"
format = "{fmt}"
paths = ["{book}"]
writeback = {"true" if writeback else "false"}
{extra}"""
    )
    return load_config(folder / "recon.toml")


def import_and_match(store: Store, config: Config) -> None:
    sync_accounts(store, config)
    jobs, _ = jobs_from_config(config)
    for job in jobs:
        report = import_file(store, job, run_id="test")
        assert not report.problems, report.problems
    run_matching(store, settings=config.matching, run_id="test")


def bank_only_entries(store: Store) -> list[NewEntry]:
    """New entries for the bank rows nobody matched (the fee and the interest), as the rules would give them."""
    rows = store.con.execute(
        """SELECT txn_id, amount_minor FROM bank_transactions WHERE txn_id NOT IN (
             SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
             WHERE m.status IN ('auto', 'confirmed')) ORDER BY posted_date, txn_id"""
    ).fetchall()
    return [
        new_entry_for_bank_row(store, t, counter_account="Expenses:Bank:Fees" if a < 0 else "Income:Interest")
        for t, a in rows
    ]


def open_config_store(config: Config) -> Store:
    return open_store(config.store_path)


def tool(name: str) -> str | None:
    """Path of a command-line tool: the venv's bin folder first (bean-check), then PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60)


def only_marks_added(before: str, after: str) -> bool:
    """Whether `after` is `before` with only cleared marks, bank-id lines and an include added, in place."""

    def unmarked(line: str) -> str:
        return re.sub(r"^(\S+) [*!] ", r"\1 ", line + " ").rstrip()

    old, new = before.splitlines(), after.splitlines()
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "delete":
            return False
        if op == "replace" and (
            i2 - i1 != j2 - j1 or any(unmarked(a) != unmarked(b) for a, b in zip(old[i1:i2], new[j1:j2], strict=True))
        ):
            return False
        if op == "insert" and not all(not x.strip() or "bank-id" in x or x.startswith("include") for x in new[j1:j2]):
            return False
    return True
