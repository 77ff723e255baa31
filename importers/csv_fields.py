"""The data fields of a bank CSV: the `CsvTable` that holds them, and the Polars read that splits lines into them.

Both reading paths (`importers.csv_one_row_per_line`, `importers.csv_line_by_line`)
split with `read_fields`, so the fields are the same whichever path reads a file, and
both know a junk line by `junk_pattern` (the line-by-line path drops it; the other
leaves a file that may hold one to it). Every field is text: nothing here parses a
value.
"""

from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from importers.csv_profile import CsvProfile

__all__ = ["CsvTable", "junk_pattern", "read_fields"]


@dataclass(frozen=True, slots=True)
class CsvTable:
    """The fields of the data rows as text, with each row's line in the file.

    Attributes:
      fields: one String column per CSV column, named after the header (stripped).
      lines: the 1-based line where each row starts, same length as `fields`.
      header_line: the line of the header, or None for files without one.
      pending_records: the `records`, or a Future of them while another thread reads them.
      header_width: how many fields the header has (`fields` may hold fewer: only the named
        columns); None for a file without a header, whose rows should have as many as the first.
    """

    fields: pl.DataFrame
    lines: pl.Series
    header_line: int | None
    pending_records: pl.Series | Future[pl.Series] | None = None
    header_width: int | None = None

    def width(self) -> int:
        """How many fields each row should have."""
        return self.header_width if self.header_width is not None else self.fields.width

    @property
    def records(self) -> pl.Series | None:
        """Each row's source record as the file has it (its line, or the lines of a record with a
        quoted line break joined by "\n"; line ends excluded), for `raw`; None when not known
        (the rows' fields joined by the delimiter then stand in). Waits for a pending read."""
        pending = self.pending_records
        return pending.result() if isinstance(pending, Future) else pending


def junk_pattern(profile: CsvProfile) -> str:
    """A junk line: blank, or only delimiters and quotes."""
    return r"^[\s" + re.escape(profile.delimiter + profile.quote) + r"]*$"


def read_fields(
    csv: bytes | Path, profile: CsvProfile, *, skip_lines: int = 0, columns: list[int] | None = None
) -> pl.DataFrame | str:
    """The fields as text (`columns`: only those), named after the header (stripped); or why Polars cannot read it."""
    try:
        fields = pl.read_csv(
            csv, skip_lines=skip_lines, has_header=profile.has_header, separator=profile.delimiter,
            quote_char=profile.quote, infer_schema=False, truncate_ragged_lines=True,
            raise_if_empty=False, columns=columns,
        )  # fmt: skip
    except pl.exceptions.PolarsError as exc:
        return f"not readable as CSV with delimiter '{profile.delimiter}': {str(exc).splitlines()[0]}"
    return fields.rename({c: c.strip() for c in fields.columns if c.strip() not in fields.columns})
