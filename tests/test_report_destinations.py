"""The exceptions report shows where a rule books an open bank row: a category, each part of a split, a transfer."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.helpers import recon

CONFIG = """
[store]
path = "recon.duckdb"
[output]
dir = "out"
[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "Assets:Bank:Checking"
[[accounts]]
id = "owner"
currency = "USD"
ledger_account = "Equity:Owner"
[[sources]]
account = "checking"
format = "ofx"
paths = ["oct.ofx"]
[rules]
paths = ["rules.yaml"]
"""

OFX = ofx_statement(
    [
        OfxTxn("X1", date(2026, 10, 1), Decimal("-450.00"), "CHECK 2001"),
        OfxTxn("X5", date(2026, 10, 7), Decimal("-1234.57"), "GUSTO BENEFITS 7731"),
        OfxTxn("X7", date(2026, 10, 9), Decimal("-15.00"), "MONTHLY SERVICE FEE"),
        OfxTxn("X8", date(2026, 10, 10), Decimal("-3.00"), "SOMETHING ELSE"),
    ],
    account_id="000123456789", currency="USD", start=date(2026, 10, 1), end=date(2026, 10, 31), balance=None,
)  # fmt: skip

RULES = """rules:
  - name: Checks to owner
    when: {description: {starts_with: CHECK}}
    then: {transfer_to: owner}
  - name: Benefits split
    when: {description: {contains: GUSTO BENEFITS}}
    then:
      split:
        - {category: "Expenses:Payroll:Health Insurance", percent: "80"}
        - {category: "Liabilities:Payroll:Employee Contributions", remainder: true}
  - name: Fee
    when: {description: {contains: SERVICE FEE}}
    then: {category: "Expenses:Bank Fees"}
"""


def test_split_parts_and_the_transfer_account_are_shown(tmp_path: Path) -> None:
    (tmp_path / "recon.toml").write_text(CONFIG)
    (tmp_path / "oct.ofx").write_text(OFX)
    (tmp_path / "rules.yaml").write_text(RULES)
    result = recon("run", "--config", tmp_path / "recon.toml")
    assert result.returncode == 0, result.stderr
    with (tmp_path / "out" / "exceptions.csv").open(newline="") as f:
        shown = {r["description"]: (r["category"], r["rule"]) for r in csv.DictReader(f)}
    assert shown["CHECK 2001"] == ("transfer to owner (Equity:Owner)", "Checks to owner")
    benefits = "split: Expenses:Payroll:Health Insurance -987.65; Liabilities:Payroll:Employee Contributions -246.92"
    assert shown["GUSTO BENEFITS 7731"] == (benefits, "Benefits split")
    assert shown["MONTHLY SERVICE FEE"] == ("Expenses:Bank Fees", "Fee")
    assert shown["SOMETHING ELSE"] == ("", "")
    html = (tmp_path / "out" / "exceptions.html").read_text()
    assert benefits in html
    assert "transfer to owner (Equity:Owner)" in html
    assert html.count("<em>uncategorized</em>") == 1
