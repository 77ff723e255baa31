"""Two bank accounts recon is fed (checking and savings) and a loan no bank feeds, with the rules that
move money between them: a split, a transfer checking -> savings (reported by both banks) and a loan
payment. Shared by the write-back tests of every book.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from bench.ofx_writer import OfxTxn, ofx_statement

CHECKING, SAVINGS, LOAN = "Assets:Bank:Checking", "Assets:Bank:Savings", "Liabilities:Car Loan"
LEDGERS = {"checking": CHECKING, "savings": SAVINGS, "car-loan": LOAN}
FED = {"checking", "savings"}

RULES = """
rules:
  - name: Warehouse club
    when:
      description: {contains: COSTCO}
    then:
      split:
        - {category: "Expenses:Groceries", percent: "60"}
        - {category: "Expenses:Household", remainder: true}
  - name: To savings
    when:
      description: {contains: TRANSFER TO SAVINGS}
    then:
      transfer_to: savings
  - name: From checking
    when:
      description: {contains: TRANSFER FROM CHECKING}
    then:
      transfer_to: checking
  - name: Car loan
    when:
      description: {contains: CAR LOAN}
    then:
      transfer_to: car-loan
"""

START, END = date(2024, 3, 1), date(2024, 3, 31)
CHECKING_ROWS = [
    OfxTxn("C1", date(2024, 3, 5), Decimal("-123.45"), "COSTCO WHOLESALE #123"),
    OfxTxn("C2", date(2024, 3, 10), Decimal("-500.00"), "ONLINE TRANSFER TO SAVINGS"),
    OfxTxn("C3", date(2024, 3, 15), Decimal("-250.00"), "CAR LOAN PAYMENT"),
]
SAVINGS_ROWS = [OfxTxn("S1", date(2024, 3, 11), Decimal("500.00"), "TRANSFER FROM CHECKING")]
OPENING = {CHECKING: Decimal("2000.00"), SAVINGS: Decimal("1000.00")}


def write_banks_and_rules(folder: Path) -> None:
    """Each fed account's March OFX in `bank/<id>/`, and the rules in `rules/spending.yaml`."""
    for name, rows, account_id in (("checking", CHECKING_ROWS, "111"), ("savings", SAVINGS_ROWS, "222")):
        balance = OPENING[LEDGERS[name]] + sum((r.amount for r in rows), Decimal(0))
        path = folder / "bank" / name / "march.ofx"
        path.parent.mkdir(parents=True)
        path.write_text(
            ofx_statement(rows, account_id=account_id, currency="USD", start=START, end=END, balance=balance)
        )
    (folder / "rules").mkdir()
    (folder / "rules" / "spending.yaml").write_text(RULES)
