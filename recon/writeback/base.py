"""The sink protocol: what write-back asks of a book, whatever system keeps it.

A sink writes approved results into the user's books: it marks matched entries
cleared, adds approved new entries and states the bank's closing balance. It
works in two steps so that `--dry-run` and the write-back log can sit between
them:

- `plan(request)` reads the book as it is now and decides, item by item, whether
  the book already holds it (`present`: found by its bank id, not only by the
  log), needs it (`change`), or cannot take it (`skipped`, with the reason). It
  changes nothing, and gives a preview (a unified diff for text books).
- `apply(plan)` makes the planned changes, all of them or none per file.

Every write carries the bank's id (`bank-id`), so a second write-back of the same
items finds them present and changes nothing. Text books are written by
`recon.writeback.textfile` (edit lines in place, atomic replace). A GnuCash book
(SQLite) or a REST system such as Xero fits the same two steps: `plan` queries
for the bank id, `apply` writes in one database transaction or one API batch,
carrying its operations in `WritePlan.operations`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal, Protocol

from recon.errors import RunError

__all__ = [
    "ALL_ACTIONS",
    "Action",
    "BookError",
    "ClearRequest",
    "ClosingBalance",
    "FileChange",
    "NewEntry",
    "PlannedItem",
    "Sink",
    "WritePlan",
    "WritebackError",
    "WritebackRequest",
]

Action = Literal["clear", "add", "balance"]
ALL_ACTIONS: frozenset[Action] = frozenset({"clear", "add", "balance"})
PlanStatus = Literal["change", "present", "skipped"]


class WritebackError(RunError):
    """A book could not be written; nothing the plan names was changed, and the next run tries again."""


class BookError(WritebackError):
    """The book itself is wrong (its own tool refuses it, or it is not UTF-8): the user fixes it; exit code 2."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class ClearRequest:
    """An approved match, seen from one ledger entry: mark it cleared and tag it with the bank ids.

    Attributes:
      ledger_entry_id: `ledger_entries.entry_id` of the entry to mark.
      bank_txn_ids: the bank rows it is matched with (several for an N:1 match).
      bank_ids: what the book records for them (`bank-id`), in the same order.
    """

    ledger_entry_id: str
    bank_txn_ids: tuple[str, ...]
    bank_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An approved entry to add to the books for a bank row the books lack (a fee, interest, a split, a transfer).

    The bank account's posting is `amount_minor`; the other side is either one account
    (`counter_account`) or several (`counter_postings`, a rule's split). Sinks write
    `postings`, which says both the same way.

    Attributes:
      bank_txn_id: the bank row it books.
      bank_id: what the book records for it (`bank-id`): the bank's own id, else the txn_id.
      date: the entry's date (the bank's posted date).
      amount_minor: signed, from the bank account's point of view.
      currency: ISO 4217 code.
      payee: who was paid or paid, if known.
      narration: what it was (the bank's description).
      counter_account: the GL account of the other side; None books it to an 'Uncategorized' account.
      counter_postings: (GL account, amount_minor) of each other side, summing exactly to -amount_minor;
        empty when the other side is `counter_account` alone.
      held_because: set when the row gets no entry of its own (the inflow of a transfer between two of
        recon's accounts, booked from the outflow side): write-back does not hand it to the sink and logs
        the item skipped with this note.
      transfer_to: the id of the recon account the money went to, when the counter account is another bank
        account recon is fed (a transfer between banks), which some systems book with their own kind of entry
        (Xero's bank transfers).
    """

    bank_txn_id: str
    bank_id: str
    date: date
    amount_minor: int
    currency: str
    payee: str | None
    narration: str
    counter_account: str | None = None
    counter_postings: tuple[tuple[str, int], ...] = ()
    held_because: str | None = None
    transfer_to: str | None = None

    def __post_init__(self) -> None:
        if self.counter_postings and sum(a for _, a in self.counter_postings) != -self.amount_minor:
            raise ValueError(
                f"bank row {self.bank_txn_id}: the counter postings sum to "
                f"{sum(a for _, a in self.counter_postings)}, not {-self.amount_minor} (minor units)"
            )

    @property
    def other_account(self) -> str:
        """The counter account, or 'Income:Uncategorized' / 'Expenses:Uncategorized' by the sign."""
        if self.counter_account:
            return self.counter_account
        return "Income:Uncategorized" if self.amount_minor > 0 else "Expenses:Uncategorized"

    @property
    def postings(self) -> tuple[tuple[str, int], ...]:
        """The other side as (GL account, amount_minor) pairs, one or several; they sum to -amount_minor."""
        return self.counter_postings or ((self.other_account, -self.amount_minor),)


@dataclass(frozen=True, slots=True)
class ClosingBalance:
    """The bank's closing balance of the account at the end of `as_of`."""

    as_of: date
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class WritebackRequest:
    """Everything to write into one book for one account."""

    account_id: str
    ledger_account: str
    currency: str
    clears: tuple[ClearRequest, ...] = ()
    new_entries: tuple[NewEntry, ...] = ()
    closing: ClosingBalance | None = None


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """What the sink will do (or found done) for one requested item.

    Attributes:
      action: clear | add | balance.
      key: the item's key in the write-back log (entry id, bank txn id, account@date).
      status: change (to be written), present (the book has it already) or skipped.
      location: where it is or will be in the book (`file:line`), if known.
      note: why it was skipped, in plain words.
    """

    action: Action
    key: str
    status: PlanStatus
    location: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FileChange:
    """A text file's content before (None: the file is new) and after the write."""

    path: Path
    before: str | None
    after: str
    mode_like: Path | None = None
    """A new file gets this file's permissions (the book it belongs to)."""


@dataclass(slots=True)
class WritePlan:
    """What `apply` will do to one target, and how it looks."""

    target: str
    items: list[PlannedItem] = field(default_factory=list)
    file_changes: list[FileChange] = field(default_factory=list)
    operations: list[object] = field(default_factory=list)
    preview: str = ""

    @property
    def changes(self) -> list[PlannedItem]:
        return [i for i in self.items if i.status == "change"]


class Sink(Protocol):
    """One book that write-back can write to."""

    target: str
    """How the log names the book: its file relative to the config's folder, or the system and id."""

    actions: frozenset[Action]
    """What the book can take (`ALL_ACTIONS` for the text books); write-back asks for nothing else."""

    def plan(self, request: WritebackRequest) -> WritePlan:
        """Read the book, decide per item; change nothing."""
        ...

    def apply(self, plan: WritePlan) -> None:
        """Write the plan's changes, or raise `WritebackError` having changed nothing the plan names."""
        ...
