"""`memo:` conditions see the source's memo of stored rows (OFX MEMO), as imported by the real importer."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.helpers import recon

CONFIG = """
[store]
path = "recon.duckdb"
[[accounts]]
id = "checking"
currency = "USD"
[[sources]]
account = "checking"
format = "ofx"
paths = ["oct.ofx"]
[[sources]]
account = "checking"
format = "csv"
paths = ["oct.csv"]
profile = "bank.toml"
[rules]
paths = ["rules/*.yaml"]
"""

OFX = ofx_statement(
    [
        OfxTxn("X7", date(2026, 10, 9), Decimal("-61.12"), "BANKCARD FEE 8829", memo="MERCHANT SERVICES"),
        OfxTxn("X8", date(2026, 10, 10), Decimal("-35.00"), "MERCHANT SERVICES LLC"),
    ],
    account_id="000123456789", currency="USD", start=date(2026, 10, 1), end=date(2026, 10, 31), balance=None,
)  # fmt: skip

# a CSV gives no memo apart: its text is the description, never a memo (even when it looks like JSON)
CSV = 'Date,Description,Amount\n2026-10-11,"{""memo"": ""MERCHANT SERVICES""}",-12.00\n'

PROFILE = """title = "test bank"
currency = "USD"
date_formats = ["%Y-%m-%d"]
[columns]
date = "Date"
description = "Description"
amount = "Amount"
"""

RULES = """rules:
  - name: Merchant services by memo
    when:
      memo: {contains: MERCHANT SERVICES}
    then: {category: "Expenses:Merchant Fees"}
  - name: Bankcard by description
    when:
      description: {contains: BANKCARD FEE}
    then: {category: "Expenses:Other"}
"""


def test_a_memo_rule_categorizes_the_ofx_row_with_that_memo_only(tmp_path: Path) -> None:
    (tmp_path / "recon.toml").write_text(CONFIG)
    (tmp_path / "oct.ofx").write_text(OFX)
    (tmp_path / "oct.csv").write_text(CSV)
    (tmp_path / "bank.toml").write_text(PROFILE)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "memo.yaml").write_text(RULES)
    result = recon("run", "--config", tmp_path / "recon.toml")
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(tmp_path / "recon.duckdb"), read_only=True)
    try:
        got = con.execute(
            "SELECT b.description, c.rule_name FROM bank_transactions b "
            "LEFT JOIN categorizations c USING (txn_id) ORDER BY b.posted_date"
        ).fetchall()
    finally:
        con.close()
    assert got == [
        ("BANKCARD FEE 8829 MERCHANT SERVICES", "Merchant services by memo"),  # NAME + MEMO is the description
        ("MERCHANT SERVICES LLC", None),  # NAME only: no memo
        ('{"memo": "MERCHANT SERVICES"}', None),
    ]
