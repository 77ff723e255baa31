"""The fast way to read a bank CSV: Polars reads the data lines straight from the file.

It holds when each data line is one CSV row and no line is junk; only the preamble,
the header and the footer are looked at in Python (`_LineOffsets` finds their lines
from the nearer end of the bytes, never splitting the middle). Each row's record is
its line, read by Polars as one column beside the fields; a large file's records are
read on another thread while `parse_rows` works. A file it cannot read this way gives
None, never a Problem: `importers.csv_line_by_line` reads it again and words any problem.
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import polars as pl

from importers.csv_fields import CsvTable, junk_pattern, read_fields
from importers.csv_header import HEADER_SEARCH_LINES, header_index, named_columns
from importers.csv_profile import CsvProfile
from importers.csv_ragged import header_width

__all__ = ["read_one_row_per_line"]

# bytes that hardly ever occur in a text line: Polars splits each line at one of them into a single field
_NOT_A_DELIMITER = ("\x00", "\x01", "\x1f")
# from this many rows on, the records are read on another thread while the fields are parsed
_BACKGROUND_ROWS = 10_000


def read_one_row_per_line(
    data: bytes | mmap.mmap,
    profile: CsvProfile,
    *,
    newlines: int | None = None,
    source: Path | None = None,
    named_only: bool = False,
) -> CsvTable | None:
    """The fast path: Polars reads the data lines straight from the file; None when the file needs the slow one.

    It holds when each data line is one CSV row and no line is junk (blank, or only
    delimiters and quotes), which is checked after the read; otherwise the line-by-line
    path reads the file again. Only the preamble and the footer are looked at in Python.
    `newlines` is how many newline bytes `data` holds (counted here when not given).
    `source`, when given, is the file `data` maps (Polars then reads it from there).
    With `named_only`, Polars builds only the columns the profile names (found in the
    header); the junk check then looks at those, and a row whose named fields are all
    blank sends the file to the line-by-line path, which looks at the whole line.
    """
    if newlines is None:
        newlines = data.count(b"\n") if isinstance(data, bytes) else data[:].count(b"\n")
    lines = _LineOffsets(data, newlines=newlines)
    end = lines.count
    while end > 0 and not lines.text(end - 1).strip():
        end -= 1
    for footer in range(max(end - profile.skip_footer, 0), end):
        lines.text(footer)  # Polars does not read the footer: its bytes must still be text
    end -= profile.skip_footer
    head = [lines.text(i) for i in range(min(end, profile.skip_lines + HEADER_SEARCH_LINES))]
    if profile.has_header:
        header_at = header_index(head, profile, count=end)
        if header_at is None:
            return None  # the line-by-line path words the problem
        first_data = header_at + 1
    else:
        header_at, first_data = None, profile.skip_lines
    if end <= first_data:
        return None
    read_from = first_data if header_at is None else header_at  # the first line Polars reads: the header, if any
    columns = named_columns(profile, head[header_at]) if named_only and header_at is not None else None
    stop = lines.stop(end - 1)
    whole = data[stop:] in (b"", b"\n", b"\r\n")  # the usual end: Polars skips the preamble, nothing is copied
    if whole:
        fields = read_fields(source or bytes(data), profile, skip_lines=read_from, columns=columns)
    else:
        fields = read_fields(data[lines.start(read_from) : stop], profile, columns=columns)
    if isinstance(fields, str) or fields.width == 0 or fields.height != end - first_data:
        return None  # a quoted line break, or Polars stumbled on a line the slow path may drop as junk
    # a large file's records are read on another thread from here on, beside the junk check and the parsing
    records = _read_records(data, source, lines.start(first_data), stop, first_data if whole else None, fields.height)
    if _may_hold_junk(fields, profile):
        return None
    line_numbers = pl.int_range(first_data + 1, end + 1, dtype=pl.Int64, eager=True).alias("line")
    header_line, width = (None, None) if header_at is None else (header_at + 1, header_width(head[header_at], profile))
    return CsvTable(fields, line_numbers, header_line, records, width)


def _read_records(
    data: bytes | mmap.mmap, source: Path | None, start: int, stop: int, skip_lines: int | None, rows: int
) -> pl.Series | Future[pl.Series]:
    """The data lines `start:stop` of `data` as text, one per row (the file has one line per row).

    Polars reads them as one column (from `source`, the file `data` maps, when given),
    skipping `skip_lines` lines of the whole file, or from the slice when that is None.
    A line holding the byte used as the delimiter makes the read fail (more fields than
    one) and the next byte is tried; a file holding all of them is split in Python.
    A large file's records come as a Future: Polars reads them on another thread (it
    releases the GIL) while `parse_rows` works. `data` is not read after this returns.
    """
    whole = skip_lines is not None
    csv: bytes | Path = source if whole and source is not None else bytes(data if whole else data[start:stop])

    def read() -> pl.Series:
        for separator in _NOT_A_DELIMITER:
            try:
                lines = pl.read_csv(
                    csv, has_header=False, separator=separator, quote_char=None, skip_lines=skip_lines or 0,
                    n_rows=rows, schema={"raw": pl.String}, raise_if_empty=False,
                )  # fmt: skip
            except pl.exceptions.PolarsError:
                continue
            if lines.height == rows:
                return lines.to_series().fill_null("")
        text = csv.read_bytes() if isinstance(csv, Path) else csv
        return pl.Series("raw", (text[start:stop] if whole else text).decode().split("\n"), dtype=pl.String)

    return _in_background(read) if rows >= _BACKGROUND_ROWS else read()


def _in_background(work: Callable[[], pl.Series]) -> Future[pl.Series]:
    """`work` run on a new thread; its result (or exception) in the Future."""
    future: Future[pl.Series] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="recon-csv-records", daemon=True).start()
    return future


class _LineOffsets:
    """Where lines of UTF-8 bytes start, found on demand walking from the nearer end: the middle is never split."""

    def __init__(self, data: bytes | mmap.mmap, *, newlines: int):
        self.data = data
        self.count = newlines + 1  # as str.split counts: a final newline ends an empty last line
        self._front = [0]  # starts of lines 0, 1, ... found walking forward
        self._back = {self.count: len(data) + 1}  # starts of the last lines, walking backward
        self._first_back = self.count

    def start(self, index: int) -> int:
        """Offset of the first byte of line `index` (0-based); `count` gives one past the end."""
        if index < len(self._front):
            return self._front[index]
        if index >= self._first_back:
            return self._back[index]
        if index - len(self._front) <= self._first_back - index:
            while len(self._front) <= index:
                self._front.append(self.data.find(b"\n", self._front[-1]) + 1)
            return self._front[index]
        while self._first_back > index:
            following = self._back[self._first_back]
            self._first_back -= 1
            self._back[self._first_back] = self.data.rfind(b"\n", 0, following - 1) + 1
        return self._back[index]

    def stop(self, index: int) -> int:
        """Offset just past line `index`, its newline excluded."""
        return self.start(index + 1) - 1

    def text(self, index: int) -> str:
        """Line `index` as text, without its line ending."""
        return self.data[self.start(index) : self.stop(index)].decode().removesuffix("\r")


def _may_hold_junk(fields: pl.DataFrame, profile: CsvProfile) -> bool:
    """Whether a row may come from a junk line: every field only blanks, delimiters or quotes.

    Only the first column is searched in full; the few rows it flags are checked whole.
    """
    pattern = junk_pattern(profile)
    suspects = fields.filter(pl.col(fields.columns[0]).fill_null("").str.contains(pattern))
    if suspects.height == 0:
        return False
    return bool(suspects.select(pl.all_horizontal(pl.all().fill_null("").str.contains(pattern))).to_series().any())
