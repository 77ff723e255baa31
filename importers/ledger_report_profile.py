"""Ledger report profiles: how an accounting system writes its per-account transaction report as CSV.

QuickBooks Online's General Ledger, Xero's Account Transactions and their kin are
one shape: a few preamble lines (the report's title, the company, the period), a
header, then one section per account: a row with the account's name alone, that
account's rows, a total row; a footer at the end. A profile declares that shape::

    title = "Xero Account Transactions"
    title_pattern = "^Account Transactions$"      # a preamble line above the header
    header_pattern = "^\"?Date\"?,\"?Source\"?,"    # the header line
    total_pattern = "^Total (?P<account>.+)$"     # closes the section it names
    skip_rows = ["^(Opening|Closing) Balance$"]   # balance lines: not entries
    date_formats = ["%d %b %Y", "%Y-%m-%d"]
    thousands_sep = ","

    [columns]
    date = "Date"
    description = "Description"
    reference = "Reference"
    debit = "Debit"                               # money into the (bank) account
    credit = "Credit"

Amounts are signed from the bank account's point of view: a debit to the account
(an asset) is money in. A signed `amount` column is read as debit-positive, as
QuickBooks writes it. Built-in profiles live in `importers/ledger_profiles/*.toml`.
"""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from importers.csv_profile import ColumnRef, CsvProfile, ProfileColumns
from recon.errors import ConfigError

__all__ = ["LedgerReportProfile", "ReportColumns", "load_report_profile"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportColumns(_Strict):
    """Which column holds what; `date` and `description` are required, and `amount` or `debit` + `credit`."""

    date: ColumnRef
    description: ColumnRef | list[ColumnRef]
    counterparty: ColumnRef | None = None
    reference: ColumnRef | None = None
    external_id: ColumnRef | None = None
    amount: ColumnRef | None = Field(None, description="signed: a debit to the account positive")
    debit: ColumnRef | None = None
    credit: ColumnRef | None = None

    @model_validator(mode="after")
    def _one_amount_layout(self) -> ReportColumns:
        pair = (self.debit is not None, self.credit is not None)
        if (self.amount is not None and any(pair)) or (self.amount is None and pair != (True, True)):
            raise ValueError("give either amount, or debit and credit")
        return self


class LedgerReportProfile(_Strict):
    """One accounting system's per-account report (see the module docstring)."""

    name: str = ""
    title: str = ""
    title_pattern: str = Field(description="regex: a line above the header names the report")
    header_pattern: str = Field(description="regex: the first line matching it is the header")
    header_example: str = Field("", description="the header as the system writes it, for messages")
    total_pattern: str = Field(
        description="regex on a row's first non-empty cell: the row totals a section; group 'account' names it"
    )
    skip_rows: list[str] = Field(default_factory=list, description="regexes on the first non-empty cell")
    drop_lines_matching: list[str] = Field(default_factory=list, description="regexes of footer/junk lines")
    date_formats: list[str] = Field(min_length=1)
    thousands_sep: str | None = None
    amount_strip: str = ""
    columns: ReportColumns

    @field_validator("title_pattern", "header_pattern", "total_pattern")
    @classmethod
    def _valid_pattern(cls, value: str) -> str:
        _compile(value)
        return value

    @field_validator("skip_rows", "drop_lines_matching")
    @classmethod
    def _valid_patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            _compile(pattern)
        return value

    def csv_profile(self) -> CsvProfile:
        """The bank-CSV reading of the same file: how the lines split into fields and how values parse.

        A bank CSV's credit is money in; a ledger's debit is: the pair is handed over crossed.
        """
        cols = self.columns
        return CsvProfile(
            name=self.name, title=self.title, thousands_sep=self.thousands_sep, amount_strip=self.amount_strip,
            header_pattern=self.header_pattern, drop_lines_matching=self.drop_lines_matching,
            date_formats=self.date_formats,
            columns=ProfileColumns(
                date=cols.date, description=cols.description, payee=cols.counterparty, reference=cols.reference,
                external_id=cols.external_id, amount=cols.amount, debit=cols.credit, credit=cols.debit,
            ),
        )  # fmt: skip


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"'{pattern}' is not a valid regular expression: {exc}") from None


def _builtin_dir() -> Path:
    return Path(str(resources.files("importers") / "ledger_profiles"))


@functools.cache
def load_report_profile(ref: str) -> LedgerReportProfile:
    """A built-in report profile by name ("quickbooks", "xero"), or a profile file by path."""
    builtin = _builtin_dir() / f"{ref}.toml"
    path = builtin if builtin.is_file() else Path(ref).expanduser()
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in _builtin_dir().glob("*.toml")))
        raise ConfigError(f"ledger report profile '{ref}': neither a built-in one ({names}) nor a file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the profile: {exc}") from None
    data.setdefault("name", path.stem)
    try:
        return LedgerReportProfile.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}: key '{'.'.join(str(p) for p in err['loc']) or '(profile)'}': "
            + str(err["msg"]).removeprefix("Value error, ")
            for err in exc.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
