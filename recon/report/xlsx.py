"""The exceptions report as an XLSX workbook: reconciliation, exceptions, resolved.

Every text cell is written with `write_string`, so a description such as
`=HYPERLINK(...)` stays text in the spreadsheet and never becomes a formula; the
frame given is also neutralized (a leading `'`) like the CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from recon.money import format_minor
from recon.report.statement import ReconciliationStatement

_STATEMENT_LINES = [
    ("Balance per bank statement", "bank_balance"),
    ("+ Deposits in transit", "deposits_in_transit"),
    ("- Outstanding checks and payments", "outstanding_payments"),
    ("= Adjusted bank balance", "adjusted_bank_balance"),
    ("Balance per books", "book_balance"),
    ("+ Credits the books lack", "credits_not_in_books"),
    ("- Charges the books lack", "charges_not_in_books"),
    ("+ Differences on matched rows", "matched_differences"),
    ("= Adjusted book balance", "adjusted_book_balance"),
    ("Difference", "difference"),
]


def _cell(sheet: Any, row: int, col: int, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    else:  # amounts included: they are exact decimal text, as in the CSV
        sheet.write_string(row, col, value.isoformat() if hasattr(value, "isoformat") else str(value))


def _frame_sheet(book: Any, name: str, frame: pl.DataFrame) -> None:
    sheet = book.add_worksheet(name)
    bold = book.add_format({"bold": True})
    for col, column in enumerate(frame.columns):
        sheet.write_string(0, col, column, bold)
    for r, row in enumerate(frame.iter_rows(), start=1):
        for col, value in enumerate(row):
            _cell(sheet, r, col, value)
    sheet.freeze_panes(1, 0)


def write_xlsx(
    path: Path, exceptions: pl.DataFrame, statements: list[ReconciliationStatement], resolved: pl.DataFrame
) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("Reconciliation")
    row = 0
    for st in statements:
        sheet.write_string(row, 0, f"{st.account_id} as of {st.as_of or '(no statement yet)'}", bold)
        row += 1
        for label, attr in _STATEMENT_LINES:
            value = getattr(st, attr)
            sheet.write_string(row, 0, label)
            if value is not None:
                sheet.write_string(row, 1, f"{format_minor(value, st.currency)} {st.currency}")
            row += 1
        for note in st.notes:
            sheet.write_string(row, 0, note)
            row += 1
        row += 1
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 1, 20)
    _frame_sheet(book, "Exceptions", exceptions)
    if not resolved.is_empty():
        _frame_sheet(book, "Resolved", resolved.drop("report_id", strict=False))
    book.close()
