"""The importer protocol: every source format is read through these few methods.

An importer never writes to the store and never raises for bad data: it returns
the rows it could read (in the normalized extract schema of `recon.model`), the
statement balances the file states, and a `Problem` for every row or field it
could not read. The import service refuses a file with problems as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import polars as pl

from recon.errors import Problem

Side = Literal["bank", "ledger"]


@dataclass(frozen=True, slots=True)
class StatementBalance:
    """A balance the statement reports.

    Attributes:
      kind: "opening", "closing" or "available".
      as_of: the date the balance is for.
      amount_minor: the balance in minor units.
      currency: ISO 4217 code.
      file_account: the account number as the file writes it, where the file names one.
      statement_seq: 1-based position of the statement among the file's statements of the same account: two
        statements of one day (an intraday one and the end-of-day one) are kept apart, and the later one's
        closing is the day's.
      statement_id: the bank's id of the statement, where the file gives one (CAMT Stmt/Id, MT940 :28C:).
    """

    kind: str
    as_of: date
    amount_minor: int
    currency: str
    file_account: str | None = None
    statement_seq: int = 1
    statement_id: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    """A record of the file that corrects or deletes an earlier transaction (OFX CORRECTACTION).

    Attributes:
      action: "replace" (the row `successor_external_id` takes its place) or "delete".
      external_id: the source's id of the transaction corrected (OFX CORRECTFITID), in this file or an earlier one.
      successor_external_id: replace: the id of the row that replaces it (its FITID); None for delete.
      source_line: 1-based line of the correcting record.
      file_account: the account number as the file writes it, where the file names one.
    """

    action: Literal["replace", "delete"]
    external_id: str
    successor_external_id: str | None
    source_line: int | None
    file_account: str | None = None


@dataclass(slots=True)
class Extract:
    """What an importer read from one file.

    Attributes:
      rows: a frame in `BANK_EXTRACT` or `LEDGER_EXTRACT` schema; bank importers of formats that can hold
        several accounts add a `file_account` column (the account number as the file writes it), by which
        the import service keeps the rows of the configured account.
      problems: everything it could not read, each with its location.
      balances: statement balances stated by the file.
      file_accounts: account numbers the file names, for routing and messages.
      corrections: transactions of earlier files this file corrects or deletes, in file order; `rows`
        already has the corrections within the file applied.
      notes: what the import report should warn about without refusing the file ("file:line: ...").
    """

    rows: pl.DataFrame
    problems: list[Problem] = field(default_factory=list)
    balances: list[StatementBalance] = field(default_factory=list)
    file_accounts: list[str] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Importer(Protocol):
    """One source format."""

    format: str
    side: Side

    def identify(self, path: Path) -> bool:
        """Whether the file is of this format, by its content (not only its name)."""
        ...

    def extract(self, path: Path, *, currency: str) -> Extract:
        """Read the file; `currency` is the account's, for formats that do not state one."""
        ...


@runtime_checkable
class SectionedReport(Protocol):
    """A ledger format with a section per account in one file (QuickBooks', Xero's reports).

    The import service asks it for the importer of one account's section (the config's
    `ledger_account`), which refuses a file without that section and names the sections it has.
    Books that label every entry with its account (beancount, GnuCash) need no such step: the
    service keeps the entries whose `ledger_account` is the config's.
    """

    def for_account(self, ledger_account: str) -> Importer:
        """The same format, reading only the section of `ledger_account`."""
        ...


def read_head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of a file, for `identify`; empty when the file cannot be read."""
    try:
        with path.open("rb") as fh:
            return fh.read(size)
    except OSError:
        return b""
