"""Bank CSV exports, read as a profile declares them (`importers.csv_profile`).

The importer finds the header and the data lines (skipping preamble, junk and
footer lines, keeping each line's number) and lets Polars split the fields
(`importers.csv_table`), then parses whole columns at once (`importers.csv_columns`):
no per-row Python loop.
Each row keeps its source record as the file has it (its line; the lines of a record
with a quoted line break, joined by "\n"), stored as `raw`.
Every value that does not parse becomes a Problem naming the file's real line
and the column, and the import service refuses the file.

Without a profile the importer tries the built-in ones and uses the first whose
header columns the file has (profiles naming more columns are tried first).
Profiles for files without a header are never guessed: name them in the config.
"""

from __future__ import annotations

from pathlib import Path

from importers.base import Extract, Side, read_head
from importers.csv_columns import parse_rows
from importers.csv_header import profile_matches
from importers.csv_profile import CsvProfile, builtin_profile_names, builtin_profiles
from importers.csv_ragged import ragged_problems
from importers.csv_table import read_file_table
from recon.errors import Problem
from recon.model import BANK_EXTRACT

__all__ = ["CsvBankImporter", "detect_profile"]


class CsvBankImporter:
    """The `csv` bank format: a profile given at construction, or a built-in one detected."""

    format = "csv"
    side: Side = "bank"

    def __init__(self, profile: CsvProfile | None = None):
        self.profile = profile

    def identify(self, path: Path) -> bool:
        if self.profile is not None:
            return profile_matches(self.profile, read_head(path, 16384))
        # a known bank's export with another delimiter is claimed too, so that `extract` can say so
        return detect_profile(path) is not None or _near_miss(read_head(path, 16384)) is not None

    def extract(self, path: Path, *, currency: str) -> Extract:
        name = str(path)
        profile = self.profile or detect_profile(path)
        if profile is None:
            near = _near_miss(read_head(path, 16384))
            if near is not None:
                known, delimiter = near
                return _refused(
                    name, None, None,
                    f"this looks like a {known.name} export, but delimited by {_shown(delimiter)} where {known.name} "
                    f"has {_shown(known.delimiter)}: write a profile file with delimiter = {_shown(delimiter)} "
                    "(recon profile guess FILE proposes one)",
                )  # fmt: skip
            return _refused(
                name, None, None,
                "no built-in CSV profile fits this file; name one with profile = ... in the source "
                f"(built-in: {', '.join(builtin_profile_names())}) or write a profile file "
                "(recon profile guess FILE proposes one)",
            )  # fmt: skip
        if self.profile is not None:
            head = read_head(path, 16384)
            other = None if profile_matches(profile, head) else _other_delimiter(profile, head)
            if other is not None:
                return _refused(
                    name, None, None,
                    f"the header is delimited by {_shown(other)}, not by {_shown(profile.delimiter)} as profile "
                    f"{profile.name or '(unnamed)'} says: set delimiter = {_shown(other)} in the profile",
                )  # fmt: skip
        try:
            table = read_file_table(path, profile, named_only=True)
        except OSError as exc:
            return _refused(name, None, None, f"cannot read the file: {exc.strerror}")
        if isinstance(table, Problem):
            return Extract(BANK_EXTRACT.empty_frame(), [table])
        # the records may still be read on another thread: parse_rows takes them when it needs them
        extract = parse_rows(
            name, table.fields, table.lines, table.header_line, profile, currency, records=lambda: table.records
        )
        records = table.records
        if records is None:
            return extract
        ragged = ragged_problems(name, records, table.lines, width=table.width(), delimiter=profile.delimiter,
                                 quote=profile.quote)  # fmt: skip
        # a row with fields missing or one too many has its values in the wrong columns: say that, not what follows
        return Extract(BANK_EXTRACT.empty_frame(), ragged) if ragged else extract


def detect_profile(path: Path) -> CsvProfile | None:
    """The built-in profile whose header the file has; profiles naming more columns are tried first."""
    head = read_head(path, 16384)
    if not head.strip():
        return None
    candidates = [p for p in builtin_profiles() if p.has_header]
    candidates.sort(key=lambda p: -len(p.columns.refs()))
    return next((p for p in candidates if profile_matches(p, head)), None)


_DELIMITERS = (",", ";", "\t", "|")


def _other_delimiter(profile: CsvProfile, head: bytes) -> str | None:
    """Another common delimiter with which the file has the profile's header, if one does."""
    if not profile.has_header:
        return None
    others = (d for d in _DELIMITERS if d != profile.delimiter)
    return next((d for d in others if profile_matches(profile.model_copy(update={"delimiter": d}), head)), None)


def _near_miss(head: bytes) -> tuple[CsvProfile, str] | None:
    """A built-in profile whose header the file has with another delimiter, and that delimiter."""
    if not head.strip():
        return None
    for profile in builtin_profiles():
        delimiter = _other_delimiter(profile, head)
        if delimiter is not None:
            return profile, delimiter
    return None


def _shown(delimiter: str) -> str:
    return '"tab"' if delimiter == "\t" else f'"{delimiter}"'


def _refused(name: str, line: int | None, field: str | None, message: str) -> Extract:
    return Extract(BANK_EXTRACT.empty_frame(), [Problem(name, line, field, message)])
