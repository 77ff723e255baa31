"""A bank CSV file split into its header and data fields, as a profile declares it.

The header and the data lines are found (skipping preamble, junk and footer lines,
keeping each line's number) and Polars splits the fields: from the memory-mapped file
when it is UTF-8 (or ASCII) and every line is one row, else line by line in Python.
Each row keeps its source record as the file has it (its line; the lines of a record
with a quoted line break, joined by "\n"), read beside the fields, for `raw`.
`importers.csv_columns` then parses the fields as whole columns.
"""

from __future__ import annotations

import codecs
import mmap
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from importers.csv_profile import CsvProfile
from importers.text_decoding import ascii_reads_as_utf8, utf8_bytes
from recon.errors import Problem

__all__ = ["CsvTable", "header_names", "profile_matches", "read_file_table", "read_table"]

_HEADER_SEARCH_LINES = 60


@dataclass(frozen=True, slots=True)
class CsvTable:
    """The fields of the data rows as text, with each row's line in the file.

    Attributes:
      fields: one String column per CSV column, named after the header (stripped).
      lines: the 1-based line where each row starts, same length as `fields`.
      header_line: the line of the header, or None for files without one.
      pending_records: the `records`, or a Future of them while another thread reads them.
    """

    fields: pl.DataFrame
    lines: pl.Series
    header_line: int | None
    pending_records: pl.Series | Future[pl.Series] | None = None

    @property
    def records(self) -> pl.Series | None:
        """Each row's source record as the file has it (its line, or the lines of a record with a
        quoted line break joined by "\n"; line ends excluded), for `raw`; None when not known
        (the rows' fields joined by the delimiter then stand in). Waits for a pending read."""
        pending = self.pending_records
        return pending.result() if isinstance(pending, Future) else pending


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _header_index(lines: list[str], profile: CsvProfile, *, count: int | None = None) -> int | None:
    """Index of the header among the first lines of the file (`count` of them in all, default all given)."""
    if profile.header_pattern is None:
        return profile.skip_lines if profile.skip_lines < (len(lines) if count is None else count) else None
    pattern = re.compile(profile.header_pattern)
    window = lines[profile.skip_lines : profile.skip_lines + _HEADER_SEARCH_LINES]
    return next((profile.skip_lines + i for i, line in enumerate(window) if pattern.search(line)), None)


def header_names(line: str, profile: CsvProfile) -> list[str]:
    """The column names of a header line, stripped of quotes and surrounding spaces."""
    try:
        frame = pl.read_csv(
            line.encode(), has_header=False, separator=profile.delimiter, quote_char=profile.quote,
            infer_schema=False, truncate_ragged_lines=True,
        )  # fmt: skip
    except pl.exceptions.PolarsError:
        return []
    return [(v or "").strip() for v in frame.row(0)] if frame.height else []


def profile_matches(profile: CsvProfile, head: bytes) -> bool:
    """Whether the start of a file has the header this profile expects."""
    if not profile.has_header:
        return False
    lines = _lines(head.decode(profile.encoding.replace("utf-8", "utf-8-sig"), errors="replace"))[:-1] or [""]
    index = _header_index(lines, profile)
    if index is None:
        return False
    names = {n.lower() for n in header_names(lines[index], profile)}
    wanted = [ref for ref in profile.columns.refs().values() if isinstance(ref, str)]
    return bool(wanted) and all(ref.strip().lower() in names for ref in wanted)


