"""The header line of a bank CSV: where it is, the column names it gives, and whether a profile fits it.

The header is the line after the profile's `skip_lines`, or the first line matching
its `header_pattern` among the next `HEADER_SEARCH_LINES`. Its names are read by
Polars with the profile's delimiter and quote, stripped. A profile fits a file when
every column it names by name is in the header, in any case; that is how a
built-in profile is detected. A profile without a header, or naming no column by
name, never fits a file by its header. Nothing here reads the data lines.
"""

from __future__ import annotations

import re

import polars as pl

from importers.csv_profile import CsvProfile
from importers.text_decoding import has_utf16_bom, is_utf8

__all__ = ["HEADER_SEARCH_LINES", "column_position", "header_index", "named_columns", "profile_matches", "split_lines"]

HEADER_SEARCH_LINES = 60
"""How many lines after `skip_lines` are searched for a `header_pattern`."""


def split_lines(text: str) -> list[str]:
    """The lines of the text, split at any line end (\\r\\n, \\n or a lone \\r)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def header_index(lines: list[str], profile: CsvProfile, *, count: int | None = None) -> int | None:
    """Index of the header among the first lines of the file (`count` of them in all, default all given)."""
    if profile.header_pattern is None:
        return profile.skip_lines if profile.skip_lines < (len(lines) if count is None else count) else None
    pattern = re.compile(profile.header_pattern)
    window = lines[profile.skip_lines : profile.skip_lines + HEADER_SEARCH_LINES]
    return next((profile.skip_lines + i for i, line in enumerate(window) if pattern.search(line)), None)


def _header_names(line: str, profile: CsvProfile) -> list[str]:
    """The column names of a header line, stripped of quotes and surrounding spaces."""
    try:
        frame = pl.read_csv(
            line.encode(), has_header=False, separator=profile.delimiter, quote_char=profile.quote,
            infer_schema=False, truncate_ragged_lines=True,
        )  # fmt: skip
    except pl.exceptions.PolarsError:
        return []
    return [(v or "").strip() for v in frame.row(0)] if frame.height else []


def column_position(names: list[str], ref: str) -> int | None:
    """Where the column a profile names by `ref` is among a file's column `names`: the exact
    name (surrounding spaces aside) first, else the same name in any case; None if absent."""
    wanted = ref.strip()
    exact = next((i for i, name in enumerate(names) if name == wanted), None)
    if exact is not None:
        return exact
    return next((i for i, name in enumerate(names) if name.lower() == wanted.lower()), None)


def _without_bom(encoding: str) -> str:
    """The codec that reads `encoding` with a UTF-8 byte order mark dropped: it is not part of the first name."""
    return "utf-8-sig" if is_utf8(encoding) else encoding


def profile_matches(profile: CsvProfile, head: bytes) -> bool:
    """Whether the start of a file has the header this profile expects (UTF-16 text read as such)."""
    if not profile.has_header:
        return False
    # the head is the file's first bytes: its last line may be cut short, so it is left out
    codec = "utf-16" if has_utf16_bom(head) else _without_bom(profile.encoding)
    lines = split_lines(head.decode(codec, errors="replace"))[:-1] or [""]
    index = header_index(lines, profile)
    if index is None:
        return False
    names = _header_names(lines[index], profile)
    wanted = [ref for ref in profile.columns.refs().values() if isinstance(ref, str)]
    return bool(wanted) and all(column_position(names, ref) is not None for ref in wanted)


def named_columns(profile: CsvProfile, header: str) -> list[int] | None:
    """The 0-based indices of the header's columns the profile names, as `parse_rows` finds them.

    None (read them all) when a column is named by position (it counts every column),
    a name is not in the header (`parse_rows` then lists the file's columns) or every
    column is named.
    """
    refs = profile.columns.refs().values()
    if any(isinstance(ref, int) for ref in refs):
        return None
    names = _header_names(header, profile)
    positions = {column_position(names, str(ref)) for ref in refs}
    if None in positions:
        return None
    wanted = {p for p in positions if p is not None}
    return sorted(wanted) if len(wanted) < len(names) else None
