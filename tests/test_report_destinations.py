"""The exceptions report shows where a rule books an open bank row: a category, each part of a split, a transfer."""

import csv
from pathlib import Path

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

OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102

<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS><STMTRS><CURDEF>USD
<BANKACCTFROM><BANKID>121000248<ACCTID>000123456789<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261001<DTEND>20261031
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261001120000<TRNAMT>-450.00<FITID>X1<NAME>CHECK 2001</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261007120000<TRNAMT>-1234.57<FITID>X5<NAME>GUSTO BENEFITS 7731</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261009120000<TRNAMT>-15.00<FITID>X7<NAME>MONTHLY SERVICE FEE</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261010120000<TRNAMT>-3.00<FITID>X8<NAME>SOMETHING ELSE</STMTTRN>
</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
"""

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
