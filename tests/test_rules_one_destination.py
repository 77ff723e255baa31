"""A row has one destination: the first applied rule's; a `stop: false` rule never gives it a second."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.helpers import recon
from tests.rules_support import outcome, ruleset, run_cli, write_rules

RULES = """
rules:
  - name: Bankcard is owner's
    stop: false
    when: {description: {starts_with: BANKCARD FEE}}
    then: {transfer_to: owner, tags: [owner]}
  - name: Bankcard split
    when: {description: {starts_with: BANKCARD FEE}}
    then:
      payee: Card processor
      tags: [split]
      split:
        - {category: "Expenses:Merchant Fees", percent: "50"}
        - {category: "Expenses:Other", percent: "50"}
  - name: Tiny deposit income
    stop: false
    when: {amount: {equals: "0.05"}}
    then: {category: "Income:Misc"}
  - name: Tiny deposit ignore
    when: {amount: {equals: "0.05"}}
    then: {ignore: true, memo: tiny}
"""


def test_a_later_rule_adds_payee_memo_and_tags_but_not_a_second_destination(tmp_path: Path) -> None:
    rules = ruleset(tmp_path, RULES, accounts=["checking", "owner"])
    card, tiny = outcome(
        rules,
        {"description": "BANKCARD FEE 8829", "amount_minor": -6112},
        {"description": "DEPOSIT", "amount_minor": 5},
    )
    assert (card["transfer_account"], card["splits"], card["category"]) == ("owner", None, None)
    assert (card["payee"], card["tags"]) == ("Card processor", ["owner", "split"])
    assert (tiny["category"], tiny["ignored"], tiny["memo"]) == ("Income:Misc", False, "tiny")


CONFIG = """
[store]
path = "recon.duckdb"
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
        OfxTxn("X7", date(2026, 10, 9), Decimal("-61.12"), "BANKCARD FEE 8829"),
        OfxTxn("X4", date(2026, 10, 6), Decimal("0.05"), "DEPOSIT"),
    ],
    account_id="000123456789", currency="USD", start=date(2026, 10, 1), end=date(2026, 10, 31), balance=None,
)  # fmt: skip


def test_stored_categorizations_have_one_destination_each(tmp_path: Path) -> None:
    (tmp_path / "recon.toml").write_text(CONFIG)
    (tmp_path / "oct.ofx").write_text(OFX)
    write_rules(tmp_path, RULES)
    result = recon("run", "--config", tmp_path / "recon.toml")
    assert result.returncode == 0, result.stderr
    con = duckdb.connect(str(tmp_path / "recon.duckdb"), read_only=True)
    try:
        stored = con.execute(
            "SELECT rule_name, category, splits IS NOT NULL, transfer_account, ignored FROM categorizations ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert stored == [
        ("Bankcard is owner's", None, False, "owner", False),
        ("Tiny deposit income", "Income:Misc", False, None, False),
    ]


def test_check_warns_where_a_later_destination_is_never_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rules(tmp_path, RULES)
    code, out, err = run_cli(capsys, "rules", "check", path)
    assert code == 0, out + err
    shadowed = [line for line in out.splitlines() if "never used" in line]
    assert len(shadowed) == 2, out
    assert "rule 'Bankcard split': its split is never used" in shadowed[0]
    assert "(transfer_to 'owner') from rule 'Bankcard is owner's'" in shadowed[0]
    assert "rule 'Tiny deposit ignore': its ignore is never used" in shadowed[1]
    # a narrower stop: false rule before a broader one shadows it only on its own rows: not proven, not reported
    narrow = write_rules(
        tmp_path,
        """
        rules:
          - name: Big card fee
            stop: false
            when: {description: {starts_with: BANKCARD FEE}, amount: {at_most: "-100.00"}}
            then: {category: "Expenses:Big"}
          - name: Card fee
            when: {description: {starts_with: BANKCARD FEE}}
            then: {category: "Expenses:Merchant Fees"}
        """,
        name="narrow.yaml",
    )
    code, out, err = run_cli(capsys, "rules", "check", narrow)
    assert "never used" not in out