def read_table(name: str, data: bytes, profile: CsvProfile, *, named_only: bool = False) -> CsvTable | Problem:
    """Split the file into header and data fields per the profile, or say why it cannot be.

    `named_only`: the fields may hold only the columns the profile names (Polars then
    builds no others); the records still hold whole lines.
    """
    try:
        utf8 = utf8_bytes(data, profile.encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Problem(
            name, line, None,
            f"not {profile.encoding} text (byte {data[exc.start]:#x}); set encoding in the profile (e.g. latin-1)",
        )  # fmt: skip
    if b"\r" in utf8 and utf8.count(b"\r") != utf8.count(b"\r\n"):
        utf8 = utf8.replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # old Mac line ends
    if not profile.drop_lines_matching:
        table = _read_one_row_per_line(utf8, profile, named_only=named_only)
        if table is not None:
            return table
    return _read_line_by_line(name, utf8.decode(), profile)


def read_file_table(path: Path, profile: CsvProfile, *, named_only: bool = False) -> CsvTable | Problem:
    """`read_table` of a file. A UTF-8 file is mapped, not copied, and Polars reads it from its path.

    Polars refuses bytes that are not UTF-8, and the lines Polars does not read are
    decoded here; either way such a file goes to `read_table`, which names the line.
    A file of a Latin-1 (or similar 8-bit) profile that is pure ASCII is UTF-8 as it is,
    and is mapped too. Raises OSError when the file cannot be read.
    """
    utf8 = codecs.lookup(profile.encoding).name in ("utf-8", "utf-8-sig")
    if (utf8 or ascii_reads_as_utf8(profile.encoding)) and not profile.drop_lines_matching:
        with path.open("rb") as fh:
            if os.fstat(fh.fileno()).st_size > 0:
                with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
                    table = _read_mapped(view, path, profile, named_only) if utf8 or _is_ascii(view) else None
                if table is not None:
                    return table
    return read_table(str(path), path.read_bytes(), profile, named_only=named_only)


def _read_mapped(view: mmap.mmap, path: Path, profile: CsvProfile, named_only: bool = False) -> CsvTable | None:
    """The fast path on a mapped file with plain newlines and no BOM; None for any other file."""
    if view[:3] == b"\xef\xbb\xbf" or view.find(b"\r") >= 0:
        return None  # a BOM to drop, or line ends to normalize: read_table does both
    try:
        return _read_one_row_per_line(view, profile, newlines=_newlines(view), source=path, named_only=named_only)
    except UnicodeDecodeError:
        return None


def _is_ascii(view: mmap.mmap) -> bool:
    """Whether every byte of `view` is ASCII, looked at a block at a time (no file-sized temporary array)."""
    codes = np.frombuffer(view, dtype=np.uint8)
    block = 1 << 20
    part = codes[:0]
    try:
        for start in range(0, len(codes), block):
            part = codes[start : start + block]
            if int(part.max()) >= 0x80:
                return False
        return True
    finally:
        del codes, part  # the map cannot close while an array holds it


def _newlines(view: mmap.mmap) -> int:
    """How many newline bytes `view` holds, counted a block at a time (no file-sized temporary array)."""
    codes = np.frombuffer(view, dtype=np.uint8)
    block = 1 << 20
    found = np.empty(block, dtype=bool)
    count, part = 0, codes[:0]
    try:
        for start in range(0, len(codes), block):
            part = codes[start : start + block]
            np.equal(part, 0x0A, out=found[: len(part)])
            count += int(np.count_nonzero(found[: len(part)]))
    finally:
        del codes, part  # the map cannot close while an array holds it
    return count


def _read_one_row_per_line(
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
    head = [lines.text(i) for i in range(min(end, profile.skip_lines + _HEADER_SEARCH_LINES))]
    if profile.has_header:
        header_index = _header_index(head, profile, count=end)
        if header_index is None:
            return None  # the line-by-line path words the problem
        first_data = header_index + 1
    else:
        header_index, first_data = None, profile.skip_lines
    if end <= first_data:
        return None
    first_read = first_data if header_index is None else header_index
    columns = _named_columns(profile, head[header_index]) if named_only and header_index is not None else None
    stop = lines.stop(end - 1)
    whole = data[stop:] in (b"", b"\n", b"\r\n")  # the usual end: Polars skips the preamble, nothing is copied
    if whole:
        fields = _read_fields(source or bytes(data), profile, skip_lines=first_read, columns=columns)
    else:
        fields = _read_fields(data[lines.start(first_read) : stop], profile, columns=columns)
    if isinstance(fields, str) or fields.width == 0 or fields.height != end - first_data:
        return None  # a quoted line break, or Polars stumbled on a line the slow path may drop as junk
    # a large file's records are read on another thread from here on, beside the junk check and the parsing
    records = _read_records(data, source, lines.start(first_data), stop, first_data if whole else None, fields.height)
    if _may_hold_junk(fields, profile):
        return None
    line_numbers = pl.int_range(first_data + 1, end + 1, dtype=pl.Int64, eager=True).alias("line")
    return CsvTable(fields, line_numbers, header_index + 1 if header_index is not None else None, records)


# bytes that hardly ever occur in a text line: Polars splits each line at one of them into a single field
_NOT_A_DELIMITER = ("\x00", "\x01", "\x1f")
# from this many rows on, the records are read on another thread while the fields are parsed
_BACKGROUND_ROWS = 10_000


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


def _junk_pattern(profile: CsvProfile) -> str:
    return r"^[\s" + re.escape(profile.delimiter + profile.quote) + r"]*$"


def _may_hold_junk(fields: pl.DataFrame, profile: CsvProfile) -> bool:
    """Whether a row may come from a junk line: every field only blanks, delimiters or quotes.

    Only the first column is searched in full; the few rows it flags are checked whole.
    """
    pattern = _junk_pattern(profile)
    suspects = fields.filter(pl.col(fields.columns[0]).fill_null("").str.contains(pattern))
    if suspects.height == 0:
        return False
    return bool(suspects.select(pl.all_horizontal(pl.all().fill_null("").str.contains(pattern))).to_series().any())


def _named_columns(profile: CsvProfile, header: str) -> list[int] | None:
    """The 0-based indices of the header's columns the profile names, as `parse_rows` finds them.

    None (read them all) when a column is named by position (it counts every column),
    a name is not in the header (`parse_rows` then lists the file's columns) or every
    column is named.
    """
    refs = profile.columns.refs().values()
    if any(isinstance(ref, int) for ref in refs):
        return None
    names = [n.strip() for n in header_names(header, profile)]
    wanted: set[int] = set()
    for ref in refs:
        key = str(ref).strip()
        index = next((i for i, n in enumerate(names) if n == key), None)
        if index is None:
            index = next((i for i, n in enumerate(names) if n.lower() == key.lower()), None)
        if index is None:
            return None
        wanted.add(index)
    return sorted(wanted) if len(wanted) < len(names) else None


def _read_fields(
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


def _read_line_by_line(name: str, text: str, profile: CsvProfile) -> CsvTable | Problem:
    """The general path: every line is looked at, junk lines and `drop_lines_matching` lines are dropped."""
    lines = _lines(text)
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    end -= profile.skip_footer
    if profile.has_header:
        header_index = _header_index(lines[:end], profile)
        if header_index is None:
            where = (
                f"no line matches header_pattern '{profile.header_pattern}'"
                if profile.header_pattern
                else (f"the file has no line {profile.skip_lines + 1} for the header")
            )
            return Problem(name, None, None, f"header not found: {where}")
        first_data = header_index + 1
    else:
        header_index, first_data = None, profile.skip_lines

    body = pl.DataFrame({"text": pl.Series(lines[first_data:end], dtype=pl.String)}).with_row_index(
        "line", offset=first_data + 1
    )
    junk = pl.col("text").str.contains(_junk_pattern(profile))
    for pattern in profile.drop_lines_matching:
        junk = junk | pl.col("text").str.contains(pattern)
    body = body.filter(~junk)
    header_text = lines[header_index] + "\n" if header_index is not None else ""
    csv_text = header_text + "\n".join(body["text"].to_list())
    fields = _read_fields(csv_text.encode(), profile)
    if isinstance(fields, str):
        return Problem(name, None, None, fields)
    header_line = header_index + 1 if header_index is not None else None
    if fields.width == 0 or fields.height == 0:
        return CsvTable(fields, pl.Series("line", [], dtype=pl.Int64), header_line, pl.Series("raw", [], pl.String))
    kept_lines = body["line"].cast(pl.Int64)
    if fields.height == kept_lines.len():  # one line per row: the common case
        return CsvTable(fields, kept_lines, header_line, body["text"].alias("raw"))
    # a quoted field holds line breaks: each row starts after all lines of the rows before it
    lines_per_row = pl.lit(1, dtype=pl.Int64) + pl.sum_horizontal(
        pl.col(c).fill_null("").str.count_matches("\n") for c in fields.columns
    )
    starts = fields.select((lines_per_row.cum_sum() - lines_per_row).alias("i"))["i"]
    row_lines = kept_lines.gather(starts)
    row_of_line = pl.int_range(kept_lines.len(), eager=True).is_in(starts.implode()).cum_sum()
    records = (
        body.with_columns(row_of_line.alias("row"))
        .group_by("row", maintain_order=True)
        .agg(pl.col("text").str.join("\n"))["text"]
        .alias("raw")
    )
    return CsvTable(fields, row_lines, header_line, records if records.len() == fields.height else None)
