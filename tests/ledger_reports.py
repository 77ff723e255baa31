"""Seeded QuickBooks Online and Xero report CSVs, written from the write-back tests' story.

The story (`tests.writeback_books.story`) plus a few rows in the thousands (payroll,
rent, equipment) and two identical coffees on one day. Each report has the bank
account's section, a savings section and a section per counter account (every
entry shows there too, the other way round), as the systems export them: preamble,
header, sections with opening and total rows, footer. The bank side of the same
story is `tests.writeback_books.write_bank`.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from tests.writeback_books import OPENING, StoryTxn, story

QBO_HEADER = ["", "Date", "Transaction Type", "Num", "Name", "Memo/Description", "Split", "Amount", "Balance"]
XERO_HEADER = ["Date", "Source", "Description", "Reference", "Debit", "Credit", "Running Balance", "Gross", "Tax"]
SAVINGS = [(date(2024, 3, 9), Decimal("-500.00")), (date(2024, 3, 23), Decimal("1200.00"))]


def ledger_story(seed: int = 11) -> list[StoryTxn]:
    """The write-back story, with amounts that need thousands separators and a repeated row."""
    extra = [
        StoryTxn("FIT2001", date(2024, 3, 4), Decimal("2345.67"), "Acme Payroll", "Payroll Income", "*"),
        StoryTxn("FIT2002", date(2024, 3, 5), Decimal("-1250.00"), "Oak Street Rentals", "Rent", "*"),
        StoryTxn("FIT2003", date(2024, 3, 18), Decimal("-12480.50"), "Office Depot", "Equipment", "*"),
        StoryTxn("FIT2004", date(2024, 3, 20), Decimal("-4.50"), "Corner Cafe", "Meals", "*"),
        StoryTxn("FIT2005", date(2024, 3, 20), Decimal("-4.50"), "Corner Cafe", "Meals", "*"),
    ]
    plain = [StoryTxn(t.fitid, t.day, t.amount, t.payee, t.counter.split(":")[-1], t.flag) for t in story(seed)]
    return sorted(plain + extra, key=lambda t: (t.day, t.fitid))


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def reference(txn: StoryTxn) -> str:
    return f"R{txn.fitid.removeprefix('FIT')}"


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def quickbooks_report(
    txns: list[StoryTxn], *, bank: str = "1000 Checking", title: str = "General Ledger", company: str = "Sample Co"
) -> str:
    """A QBO General Ledger (or, by title, Transaction Detail by Account) CSV export."""
    blank = [""] * (len(QBO_HEADER) - 1)
    rows = [[title], [company], ["March 1-31, 2024"], [], QBO_HEADER]

    def section(name: str, opening: Decimal, lines: list[tuple[date, str, str, str, str, str, Decimal]]) -> None:
        rows.append([name, *blank])
        rows.append(["", "Beginning Balance", "", "", "", "", "", "", money(opening)])
        balance = opening
        for day, kind, num, who, memo, split, amount in lines:
            balance += amount
            rows.append(["", f"{day:%m/%d/%Y}", kind, num, who, memo, split, money(amount), money(balance)])
        rows.append([f"Total for {name}", "", "", "", "", "", "", money(balance - opening), ""])

    bank_lines = [
        (t.day, "Deposit" if t.amount > 0 else "Expense", reference(t), t.payee, "March", t.counter, t.amount)
        for t in txns
    ]
    bank_lines += [(d, "Transfer", "", "", "To/from savings", "1010 Savings", -a) for d, a in SAVINGS]
    section(bank, OPENING, sorted(bank_lines, key=lambda line: line[0]))
    section("1010 Savings", Decimal("5000.00"), [(d, "Transfer", "", "", "", bank, a) for d, a in SAVINGS])
    for counter in sorted({t.counter for t in txns}):
        lines = [
            (t.day, "Expense", reference(t), t.payee, "March", bank, -t.amount) for t in txns if t.counter == counter
        ]
        section(counter, Decimal(0), lines)
    rows += [
        ["TOTAL", "", "", "", "", "", "", "0.00", ""],
        [],
        ["Accrual Basis Monday, April 1, 2024 10:22 AM GMT-07:00"],
    ]
    return _csv(rows)


def xero_report(txns: list[StoryTxn], *, bank: str = "Business Bank Account", iso_dates: bool = False) -> str:
    """A Xero Account Transactions CSV export."""
    rows = [["Account Transactions"], ["Sample Co"], ["For the period 1 March 2024 to 31 March 2024"], [], XERO_HEADER]

    def day_text(day: date) -> str:
        return day.isoformat() if iso_dates else f"{day:%d %b %Y}"

    def section(name: str, opening: Decimal, lines: list[tuple[date, str, str, str, Decimal]]) -> None:
        rows.append([name, "", "", "", "", "", "", "", ""])
        rows.append(["Opening Balance", "", "", "", "", "", money(opening), "", ""])
        balance, debits, credits = opening, Decimal(0), Decimal(0)
        for day, source, who, ref, amount in lines:  # amount: debit positive
            balance += amount
            debit, credit = (money(amount), "") if amount > 0 else ("", money(-amount))
            debits, credits = debits + max(amount, Decimal(0)), credits + max(-amount, Decimal(0))
            rows.append([day_text(day), source, who, ref, debit, credit, money(balance), money(abs(amount)), "0.00"])
        rows.append([f"Total {name}", "", "", "", money(debits), money(credits), "", "", ""])
        rows.append(["Closing Balance", "", "", "", "", "", money(balance), "", ""])

    bank_lines = [
        (t.day, "Receive Money" if t.amount > 0 else "Spend Money", t.payee, reference(t), t.amount) for t in txns
    ]
    bank_lines += [(d, "Transfer", "Savings transfer", "", -a) for d, a in SAVINGS]
    section(bank, OPENING, sorted(bank_lines, key=lambda line: line[0]))
    section("Savings Account", Decimal("5000.00"), [(d, "Transfer", "Savings transfer", "", a) for d, a in SAVINGS])
    for counter in sorted({t.counter for t in txns}):
        section(
            counter,
            Decimal(0),
            [(t.day, "Spend Money", t.payee, reference(t), -t.amount) for t in txns if t.counter == counter],
        )
    return _csv(rows)


def bank_rows_expected(txns: list[StoryTxn]) -> list[tuple[date, int]]:
    """(date, cents) of the bank section's entries, in file order: the story's and the savings transfers."""
    rows = [(t.day, int(t.amount * 100)) for t in txns] + [(d, int(-a * 100)) for d, a in SAVINGS]
    return sorted(rows, key=lambda r: r[0])
