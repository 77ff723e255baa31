"""The exceptions report shows hostile descriptions as text and neutralizes spreadsheet formulas."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from bench.ofx_writer import OfxTxn, ofx_statement
from tests.helpers import recon

CONFIG = """
[[accounts]]
id = "checking"
currency = "USD"
"""

HOSTILE = [
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil.example","click")',
    "+SUM(A1:A9)",
    "bell\x07and\x1bescape",
]


def test_hostile_descriptions_are_text_in_html_and_inert_in_csv(tmp_path: Path) -> None:
    (tmp_path / "recon.toml").write_text(CONFIG)
    gl = tmp_path / "gl.csv"
    rows = ["id,date,amount,description,counterparty,reference,account"]
    for i, text in enumerate(HOSTILE, start=1):
        quoted = '"' + text.replace('"', '""') + '"'
        rows.append(f"H{i},2026-07-0{i},-{i}.00,{quoted},,,")
    gl.write_text("\n".join(rows) + "\n")
    assert recon("import", "--config", tmp_path / "recon.toml", "--ledger", gl).returncode == 0
    result = recon("report", "--config", tmp_path / "recon.toml")
    assert result.returncode == 0, result.stderr

    page = (tmp_path / "out" / "exceptions.html").read_text()
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x07" not in page
    assert "\x1b" not in page
    assert "belland" in page

    with (tmp_path / "out" / "exceptions.csv").open() as fh:
        descriptions = {r["row_id"]: r["description"] for r in csv.DictReader(fh)}
    values = set(descriptions.values())
    assert '\'=HYPERLINK("http://evil.example","click")' in values
    assert "'+SUM(A1:A9)" in values
    assert not any(v[:1] in "=+-@" for v in values)
    # amounts stay numbers: only text columns are neutralized
    with (tmp_path / "out" / "exceptions.csv").open() as fh:
        assert {r["amount"] for r in csv.DictReader(fh)} == {"-1.00", "-2.00", "-3.00", "-4.00"}


def test_xlsx_keeps_hostile_text_as_text(tmp_path: Path) -> None:
    import zipfile

    (tmp_path / "recon.toml").write_text(CONFIG)
    gl = tmp_path / "gl.csv"
    gl.write_text('id,date,amount,description\nH1,2026-07-01,-1.00,"=HYPERLINK(""http://evil.example"",""x"")"\n')
    assert recon("import", "--config", tmp_path / "recon.toml", "--ledger", gl).returncode == 0
    assert recon("report", "--config", tmp_path / "recon.toml").returncode == 0
    with zipfile.ZipFile(tmp_path / "out" / "exceptions.xlsx") as book:
        sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(book.read(n).decode() for n in sheets)
        strings = book.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in xml
    assert "&apos;=HYPERLINK" in strings or "'=HYPERLINK" in strings


def test_report_says_what_is_new_and_what_was_resolved(demo: Path) -> None:
    config = demo / "recon.toml"
    assert recon("run", "--config", config).returncode == 0
    first = (demo / "out" / "exceptions.csv").read_text()
    assert "new" in {r["change"] for r in csv.DictReader(first.splitlines())}
    assert recon("run", "--config", config).returncode == 0
    with (demo / "out" / "exceptions.csv").open() as fh:
        assert {r["change"] for r in csv.DictReader(fh)} == {"open"}
    # the bank finally shows the Globex deposit in transit; a new fee is booked too
    (demo / "bank" / "late.ofx").write_text(
        ofx_statement(
            [OfxTxn("L1", date(2026, 10, 1), Decimal("2450.00"), "ACH CREDIT GLOBEX INC", "INV-20001")],
            account_id="000123456789", currency="USD", start=date(2026, 10, 1), end=date(2026, 10, 1),
            balance=Decimal("0"),
        )
    )  # fmt: skip
    extra = demo / "ledger" / "fee.csv"
    extra.write_text("id,date,amount,description\nF1,2026-10-02,-12.50,Bank charge booked twice?\n")
    assert recon("import", "--config", config, "--ledger", extra).returncode == 0
    assert recon("run", "--config", config).returncode == 0
    with (demo / "out" / "exceptions.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["description"] for r in rows if r["change"] == "new"] == ["Bank charge booked twice?"]
    assert "Payment received - Globex Inc" not in {r["description"] for r in rows}
    html = (demo / "out" / "exceptions.html").read_text()
    assert '<span data-figure="new_items">1</span>' in html
    assert '<span data-figure="resolved_items">1</span>' in html
    resolved = html.split('id="resolved"', 1)[1]
    assert "Payment received - Globex Inc" in resolved
