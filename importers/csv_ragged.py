"""Rows of a CSV file with more or fewer fields than its header: refused, naming the line.

Polars either fails on the first such row without a line number, or (reading ragged lines)
cuts the extra fields off and leaves the missing ones empty: a value with an unquoted
delimiter, or a line cut short, would then be read into the wrong columns without a word.
Every CSV importer (bank CSV, the generic ledger CSV, the ledger reports) checks its rows
here. Extra empty fields are allowed when the first row has as many: many exports end
each data line with a delimiter the header lacks.

Counting is vectorized: a record without the quote character has one field more than
delimiters; only records holding quotes are split in Python (`csv`).
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import polars as pl

from recon.errors import Problem

if TYPE_CHECKING:
    from importers.csv_profile import CsvProfile

__all__ = ["header_width", "ragged_problems", "split_record"]

_MAX_PROBLEMS = 20


def split_record(record: str, *, delimiter: str = ",", quote: str = '"') -> list[str]:
    """The fields of one CSV record (its lines joined by "\\n" when a quoted field holds line breaks)."""
    rows = list(csv.reader(io.StringIO(record), delimiter=delimiter, quotechar=quote or None, strict=False))
    return [field for row in rows for field in row] if len(rows) > 1 else (rows[0] if rows else [""])


def header_width(header: str, profile: CsvProfile) -> int:
    """How many fields a header line names, split as the profile says: a delimiter ending the header
    ("Date,Amount,") names no column, and rows need not fill it (their extra empty field is the file's habit)."""
    names = split_record(header, delimiter=profile.delimiter, quote=profile.quote)
    while len(names) > 1 and not names[-1].strip():
        names.pop()
    return len(names)


def ragged_problems(
    name: str, records: pl.Series, lines: pl.Series, *, width: int, delimiter: str = ",", quote: str = '"'
) -> list[Problem]:
    """A Problem for each record (starting at the same place in `lines`) with more or fewer fields than `width`.

    Extra empty fields are no problem when the first record has as many (the file's habit of ending lines
    with delimiters); a row with more is still refused: a delimiter in a value pushed its fields right.
    At most 20 Problems: the file is refused anyway.
    """
    frame = pl.DataFrame({"record": records.fill_null(""), "line": lines})
    if frame.height == 0:
        return []
    habit = _habitual_width(frame["record"][0], width, delimiter, quote)
    quoted = pl.col("record").str.contains(quote, literal=True) if quote else pl.lit(False)
    quick = pl.col("record").str.count_matches(delimiter, literal=True) + 1
    suspects = frame.filter(quoted | ((quick != width) & (quick != habit)))
    problems = []
    for record, line in suspects.iter_rows():
        fields = split_record(record, delimiter=delimiter, quote=quote)
        found = len(fields)
        if found == width or (found == habit and not any(f.strip() for f in fields[width:])):
            continue
        if found == 1 and not fields[0].strip():
            continue  # a blank line
        if found > width:
            why = f"{found - width} more than the header (a {delimiter!r} in a value that is not quoted?)"
        else:
            why = f"{width - found} missing"
        problems.append(Problem(name, line, None, f"the header has {width} fields, this line has {found}: {why}"))
        if len(problems) >= _MAX_PROBLEMS:
            break
    return problems


def _habitual_width(first: str, width: int, delimiter: str, quote: str) -> int:
    """How many fields the rows may have: the first row's count when its fields past the header's are empty."""
    fields = split_record(first, delimiter=delimiter, quote=quote)
    return len(fields) if len(fields) > width and not any(f.strip() for f in fields[width:]) else width
