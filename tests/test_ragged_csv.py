"""A CSV row with more or fewer fields than the header is refused, naming its line, in every CSV importer.

Polars would either fail without a line (too many) or read the row into the wrong columns
(too few). Extra fields that are all empty are allowed: many exports end data lines with a
delimiter the header lacks.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from importers.csv_bank import CsvBankImporter
from importers.csv_profile import load_profile
from importers.quickbooks_csv import QuickBooksCsv
from tests.helpers import count, recon
from tests.ledger_reports import ledger_story, quickbooks_report

CONFIG = """
[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "Assets:Bank:Checking"
"""
GL_HEADER = "id,date,amount,description,counterparty,reference,account\n"
GL_ROW = "JE-00089,2026-10-24,10.00,Fine row,Cp,,Assets:Bank:Checking\n"


@pytest.mark.parametrize(
    ("row", "found", "why"),
    [
        ("JE-00090,2026-10-25,12.00,Bad row", 4, "3 missing"),
        ("JE-00090,2026-10-25,12.00,Bad, row,Cp,,Assets:Bank:Checking", 8, "1 more than the header"),
    ],
)
def test_generic_gl_row_with_fields_missing_or_extra_is_refused_with_its_line(
    tmp_path: Path, row: str, found: int, why: str
) -> None:
    (tmp_path / "recon.toml").write_text(CONFIG)
    gl = tmp_path / "gl.csv"
    gl.write_text(GL_HEADER + GL_ROW + row + "\n")
    result = recon("import", "--config", tmp_path / "recon.toml", "--ledger", gl)
    assert result.returncode == 2
    assert f"{gl}:3: the header has 7 fields, this line has {found}: {why}" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Schema" not in result.stderr
    assert count(tmp_path / "recon.duckdb", "SELECT count(*) FROM ledger_entries") == 0


def test_generic_gl_trailing_empty_field_and_quoted_delimiters_are_fine(tmp_path: Path) -> None:
    (tmp_path / "recon.toml").write_text(CONFIG)
    gl = tmp_path / "gl.csv"
    quoted = 'J2,2026-10-25,1.00,"Rent, October",Cp,,Assets:Bank:Checking\n'
    gl.write_text(GL_HEADER + GL_ROW.replace("\n", ",\n") + quoted)
    result = recon("import", "--config", tmp_path / "recon.toml", "--ledger", gl)
    assert result.returncode == 0, result.stderr
    assert count(tmp_path / "recon.duckdb", "SELECT count(*) FROM ledger_entries") == 2


CHASE = "Details,Posting Date,Description,Amount,Type,Balance,Check or Slip #\n"
CHASE_ROWS = [
    "DEBIT,07/01/2026,COFFEE,-4.75,DEBIT_CARD,100.00,,\n",  # Chase ends data lines with a comma
    'DEBIT,07/02/2026,"RENT, JULY",-4200.00,ACH_DEBIT,95.25,,\n',
]


@pytest.mark.parametrize("slow_path", [False, True], ids=["one-row-per-line", "line-by-line"])
@pytest.mark.parametrize(
    ("row", "found"),
    [("DEBIT,07/03/2026,LUNCH,-9.00\n", 4), ("DEBIT,07/03/2026,LUNCH, DINER,-9.00,ACH_DEBIT,86.25,,\n", 9)],
)
def test_bank_csv_row_with_fields_missing_or_extra_is_refused_with_its_line(
    tmp_path: Path, row: str, found: int, slow_path: bool
) -> None:
    # a quoted line break sends the file down the line-by-line path
    extra = ['DEBIT,07/04/2026,"TWO\nLINES",-1.00,ACH_DEBIT,85.25,,\n'] if slow_path else []
    csv = tmp_path / "chase.csv"
    csv.write_text(CHASE + "".join(CHASE_ROWS) + row + "".join(extra))
    extract = CsvBankImporter(load_profile("chase-checking")).extract(csv, currency="USD")
    assert [str(p) for p in extract.problems] == [
        f"{csv}:4: the header has 7 fields, this line has {found}: "
        + ("3 missing" if found == 4 else "2 more than the header (a ',' in a value that is not quoted?)")
    ]
    assert extract.rows.height == 0


def test_bank_csv_with_trailing_delimiters_reads(tmp_path: Path) -> None:
    csv = tmp_path / "chase.csv"
    csv.write_text(CHASE + "".join(CHASE_ROWS))
    extract = CsvBankImporter(load_profile("chase-checking")).extract(csv, currency="USD")
    assert extract.problems == []
    assert extract.rows["amount_minor"].to_list() == [-475, -420000]


def test_a_header_ending_with_a_delimiter_names_no_extra_column(tmp_path: Path) -> None:
    csv = tmp_path / "chase.csv"
    without_the_empty_field = "DEBIT,07/03/2026,TEA,-2.00,DEBIT_CARD,93.25,\n"
    csv.write_text(CHASE.rstrip("\n") + ",\n" + "".join(CHASE_ROWS) + without_the_empty_field)
    extract = CsvBankImporter(load_profile("chase-checking")).extract(csv, currency="USD")
    assert extract.problems == []
    assert extract.rows["amount_minor"].to_list() == [-475, -420000, -200]


def test_quickbooks_entry_row_with_an_extra_field_is_refused_with_its_line(tmp_path: Path) -> None:
    lines = quickbooks_report(ledger_story()).splitlines()
    lines[7] = lines[7].replace("March", "March, extra", 1)  # line 8: the first entry of the bank section
    broken = tmp_path / "gl.csv"
    broken.write_text("\n".join(lines) + "\n")
    problems = QuickBooksCsv("1000 Checking").extract(broken, currency="USD").problems
    assert [(p.line, p.message) for p in problems] == [
        (8, "the header has 9 fields, this line has 10: 1 more than the header (a ',' in a value that is not quoted?)")
    ]
