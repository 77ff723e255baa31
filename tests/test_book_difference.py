"""A payout short by the processor's fee: suggested without a rule, auto when a rule says how to book the fee."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bench.ofx_writer import OfxTxn, ofx_statement
from recon.approved_entries import approved_new_entries
from recon.config import load_config
from recon.store import open_store
from tests.helpers import recon

CONFIG = """
[[accounts]]
id = "checking"
currency = "USD"

[[sources]]
account = "checking"
paths = ["bank/*.ofx"]

[[ledgers]]
account = "checking"
paths = ["ledger/gl.csv"]
"""

RULE = """
rules:
  - name: Stripe payout
    when:
      description: {regex: 'STRIPE TRANSFER\\s+(ST-\\w+)'}
      amount: {sign: positive}
    then:
      category: "Assets:Clearing:Stripe"
      book_difference: {account: "Expenses:Merchant Fees", max_percent: "MAX"}
"""


def _setup(tmp_path: Path, *, fee: str, rule: bool, max_percent: str = "3.5") -> Path:
    (tmp_path / "bank").mkdir()
    (tmp_path / "ledger").mkdir()
    net = Decimal("1000.00") - Decimal(fee)
    (tmp_path / "bank" / "july.ofx").write_text(
        ofx_statement([OfxTxn("P1", date(2026, 7, 7), net, "STRIPE TRANSFER ST-377846")], account_id="1",
                      currency="USD", start=date(2026, 7, 1), end=date(2026, 7, 31), balance=net)
    )  # fmt: skip
    (tmp_path / "ledger" / "gl.csv").write_text(
        "id,date,amount,description,counterparty,reference,account\nJ1,2026-07-06,1000.00,Stripe payout,Stripe,,\n"
    )
    text = CONFIG
    if rule:
        (tmp_path / "rules").mkdir()
        (tmp_path / "rules" / "stripe.yaml").write_text(RULE.replace("MAX", max_percent))
        text += '\n[rules]\npaths = ["rules/*.yaml"]\n'
    (tmp_path / "recon.toml").write_text(text)
    return tmp_path / "recon.toml"


def _matches(config: Path) -> list[tuple[str, str]]:
    with open_store(load_config(config).store_path) as store:
        return [(str(s), str(r)) for s, r in store.con.execute("SELECT status, reasons FROM matches").fetchall()]


def test_without_a_rule_a_fee_difference_is_only_suggested(tmp_path: Path) -> None:
    config = _setup(tmp_path, fee="29.30", rule=False)
    assert recon("run", "--config", config).returncode == 0
    [(status, reasons)] = _matches(config)
    assert status == "suggested"
    assert "amount differs by -29.30" in reasons


def test_a_rule_with_book_difference_makes_it_auto_and_books_the_fee(tmp_path: Path) -> None:
    config = _setup(tmp_path, fee="29.30", rule=True)
    result = recon("run", "--config", config)
    assert result.returncode == 0, result.stderr
    [(status, reasons)] = _matches(config)
    assert status == "auto"
    assert "the difference is booked to Expenses:Merchant Fees by rule 'Stripe payout'" in reasons
    with open_store(load_config(config).store_path) as store:
        [entry] = approved_new_entries(store)
    assert entry.amount_minor == -2930
    assert entry.counter_account == "Expenses:Merchant Fees"
    assert entry.bank_id == "P1-difference"


def test_a_difference_beyond_the_rule_stays_suggested(tmp_path: Path) -> None:
    config = _setup(tmp_path, fee="29.30", rule=True, max_percent="2.5")  # 2.93% of the payout > 2.5%
    assert recon("run", "--config", config).returncode == 0
    [(status, reasons)] = _matches(config)
    assert status == "suggested"
    assert "booked" not in reasons


BOOK = """option "operating_currency" "USD"
2026-01-01 open Assets:Bank:Checking USD
2026-01-01 open Income:Sales USD
2026-01-01 open Equity:Opening USD
2026-07-01 * "Opening"
  Assets:Bank:Checking  1000.00 USD
  Equity:Opening
2026-07-06 ! "Stripe" "Stripe payout"
  Assets:Bank:Checking  1000.00 USD
  Income:Sales
"""


def test_the_fee_is_written_to_a_beancount_book_that_then_balances(tmp_path: Path) -> None:
    import subprocess

    from tests.writeback_books import tool

    bean_check = tool("bean-check")
    if bean_check is None:
        pytest.skip("bean-check is not installed (pip install 'beancount>=3')")
    config = _setup(tmp_path, fee="29.30", rule=True)
    (tmp_path / "bank" / "july.ofx").write_text(
        (tmp_path / "bank" / "july.ofx").read_text().replace("<BALAMT>970.70", "<BALAMT>1970.70")
    )
    (tmp_path / "books").mkdir()
    (tmp_path / "books" / "main.beancount").write_text(BOOK)
    with_book = config.read_text().replace(
        'currency = "USD"', 'currency = "USD"\nledger_account = "Assets:Bank:Checking"'
    )
    with_book = with_book.replace(
        'paths = ["ledger/gl.csv"]', 'format = "beancount"\npaths = ["books/main.beancount"]\nwriteback = true'
    )
    config.write_text(with_book)
    assert recon("run", "--config", config).returncode == 0
    added = (tmp_path / "books" / "recon.beancount").read_text()
    assert "Expenses:Merchant-Fees  29.30 USD" in added  # spelled as beancount allows
    assert "balance Assets:Bank:Checking  1970.70 USD" in added
    assert subprocess.run([bean_check, str(tmp_path / "books" / "main.beancount")]).returncode == 0


def test_account_names_are_spelled_for_beancount() -> None:
    from recon.writeback.beancount_sink import BookError, beancount_account

    assert beancount_account("Expenses:Merchant Fees") == "Expenses:Merchant-Fees"
    assert beancount_account("Expenses:bank fees & charges") == "Expenses:Bank-fees-charges"
    with pytest.raises(BookError, match="cannot be written to a beancount book"):
        beancount_account("Merchant Fees")
