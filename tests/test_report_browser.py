"""The HTML report, loaded in the real browser: the reconciliation statement ties out on the demo."""

import csv
import re
from decimal import Decimal
from html import unescape
from pathlib import Path

from tests.browser import dump_dom
from tests.helpers import recon


def _figures(dom: str) -> dict[str, Decimal]:
    found = re.findall(r'data-figure="(\w+)">([^<]*)</td>', dom)
    return {key: Decimal(unescape(text).split()[0]) for key, text in found if text.strip()}


def test_demo_statement_ties_out_in_the_browser(demo: Path) -> None:
    assert recon("run", "--config", demo / "recon.toml").returncode == 0
    dom = dump_dom((demo / "out" / "exceptions.html").as_uri())
    figures = _figures(dom)

    assert figures["difference"] == 0
    assert "reconciled" in dom
    # the bank balance is the closing balance of the latest OFX statement
    latest = sorted((demo / "bank").glob("*.ofx"))[-1].read_text()
    assert figures["bank_balance"] == Decimal(re.search(r"<BALAMT>([-\d.]+)", latest).group(1))
    # the book balance is the configured June balance plus every book entry after it
    with (demo / "ledger" / "gl.csv").open() as fh:
        book_total = sum(Decimal(r["amount"]) for r in csv.DictReader(fh))
    assert figures["book_balance"] == Decimal("48210.37") + book_total
    # each side adds up as the page says
    assert figures["adjusted_bank_balance"] == (
        figures["bank_balance"] + figures["deposits_in_transit"] + figures["outstanding_payments"]
    )
    assert figures["adjusted_book_balance"] == (
        figures["book_balance"] + figures["credits_not_in_books"] + figures["charges_not_in_books"]
        + figures["matched_differences"]
    )  # fmt: skip
    # fees the books lack: three monthly fees and a wire fee, at least
    assert figures["charges_not_in_books"] <= Decimal("-80.00")
