"""The exceptions report shows hostile descriptions as text and neutralizes spreadsheet formulas."""

import csv
from pathlib import Path

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
