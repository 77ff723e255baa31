"""Bank CSV exports, read as a profile declares them (`importers.csv_profile`).

The importer finds the header and the data lines (skipping preamble, junk and
footer lines, keeping each line's number), lets Polars split the fields, then
parses whole columns at once (`importers.csv_columns`): no per-row Python loop.
Every value that does not parse becomes a Problem naming the file's real line
and the column, and the import service refuses the file.

Without a profile the importer tries the built-in ones and uses the first whose
header columns the file has (profiles naming more columns are tried first).
Profiles for files without a header are never guessed: name them in the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from importers.base import Extract, Side, read_head
from importers.csv_columns import parse_rows
from importers.csv_profile import CsvProfile, builtin_profile_names, builtin_profiles
from recon.errors import Problem
from recon.model import BANK_EXTRACT

__all__ = ["CsvBankImporter", "detect_profile", "header_names", "profile_matches"]

_HEADER_SEARCH_LINES = 60


@dataclass(frozen=True, slots=True)
class CsvTable:
    """The fields of the data rows as text, with each row's line in the file.

    Attributes:
      fields: one String column per CSV column, named after the header (stripped).
      lines: the 1-based line where each row starts, same length as `fields`.
      header_line: the line of the header, or None for files without one.
    """

    fields: pl.DataFrame
    lines: pl.Series
    header_line: int | None


class CsvBankImporter:
    """The `csv` bank format: a profile given at construction, or a built-in one detected."""

    format = "csv"
    side: Side = "bank"

    def __init__(self, profile: CsvProfile | None = None):
        self.profile = profile

    def identify(self, path: Path) -> bool:
        if self.profile is not None:
            return profile_matches(self.profile, read_head(path, 16384))
        return detect_profile(path) is not None

    def extract(self, path: Path, *, currency: str) -> Extract:
        name = str(path)
        profile = self.profile or detect_profile(path)
        if profile is None:
            return _refused(
                name, None, None,
                "no built-in CSV profile fits this file; name one with profile = ... in the source "
                f"(built-in: {', '.join(builtin_profile_names())}) or write a profile file "
                "(recon profile guess FILE proposes one)",
            )  # fmt: skip
        try:
            data = path.read_bytes()
        except OSError as exc:
            return _refused(name, None, None, f"cannot read the file: {exc.strerror}")
        table = read_table(name, data, profile)
        if isinstance(table, Problem):
            return Extract(BANK_EXTRACT.empty_frame(), [table])
        return parse_rows(name, table.fields, table.lines, table.header_line, profile, currency)


def detect_profile(path: Path) -> CsvProfile | None:
    """The built-in profile whose header the file has; profiles naming more columns are tried first."""
    head = read_head(path, 16384)
    if not head.strip():
        return None
    candidates = [p for p in builtin_profiles() if p.has_header]
    candidates.sort(key=lambda p: -len(p.columns.refs()))
    return next((p for p in candidates if profile_matches(p, head)), None)


def _refused(name: str, line: int | None, field: str | None, message: str) -> Extract:
    return Extract(BANK_EXTRACT.empty_frame(), [Problem(name, line, field, message)])


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _header_index(lines: list[str], profile: CsvProfile) -> int | None:
    if profile.header_pattern is None:
        return profile.skip_lines if profile.skip_lines < len(lines) else None
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


def read_table(name: str, data: bytes, profile: CsvProfile) -> CsvTable | Problem:
    """Split the file into header and data fields per the profile, or say why it cannot be."""
    encoding = "utf-8-sig" if profile.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else profile.encoding
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return Problem(
            name, line, None,
            f"not {profile.encoding} text (byte {data[exc.start]:#x}); set encoding in the profile (e.g. latin-1)",
        )  # fmt: skip
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
    junk = pl.col("text").str.replace_all(r"[\s" + re.escape(profile.delimiter + profile.quote) + r"]", "") == ""
    for pattern in profile.drop_lines_matching:
        junk = junk | pl.col("text").str.contains(pattern)
    body = body.filter(~junk)
    header_text = lines[header_index] + "\n" if header_index is not None else ""
    csv_text = header_text + "\n".join(body["text"].to_list())
    try:
        fields = pl.read_csv(
            csv_text.encode(), has_header=profile.has_header, separator=profile.delimiter,
            quote_char=profile.quote, infer_schema=False, truncate_ragged_lines=True,
            raise_if_empty=False,
        )  # fmt: skip
    except pl.exceptions.PolarsError as exc:
        return Problem(
            name, None, None, f"not readable as CSV with delimiter '{profile.delimiter}': {str(exc).splitlines()[0]}"
        )
    fields = fields.rename({c: c.strip() for c in fields.columns if c.strip() not in fields.columns})
    header_line = header_index + 1 if header_index is not None else None
    if fields.width == 0 or fields.height == 0:
        return CsvTable(fields, pl.Series("line", [], dtype=pl.Int64), header_line)
    kept_lines = body["line"].cast(pl.Int64)
    if fields.height == kept_lines.len():
        return CsvTable(fields, kept_lines, header_line)  # one line per row: the common case
    # a quoted field holds line breaks: each row starts after all lines of the rows before it
    lines_per_row = pl.lit(1, dtype=pl.Int64) + pl.sum_horizontal(
        pl.col(c).fill_null("").str.count_matches("\n") for c in fields.columns
    )
    starts = fields.select((lines_per_row.cum_sum() - lines_per_row).alias("i"))["i"]
    row_lines = kept_lines.gather(starts)
    return CsvTable(fields, row_lines, header_line)
