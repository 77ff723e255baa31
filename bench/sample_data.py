"""Seeded generator of the demo in `sample_data/`: a business checking account over three months.

    python -m bench.sample_data sample_data/

The story: Northwind Design LLC banks at one checking account. Customers pay
invoices by ACH, the card processor pays out net of fees, the firm writes checks,
pays rent, payroll and SaaS subscriptions, and the bank charges fees. The books
(a generic GL CSV) hold what the bookkeeper entered; the bank (two OFX downloads
that overlap by two weeks) holds what cleared. Some rows are on one side only:
bank fees and interest the books lack, checks not yet cleared, a deposit in
transit, a batched deposit of two receipts, and one receipt keyed with a typo.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from bench.ofx_writer import OfxTxn, ofx_statement

START = date(2026, 7, 1)
END = date(2026, 9, 30)
CUSTOMERS = ["Acme Corp", "Globex Inc", "Initech LLC", "Umbrella Health", "Stark Industries", "Wayne Foods",
             "Hooli", "Vandelay Imports"]  # fmt: skip
SUBSCRIPTIONS = [("ADOBE *CREATIVE CLD", "Adobe Creative Cloud", Decimal("-54.99"), 3),
                 ("GOOGLE *GSUITE_NORTHW", "Google Workspace", Decimal("-72.00"), 1),
                 ("SLACK T0123ABC", "Slack", Decimal("-87.50"), 12),
                 ("GITHUB INC", "GitHub", Decimal("-21.00"), 20)]  # fmt: skip


@dataclass
class Pair:
    """One real-world transaction as the bank and the books see it (either may be missing)."""

    bank_date: date | None
    book_date: date | None
    amount: Decimal
    bank_name: str
    bank_memo: str
    book_description: str
    counterparty: str = ""
    reference: str = ""
    checknum: str = ""
    gl_account: str = "Assets:Bank:Checking"


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return (Decimal(rng.randint(low * 100, high * 100)) / 100).quantize(Decimal("0.01"))


def _story(rng: random.Random) -> list[Pair]:
    pairs: list[Pair] = []
    invoice = 10021
    day = START
    while day <= END:
        if day.weekday() < 5 and rng.random() < 0.35:  # customer receipts by ACH
            customer = rng.choice(CUSTOMERS)
            invoice += 1
            amount = _money(rng, 400, 9000)
            lag = rng.choice([0, 1, 1, 2, 3])
            pairs.append(Pair(day + timedelta(lag), day, amount, f"ACH CREDIT {customer.upper()}",
                              f"ORIG CO NAME:{customer.upper()} INV-{invoice}",
                              f"Payment received - {customer}", customer, f"INV-{invoice}"))  # fmt: skip
        if day.weekday() == 0:  # weekly card processor payout, net of fees
            amount = _money(rng, 800, 4000)
            pairs.append(Pair(day + timedelta(1), day, amount, "STRIPE TRANSFER",
                              f"ST-{rng.randint(100000, 999999)}", "Stripe payout", "Stripe"))  # fmt: skip
        if day.day == 1:
            pairs.append(Pair(day, day, Decimal("-4200.00"), "ACH DEBIT OAKWOOD PROPERTIES", "RENT",
                              "Office rent", "Oakwood Properties"))  # fmt: skip
        for bank_name, vendor, amount, dom in SUBSCRIPTIONS:
            if day.day == dom:
                pairs.append(Pair(day + timedelta(rng.choice([0, 1])), day, amount,
                                  f"POS DEBIT {bank_name}", "", f"{vendor} subscription", vendor))  # fmt: skip
        if day.weekday() == 4 and (day - START).days % 14 == 2:  # biweekly payroll, on Fridays
            amount = -_money(rng, 18000, 21000)
            pairs.append(Pair(day, day, amount, "GUSTO PAYROLL", "NET PAY", "Payroll - net pay", "Gusto"))
        day += timedelta(1)

    for n in range(6):  # checks: cleared 2-9 days after they were written; the last ones are outstanding
        written = START + timedelta(days=12 + n * 14)
        cleared = written + timedelta(days=rng.randint(2, 9))
        number = str(1045 + n)
        vendor = rng.choice(["Office Supply Co", "City Water", "Lopez Cleaning", "Metro Courier"])
        amount = -_money(rng, 90, 1500)
        pairs.append(Pair(cleared if cleared <= END - timedelta(5) else None, written, amount, f"CHECK {number}",
                          "", f"Check {number} - {vendor}", vendor, number, number))  # fmt: skip

    for month in (7, 8, 9):  # bank-only: fees and interest the books do not have yet
        month_end = date(2026, month + 1, 1) - timedelta(1) if month < 12 else date(2026, 12, 31)
        pairs.append(Pair(month_end, None, Decimal("-15.00"), "MONTHLY SERVICE FEE", "", ""))
        pairs.append(Pair(month_end, None, _money(rng, 1, 9), "INTEREST PAYMENT", "", ""))
    pairs.append(Pair(date(2026, 8, 14), None, Decimal("-35.00"), "WIRE TRANSFER FEE", "OUTGOING WIRE", ""))

    # two identical coffees on one day, both sides
    for _ in range(2):
        pairs.append(Pair(date(2026, 8, 5), date(2026, 8, 5), Decimal("-4.75"), "POS DEBIT BLUE BOTTLE COFFEE",
                          "", "Client meeting coffee", "Blue Bottle"))  # fmt: skip
    # deposit in transit: in the books on the last day, not yet at the bank
    pairs.append(Pair(None, END, Decimal("2450.00"), "", "", "Payment received - Globex Inc", "Globex Inc",
                      "INV-20001"))  # fmt: skip
    # batched deposit: two checks from customers deposited together (one bank row, two book rows)
    pairs.append(Pair(date(2026, 8, 20), None, Decimal("1730.00"), "DEPOSIT", "BRANCH 042 MOBILE", ""))
    pairs.append(Pair(None, date(2026, 8, 19), Decimal("1200.00"), "", "", "Check received - Hooli", "Hooli",
                      "INV-19001"))  # fmt: skip
    pairs.append(Pair(None, date(2026, 8, 19), Decimal("530.00"), "", "", "Check received - Wayne Foods",
                      "Wayne Foods", "INV-19002"))  # fmt: skip
    # keyed with a typo in the books: 1,845.00 entered as 1,854.00
    pairs.append(Pair(date(2026, 9, 9), None, Decimal("1845.00"), "ACH CREDIT INITECH LLC",
                      "ORIG CO NAME:INITECH LLC INV-19050", ""))  # fmt: skip
    pairs.append(Pair(None, date(2026, 9, 8), Decimal("1854.00"), "", "", "Payment received - Initech LLC",
                      "Initech LLC", "INV-19050"))  # fmt: skip
    return pairs


def generate(out_dir: Path, *, seed: int = 20260701) -> None:
    """Write bank/*.ofx, ledger/gl.csv, rules/*.yaml and recon.toml into `out_dir`."""
    rng = random.Random(seed)
    pairs = _story(rng)
    bank = sorted((p for p in pairs if p.bank_date), key=lambda p: (p.bank_date, p.bank_name))
    fitids = {id(p): f"2026{i:06d}" for i, p in enumerate(bank, start=1)}
    opening = Decimal("48210.37")

    (out_dir / "bank").mkdir(parents=True, exist_ok=True)
    windows = [(START, date(2026, 8, 31), "2026-07_2026-08"), (date(2026, 8, 15), END, "2026-08_2026-09")]
    for first, last, label in windows:
        rows = [p for p in bank if p.bank_date and first <= p.bank_date <= last]
        balance = opening + sum((p.amount for p in bank if p.bank_date and p.bank_date <= last), Decimal(0))
        txns = [
            OfxTxn(fitids[id(p)], p.bank_date, p.amount, p.bank_name, p.bank_memo,  # type: ignore[arg-type]
                   "CHECK" if p.checknum else "", p.checknum)
            for p in rows
        ]  # fmt: skip
        text = ofx_statement(txns, account_id="000123456789", currency="USD", start=first, end=last,
                             balance=balance)  # fmt: skip
        (out_dir / "bank" / f"northwind-checking_{label}.ofx").write_text(text, encoding="ascii", newline="")

    (out_dir / "ledger").mkdir(parents=True, exist_ok=True)
    books = sorted((p for p in pairs if p.book_date), key=lambda p: (p.book_date, p.book_description))
    with (out_dir / "ledger" / "gl.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "date", "amount", "description", "counterparty", "reference", "account"])
        for i, p in enumerate(books, start=1):
            writer.writerow([f"JE-{i:05d}", p.book_date, p.amount, p.book_description, p.counterparty,
                             p.reference, p.gl_account])  # fmt: skip
    (out_dir / "rules").mkdir(parents=True, exist_ok=True)
    for rule_file in sorted(SHIPPED_RULES.glob("*.yaml")):  # the demo uses the shipped example rules as they are
        (out_dir / "rules" / rule_file.name).write_bytes(rule_file.read_bytes())
    (out_dir / "recon.toml").write_text(CONFIG, encoding="utf-8")


SHIPPED_RULES = Path(__file__).resolve().parent.parent / "rules"

CONFIG = """\
# recon demo: Northwind Design LLC, business checking, July to September 2026.
# Made by `python -m bench.sample_data sample_data/`; paths are relative to this file.

[store]
path = "recon.duckdb"

[output]
dir = "out"

[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "Assets:Bank:Checking"
# the books agreed with the bank at the end of June; entries from July on are in ledger/gl.csv
book_balance = { date = 2026-06-30, amount = "48210.37" }

[[sources]]
account = "checking"
format = "ofx"
paths = ["bank/*.ofx"]

[[ledgers]]
account = "checking"
format = "csv"
paths = ["ledger/gl.csv"]

[matching]
auto_threshold = 0.90
suggest_threshold = 0.60

[rules]
paths = ["rules/*.yaml"]
"""


if __name__ == "__main__":
    generate(Path(sys.argv[1] if len(sys.argv) > 1 else "sample_data"))
