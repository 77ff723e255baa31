"""What the beancount and the journal sinks share: find entries, plan edits, add a recon file.

A text sink plans from the book as it is on disk now, never from line numbers in
the store (they move as soon as a line is added above them): it reads the book
with the same importer the import used and computes the same entry ids, so a
`ledger_entry_id` leads to the posting's current file and line.

New entries and closing balances go to a file of their own beside the main book
(`recon.beancount`, `recon.journal`), included once from the end of the main
file; recon only ever appends to it. The recon file is written before the main
file, so a kill between the two leaves at worst an unincluded recon file, which
the next run includes (an include of a missing file would break the book).

A closing balance is written only when the book agrees with it (the book's
balance at that date, after this write, equals the bank's): an assertion that
fails would break `bean-check` / `hledger check` for a reason the user may not
control (an outstanding check). Otherwise it is skipped with the difference, and
tried again on the next run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path, PurePosixPath

import polars as pl

from importers.book_rows import BookPosting, book_extract, currency_of
from recon.model import assign_row_ids
from recon.money import format_minor, to_minor
from recon.writeback.base import (
    ALL_ACTIONS,
    BookError,
    ClosingBalance,
    FileChange,
    NewEntry,
    PlannedItem,
    WritebackRequest,
    WritePlan,
)
from recon.writeback.textfile import LineEdits, read_text, unified_diff, write_changes

__all__ = ["BookState", "TextBookSink"]

_BANK_ID_TEXT = re.compile(r'bank-id:[ \t]*"?([^"\r\n,;]*)')

RECON_FILE_HEADER = [
    "; Written by recon write-back: entries for bank rows the books lacked, and the bank's closing balances.",
    "; recon only appends to this file; edit or delete what it wrote as you like.",
]


@dataclass(slots=True)
class BookState:
    """A book as read for planning.

    Attributes:
      postings: every posting with an amount, ordered as the importer orders them.
      balance_postings: the postings that make up account balances (beancount adds its padding).
      problems: what the book's own reader finds wrong with it, as text with file and line.
      opened: accounts the book opens (beancount), with the date; empty where opening is not needed.
    """

    postings: list[BookPosting]
    balance_postings: list[BookPosting]
    problems: list[str] = field(default_factory=list)
    opened: dict[str, date] = field(default_factory=dict)


@dataclass(slots=True)
class _Work:
    """A plan being made: its items, the edits of each file it touches, the lines for the recon file."""

    plan: WritePlan
    edits: dict[Path, LineEdits] = field(default_factory=dict)
    appended: list[str] = field(default_factory=list)

    def edits_of(self, path: Path) -> LineEdits:
        if path not in self.edits:
            self.edits[path] = LineEdits(read_text(path))
        return self.edits[path]


class TextBookSink:
    """A book in text files. Subclasses say how to read it and how its lines are written."""

    recon_file_name = "recon.txt"
    actions = ALL_ACTIONS
    assertions_in_file_order = False
    """ledger-cli checks balance assertions in file order, not date order: entries after the date must not exist."""

    def __init__(self, book: Path, *, target: str):
        self.book = book.resolve()
        self.target = target
        self.recon_file = self.book.parent / self.recon_file_name

    # --- what each format defines -------------------------------------------------------------
    def read_book(self) -> BookState:
        raise NotImplementedError

    def clear_posting(self, edits: LineEdits, posting: BookPosting, bank_ids: tuple[str, ...]) -> None:
        raise NotImplementedError

    def entry_lines(self, entry: NewEntry, request: WritebackRequest, state: BookState) -> list[str]:
        raise NotImplementedError

    def balance_lines(self, closing: ClosingBalance, request: WritebackRequest, state: BookState) -> list[str]:
        raise NotImplementedError

    def include_line(self) -> str:
        raise NotImplementedError

    def is_include_of_recon_file(self, line: str) -> bool:
        raise NotImplementedError

    # --- planning ------------------------------------------------------------------------------
    def plan(self, request: WritebackRequest) -> WritePlan:
        state = self.read_book()
        if state.problems:
            shown = "\n  ".join(state.problems[:10])
            raise BookError(f"{self.book}: the book has errors; fix them before write-back:\n  {shown}")
        work = _Work(WritePlan(self.target))
        self._plan_clears(work, state, request)
        added = self._plan_new_entries(work, state, request)
        if request.closing is not None:
            self._plan_balance(work, state, request, added)
        self._plan_recon_file(work)
        plan = work.plan
        plan.file_changes = self._ordered_changes(work.edits)
        plan.preview = "".join(unified_diff(c, label=self._label(c.path)) for c in plan.file_changes)
        return plan

    def _plan_clears(self, work: _Work, state: BookState, request: WritebackRequest) -> None:
        by_id = self.postings_by_entry_id(state, request)
        moved: list[tuple[int, Path, int]] = []  # (item, file, line before the edit): located once all are made
        for clear in request.clears:
            key = clear.ledger_entry_id
            posting = by_id.get(key)
            if posting is None:
                note = "the entry is no longer in the book (changed or deleted since it was imported)"
                work.plan.items.append(PlannedItem("clear", key, "skipped", None, note))
                continue
            where = f"{self._label(posting.file)}:{posting.posting_line}"
            has_ids = set(clear.bank_ids) <= set(posting.bank_ids)
            if has_ids and posting.cleared:
                work.plan.items.append(PlannedItem("clear", key, "present", where))
            elif posting.bank_ids and not has_ids:
                note = f"the entry already carries bank-id {' '.join(posting.bank_ids)}; left as it is"
                work.plan.items.append(PlannedItem("clear", key, "skipped", where, note))
            else:
                self.clear_posting(work.edits_of(posting.file), posting, clear.bank_ids)
                work.plan.items.append(PlannedItem("clear", key, "change", where))
                moved.append((len(work.plan.items) - 1, posting.file, posting.posting_line))
        for index, path, line in moved:
            location = f"{self._label(path)}:{work.edits[path].line_after_edit(line)}"
            work.plan.items[index] = replace(work.plan.items[index], location=location)

    def _plan_new_entries(self, work: _Work, state: BookState, request: WritebackRequest) -> list[NewEntry]:
        known_ids = {b for p in state.postings if p.account == request.ledger_account for b in p.bank_ids}
        known_ids |= self._ids_in_recon_file()  # also when a kill left it written but not yet included
        where = self._label(self.recon_file)
        added: list[NewEntry] = []
        for entry in request.new_entries:
            if entry.bank_id in known_ids:
                work.plan.items.append(PlannedItem("add", entry.bank_txn_id, "present", where))
                continue
            work.appended += ["", *self.entry_lines(entry, request, state)]
            added.append(entry)
            known_ids.add(entry.bank_id)
            work.plan.items.append(PlannedItem("add", entry.bank_txn_id, "change", where))
        return added

    def _plan_balance(self, work: _Work, state: BookState, request: WritebackRequest, added: list[NewEntry]) -> None:
        closing = request.closing
        assert closing is not None
        lines = self.balance_lines(closing, request, state)
        key = f"{request.account_id}@{closing.as_of.isoformat()}"
        where = self._label(self.recon_file)
        written = read_text(self.recon_file).splitlines() if self.recon_file.exists() else []
        if all(line in written for line in lines if line.strip()):
            work.plan.items.append(PlannedItem("balance", key, "present", where))
        elif disagreement := self._disagreement(state, request, added):
            work.plan.items.append(PlannedItem("balance", key, "skipped", None, disagreement))
        else:
            work.appended += ["", *lines]
            work.plan.items.append(PlannedItem("balance", key, "change", where))

    def _plan_recon_file(self, work: _Work) -> None:
        """Append to the recon file (made when missing), and include it from the main file once."""
        exists = self.recon_file.exists()
        if work.appended:
            if exists:
                work.edits_of(self.recon_file).append(work.appended)
            else:
                work.edits[self.recon_file] = LineEdits("")
                work.edits[self.recon_file].append(RECON_FILE_HEADER + work.appended)
        if exists or work.appended:
            main = work.edits_of(self.book)
            if not any(self.is_include_of_recon_file(line) for line in main.original.splitlines()):
                main.append(["", self.include_line()])

    def apply(self, plan: WritePlan) -> None:
        write_changes(plan.file_changes)

    # --- helpers -------------------------------------------------------------------------------
    def postings_by_entry_id(self, state: BookState, request: WritebackRequest) -> dict[str, BookPosting]:
        """The book's postings of the account, keyed by the entry ids the import gave them."""
        extract, kept = book_extract(state.postings, main_file=self.book, currency=request.currency)
        rows = extract.rows.with_row_index("_posting")
        rows = rows.filter(pl.col("ledger_account").is_null() | (pl.col("ledger_account") == request.ledger_account))
        ids = assign_row_ids(rows, account_id=request.account_id, id_column="entry_id")
        ids = ids.unique(subset=["entry_id"], keep="first", maintain_order=True)
        return {entry_id: kept[i] for entry_id, i in ids.select("entry_id", "_posting").iter_rows()}

    def _ids_in_recon_file(self) -> set[str]:
        if not self.recon_file.exists():
            return set()
        found = _BANK_ID_TEXT.findall(read_text(self.recon_file))
        return {bank_id for value in found for bank_id in value.split()}

    def _disagreement(self, state: BookState, request: WritebackRequest, added: list[NewEntry]) -> str | None:
        closing = request.closing
        assert closing is not None
        by_date = Decimal(0)
        in_file = Decimal(0)
        for p in state.balance_postings:
            if p.account != request.ledger_account or currency_of(p.commodity, request.currency) != closing.currency:
                continue
            in_file += p.quantity
            if p.date <= closing.as_of:
                by_date += p.quantity
        books = to_minor(by_date, closing.currency) + sum(e.amount_minor for e in added if e.date <= closing.as_of)
        if books != closing.amount_minor:
            return (
                f"the books say {format_minor(books, closing.currency)} {closing.currency} on {closing.as_of}, "
                f"the bank {format_minor(closing.amount_minor, closing.currency)}: difference "
                f"{format_minor(closing.amount_minor - books, closing.currency)} (outstanding or missing entries)"
            )
        if self.assertions_in_file_order and in_file != by_date:
            return (
                f"the book has entries of {request.ledger_account} after {closing.as_of}; ledger checks balance "
                "assertions in file order, so an assertion at the end of the book would not hold there"
            )
        return None

    def _ordered_changes(self, edits: dict[Path, LineEdits]) -> list[FileChange]:
        def rank(path: Path) -> int:
            return 0 if path == self.recon_file else 2 if path == self.book else 1

        changes = []
        for path in sorted(edits, key=lambda p: (rank(p), str(p))):
            e = edits[path]
            if e.changed:
                before = e.original if path.exists() else None
                changes.append(FileChange(path, before, e.render(), mode_like=self.book))
        return changes

    def _label(self, path: Path) -> str:
        """The file as the config's folder sees it: beside the target's own name."""
        try:
            relative = path.resolve().relative_to(self.book.parent)
        except ValueError:
            return str(path)
        return (PurePosixPath(self.target).parent / relative.as_posix()).as_posix()
