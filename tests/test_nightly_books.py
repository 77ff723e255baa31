"""The whole nightly line on a beancount book: import, match, categorize by rule, write back; bean-check agrees,
and a second night changes nothing."""

import subprocess
from pathlib import Path

import pytest

from tests.helpers import recon
from tests.writeback_books import ACCOUNT, closing_balance, make_setup, story, tool

RULES = """
rules:
  - name: Bank fee
    when:
      description: {contains: SERVICE FEE}
    then:
      category: Expenses:Bank:Fees
  - name: Interest
    when:
      description: {contains: INTEREST}
    then:
      category: Income:Interest
"""


def test_run_categorizes_bank_only_rows_and_books_them(tmp_path: Path) -> None:
    bean_check = tool("bean-check")
    if bean_check is None:
        pytest.skip("bean-check is not installed (pip install 'beancount>=3')")
    txns = story()
    make_setup(tmp_path, fmt="beancount", txns=txns)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bank.yaml").write_text(RULES)
    config = tmp_path / "recon.toml"
    config.write_text(config.read_text() + '\n[rules]\npaths = ["rules/*.yaml"]\n')

    first = recon("run", "--config", config)
    assert first.returncode == 0, first.stdout + first.stderr
    # the summary says what went into the book (the story's matches, the fee and the interest, the balance)
    assert (f"written back:   book books/main.beancount: written: {len(txns)} cleared, 2 new entries, 1 balances; "
            "0 already there, 0 skipped") in first.stdout  # fmt: skip
    book = tmp_path / "books" / "main.beancount"
    added = (tmp_path / "books" / "recon.beancount").read_text()
    assert "Expenses:Bank:Fees" in added
    assert "Income:Interest" in added
    assert subprocess.run([bean_check, str(book)], capture_output=True).returncode == 0
    from beancount import loader
    from beancount.core import data

    entries, errors, _ = loader.load_file(str(book))
    assert errors == []
    fee_entries = [e for e in entries if isinstance(e, data.Transaction)
                   and any(p.account == "Expenses:Bank:Fees" for p in e.postings)]  # fmt: skip
    assert len(fee_entries) == 1
    assert all(any(p.account == ACCOUNT for p in e.postings) for e in fee_entries)
    balances = [e for e in entries if isinstance(e, data.Balance)]
    assert [b.amount.number for b in balances] == [closing_balance(txns)]

    before = book.read_bytes(), (tmp_path / "books" / "recon.beancount").read_bytes()
    second = recon("run", "--config", config)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (book.read_bytes(), (tmp_path / "books" / "recon.beancount").read_bytes()) == before
    assert "book books/main.beancount: written: 0 cleared, 0 new entries, 0 balances; 2 already there" in (
        second.stdout
    )
