"""Per-account ledger reports (QuickBooks Online, Xero) as the book side, read as a profile declares them.

The file is split into fields like a bank CSV (`importers.csv_table.read_table`:
preamble and footer skipped, each row keeping its line), then the rows are sorted
into their account sections: a row with a name alone in the first column opens a
section, a total row closes it (sections may nest: QuickBooks lists sub-accounts
inside their parent). Only the rows of the bank's account become ledger rows,
parsed whole columns at a time (`importers.csv_columns.parse_rows`), so a bad date
or amount is a Problem naming its line and column.

Which section is the bank's: the importer is told the config's `ledger_account`
(`for_account`, the `importers.base.SectionedReport` protocol), matched without
regard to case, and by its code alone when the setting is a code ("1000", "1000
Checking" for "1000 · Checking" or "Checking (1000)"); a report without that
section is refused with the sections it has.
Without an account, every section's rows are read, labelled with their section.

Identity: the reports carry no line id, so `external_id` stays empty and the
import service hashes date, amount, description and occurrence (DESIGN.md). The
running balance is never part of a row: a back-dated entry must not renew the ids
of every row after it.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from importers.base import Extract, Side, read_head
from importers.csv_columns import parse_rows
from importers.csv_fields import CsvTable
from importers.csv_header import profile_matches
from importers.csv_ragged import ragged_problems
from importers.csv_table import read_table
from importers.ledger_report_profile import LedgerReportProfile, load_report_profile
from recon.errors import Problem
from recon.model import LEDGER_EXTRACT

__all__ = ["LedgerReportImporter", "section_matches"]

_HEAD_BYTES = 16384
_CODE_FIRST = re.compile(r"^(?P<code>\d[\w.]*)(?:\s*[-·:]\s*|\s+)(?P<name>\S.*)$")  # 1000 Checking, 090 - Bank
_CODE_LAST = re.compile(r"^(?P<name>.*\S)\s*\((?P<code>\d[\w.]*)\)$")  # Checking (1000)
_CODE_ONLY = re.compile(r"^\d[\w.]*$")


class LedgerReportImporter:
    """A ledger report format; subclasses name the built-in profile and the config's format."""

    format = ""
    profile_name = ""
    side: Side = "ledger"

    def __init__(self, ledger_account: str | None = None):
        self.ledger_account = ledger_account

    @property
    def profile(self) -> LedgerReportProfile:
        return load_report_profile(self.profile_name)

    def for_account(self, ledger_account: str | None) -> LedgerReportImporter:
        """The same format, reading only the section of `ledger_account` (the config's, for the account)."""
        return type(self)(ledger_account)

    def identify(self, path: Path) -> bool:
        head = read_head(path, _HEAD_BYTES)
        if not profile_matches(self.profile.csv_profile(), head):
            return False
        title = re.compile(self.profile.title_pattern)
        header = re.compile(self.profile.header_pattern)
        for line in head.decode("utf-8-sig", errors="replace").splitlines():
            if header.search(line):
                return False  # the header came first: no report title above it
            if title.search(line.strip().strip(",").strip('"').strip()):
                return True
        return False

    def extract(self, path: Path, *, currency: str) -> Extract:
        name, profile = str(path), self.profile
        try:
            data = path.read_bytes()
        except OSError as exc:
            return _refused(name, None, None, f"cannot read the file: {exc.strerror}")
        table = read_table(name, data, profile.csv_profile())
        if isinstance(table, Problem):
            if table.message.startswith("header not found"):
                table = Problem(name, None, None, f"no {profile.title} header: expected a line like "
                                f"'{profile.header_example}'")  # fmt: skip
            return Extract(LEDGER_EXTRACT.empty_frame(), [table])
        fields = table.fields.with_columns(pl.Series("_line", table.lines, dtype=pl.Int64))
        rows = _sections(fields, profile)
        found = rows.filter(pl.col("_section").is_not_null())["_section"].unique(maintain_order=True).to_list()
        label = pl.col("_section")
        if self.ledger_account is not None and found:
            chosen = _chosen_sections(found, self.ledger_account)
            if not chosen:
                return _refused(name, table.header_line, None,
                                f"no section of account '{self.ledger_account}' (ledger_account) in this report; "
                                f"its sections: {', '.join(found)}")  # fmt: skip
            rows = rows.filter(pl.col("_section").is_in(chosen))
            label = pl.lit(self.ledger_account)
        entry_records = _records_at(rows["_line"], table)
        if entry_records is not None:
            csv_profile = profile.csv_profile()
            ragged = ragged_problems(name, entry_records, rows["_line"], width=table.width(),
                                     delimiter=csv_profile.delimiter, quote=csv_profile.quote)  # fmt: skip
            if ragged:
                return Extract(LEDGER_EXTRACT.empty_frame(), ragged)
        labels = rows.with_columns(label.alias("ledger_account"))["ledger_account"]
        fields = rows.drop("_section", "_line")
        parsed = parse_rows(
            name, fields, rows["_line"], table.header_line, profile.csv_profile(), currency,
            records=lambda: entry_records,
        )  # fmt: skip
        out = parsed.rows.with_columns(labels.alias("ledger_account"), pl.col("payee").alias("counterparty"))
        out = out.with_columns(pl.coalesce("reference", "check_number").alias("reference"))
        return Extract(LEDGER_EXTRACT.conform(out), parsed.problems)


