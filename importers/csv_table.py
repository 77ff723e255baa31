"""A bank CSV file split into its header and data fields, as a profile declares it.

The header and the data lines are found (skipping preamble, junk and footer lines,
keeping each line's number) and Polars splits the fields: from the memory-mapped file
when it is UTF-8 (or ASCII) and every line is one row (`importers.csv_one_row_per_line`),
else line by line in Python (`importers.csv_line_by_line`). Here the bytes are made
UTF-8 for Polars, the file is mapped, and the path is chosen. Each row keeps its source
record as the file has it (its line; the lines of a record with a quoted line break,
joined by "\n"), read beside the fields, for `raw`. The result is a `CsvTable`
(`importers.csv_fields`); `importers.csv_columns` then parses the fields as whole columns.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path

import numpy as np

from importers.csv_fields import CsvTable
from importers.csv_line_by_line import read_line_by_line
from importers.csv_one_row_per_line import read_one_row_per_line
from importers.csv_profile import CsvProfile
from importers.text_decoding import ascii_reads_as_utf8, has_utf16_bom, is_utf8, utf8_bytes
from recon.errors import Problem

__all__ = ["read_file_table", "read_table"]


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
        table = read_one_row_per_line(utf8, profile, named_only=named_only)
        if table is not None:
            return table
    return read_line_by_line(name, utf8.decode(), profile)


def read_file_table(path: Path, profile: CsvProfile, *, named_only: bool = False) -> CsvTable | Problem:
    """`read_table` of a file. A UTF-8 file is mapped, not copied, and Polars reads it from its path.

    Polars refuses bytes that are not UTF-8, and the lines Polars does not read are
    decoded here; either way such a file goes to `read_table`, which names the line.
    A file of a Latin-1 (or similar 8-bit) profile that is pure ASCII is UTF-8 as it is,
    and is mapped too. Raises OSError when the file cannot be read.
    """
    utf8 = is_utf8(profile.encoding)
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
    if view[:3] == b"\xef\xbb\xbf" or has_utf16_bom(view[:2]) or view.find(b"\r") >= 0:
        return None  # a BOM to drop (or UTF-16 to decode), or line ends to normalize: read_table does them
    try:
        return read_one_row_per_line(view, profile, newlines=_newlines(view), source=path, named_only=named_only)
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