def _records_at(lines: pl.Series, table: CsvTable) -> pl.Series | None:
    """The records of the rows starting at `lines` (each entry's line as the file has it), for `raw`."""
    records = table.records
    if records is None:
        return None
    by_line = pl.DataFrame({"_line": table.lines, "raw": records})
    return lines.to_frame("_line").join(by_line, on="_line", how="left", maintain_order="left")["raw"]


def _refused(name: str, line: int | None, field: str | None, message: str) -> Extract:
    return Extract(LEDGER_EXTRACT.empty_frame(), [Problem(name, line, field, message)])


def _sections(fields: pl.DataFrame, profile: LedgerReportProfile) -> pl.DataFrame:
    """The entry rows, each with `_section`: the account section it stands in (null outside any)."""
    columns = [c for c in fields.columns if c != "_line"]
    cell = [pl.col(c).fill_null("").str.strip_chars() for c in columns]
    first_text = pl.coalesce([pl.when(c != "").then(c) for c in cell]).fill_null("")
    skip = pl.lit(False)
    for pattern in profile.skip_rows:
        skip = skip | first_text.str.contains(pattern)
    total = first_text.str.contains(profile.total_pattern)
    alone = (cell[0] != "") & pl.all_horizontal([c == "" for c in cell[1:]] or [pl.lit(True)])
    marked = fields.with_columns(
        first_text.alias("_first"), total.alias("_total"), (alone & ~total & ~skip).alias("_opens"), skip.alias("_skip")
    )
    # sections and totals are few (one of each per account): a stack walks them, the rows are filled in by column
    current: list[str] = []
    after: dict[int, str] = {}
    total_pattern = re.compile(profile.total_pattern)
    for line, first, opens, closes in (
        marked.filter(pl.col("_opens") | pl.col("_total")).select("_line", "_first", "_opens", "_total").iter_rows()
    ):
        if opens:
            current.append(first)
        elif closes and current:
            match = total_pattern.search(first)
            named = (match.groupdict().get("account") or "").strip().lower() if match else ""
            names = [s.lower() for s in current]
            del current[names.index(named) if named in names else len(current) - 1 :]
        after[line] = current[-1] if current else ""
    section = pl.col("_line").replace_strict(after, default=None, return_dtype=pl.String).forward_fill()
    return (
        marked.with_columns(pl.when(section != "").then(section).alias("_section"))
        .filter(~pl.col("_opens") & ~pl.col("_total") & ~pl.col("_skip"))
        .drop("_first", "_opens", "_total", "_skip")
    )


def _parts(account: str) -> tuple[str | None, str]:
    """(code, name) of an account as a report or a config writes it, lower-cased."""
    text = " ".join(account.split()).lower()
    if _CODE_ONLY.match(text):
        return text, ""
    for pattern in (_CODE_LAST, _CODE_FIRST):
        if m := pattern.match(text):
            return m.group("code"), m.group("name").strip()
    return None, text


def section_matches(section: str, ledger_account: str) -> bool:
    """Whether a report's section is the account the config names: by code when it gives one, else by name."""
    code, name = _parts(ledger_account)
    section_code, section_name = _parts(section)
    if code is not None:
        return code == section_code and (not name or name == section_name)
    return name in (section_name, " ".join(section.split()).lower())


def _chosen_sections(found: list[str], ledger_account: str) -> list[str]:
    exact = [s for s in found if " ".join(s.split()).lower() == " ".join(ledger_account.split()).lower()]
    return exact or [s for s in found if section_matches(s, ledger_account)]
