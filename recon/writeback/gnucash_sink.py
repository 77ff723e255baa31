"""Write-back into a GnuCash SQLite book.

- A matched split is marked cleared (reconcile state 'c', stamped with the time
  of the write) and its memo gets `bank-id: ID` (after the user's memo, if any,
  separated by '; '; several ids space-separated for an N:1 match). A split the
  user reconciled already keeps its 'y'.
- A new entry is a transaction of the bank account's split and one split per
  other side (one counter account, or several for a rule's split; each created,
  with its missing parents, when the book lacks it; its type
  follows its parent, or its top-level name: Expenses, Income, Assets,
  Liabilities, Equity). The bank split is cleared and carries `bank-id: ID`.
- GnuCash has no balance assertion, so the bank's closing balance is checked, not
  written: when the book's balance of the account at the statement date equals the
  bank's, and the splits the bank confirmed (cleared or reconciled) add up to it too,
  those splits become reconciled ('y') with the statement date as reconcile date,
  as GnuCash's own Reconcile window does; otherwise the item is skipped with the
  difference and tried again next run.

`plan` reads the book with the importer's read-only reader (no extra package
needed: `--dry-run` works without piecash); `apply` writes with piecash
(`pip install 'recon[gnucash]'`), all operations in one SQLite transaction, so a
failure or a kill leaves the book as it was. Nothing is written while GnuCash
holds the book's lock (a row in `gnclock`; a dry run still shows the plan): the
check is repeated inside the write transaction, after its first write, when no
one else can take the lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from importers.gnucash_book import (
    GnucashAccount,
    GnucashBookError,
    GnucashContent,
    GnucashSplit,
    gnucash_extract,
    read_gnucash,
)
from recon.model import assign_row_ids
from recon.money import AmountError, format_minor, to_minor
from recon.writeback.base import (
    ALL_ACTIONS,
    BookError,
    NewEntry,
    PlannedItem,
    WritebackError,
    WritebackRequest,
    WritePlan,
)
from recon.writeback.gnucash_writer import (
    CLEARED,
    DONE_STATES,
    RECONCILED,
    AddTransaction,
    ClearSplit,
    GnucashWriter,
    ReconcileThrough,
    entry_description,
    load_piecash,
    locks_in,
    quiet_sqlalchemy,
)

__all__ = ["GnucashSink"]


class GnucashSink:
    """One GnuCash SQLite book; `target` names it in the log (its path relative to the config's folder)."""

    actions = ALL_ACTIONS

    def __init__(self, book: Path, *, target: str):
        self.book = book.resolve()
        self.target = target

    # --- planning ------------------------------------------------------------------------------
    def plan(self, request: WritebackRequest) -> WritePlan:
        content = self._read()
        account = self._bank_account(content, request)
        plan = WritePlan(self.target)
        preview: list[str] = []
        own = [s for s in content.splits if s.account.guid == account.guid]
        clearing = self._plan_clears(plan, preview, content, request)
        added = self._plan_new_entries(plan, preview, content, own, request)
        if request.closing is not None:
            try:
                self._plan_balance(plan, preview, own, clearing, added, request)
            except AmountError as exc:  # a split finer than the currency's minor unit
                raise BookError(f"{self.book}: {request.ledger_account}: {exc}") from exc
        if content.locks and plan.operations:  # reading is fine while GnuCash has the book open; writing is not
            preview.append(f"{self.target}: GnuCash has the book open: close it, or the write will be refused")
        plan.preview = "".join(f"{line}\n" for line in preview)
        return plan

    def _plan_clears(
        self, plan: WritePlan, preview: list[str], content: GnucashContent, request: WritebackRequest
    ) -> set[str]:
        by_id = self._splits_by_entry_id(content, request)
        clearing: set[str] = set()
        for clear in request.clears:
            key = clear.ledger_entry_id
            split = by_id.get(key)
            if split is None:
                note = "the entry is no longer in the book (changed or deleted since it was imported)"
                plan.items.append(PlannedItem("clear", key, "skipped", None, note))
                continue
            where = self._where(split)
            has_ids = set(clear.bank_ids) <= set(split.bank_ids)
            if has_ids and split.reconcile_state in DONE_STATES:
                plan.items.append(PlannedItem("clear", key, "present", where))
            elif split.bank_ids and not has_ids:
                note = f"the entry already carries bank-id {' '.join(split.bank_ids)}; left as it is"
                plan.items.append(PlannedItem("clear", key, "skipped", where, note))
            else:
                plan.operations.append(ClearSplit(split.guid, clear.bank_ids))
                plan.items.append(PlannedItem("clear", key, "change", where))
                clearing.add(split.guid)
                state = split.reconcile_state if split.reconcile_state in DONE_STATES else CLEARED
                ids = " ".join(clear.bank_ids)
                preview.append(f"{where}: {split.date} {split.description!r} {split.quantity}: "
                               f"[{split.reconcile_state}] -> [{state}], memo + 'bank-id: {ids}'")  # fmt: skip
        return clearing

    def _plan_new_entries(
        self,
        plan: WritePlan,
        preview: list[str],
        content: GnucashContent,
        own: list[GnucashSplit],
        request: WritebackRequest,
    ) -> list[NewEntry]:
        known: dict[str, GnucashSplit | None] = {bank_id: s for s in own for bank_id in s.bank_ids}
        bank = content.accounts[request.ledger_account]
        added: list[NewEntry] = []
        for entry in request.new_entries:
            if entry.bank_id in known:
                plan.items.append(PlannedItem("add", entry.bank_txn_id, "present", self._where(known[entry.bank_id])))
                continue
            counters = tuple((_gnucash_account_name(name), amount) for name, amount in entry.postings)
            why = self._why_not_writable(entry, counters, content, bank)
            if why is not None:
                plan.items.append(PlannedItem("add", entry.bank_txn_id, "skipped", None, why))
                continue
            plan.operations.append(AddTransaction(entry, bank.guid, counters))
            plan.items.append(PlannedItem("add", entry.bank_txn_id, "change", f"{self.target}#new"))
            added.append(entry)
            known[entry.bank_id] = None  # a second request for the same bank row is present, not added twice
            amount = format_minor(entry.amount_minor, entry.currency)
            sides = ", ".join(
                name + (f" {format_minor(part, entry.currency)}" if len(counters) > 1 else "")
                + ("" if name in content.accounts else " (new account)")
                for name, part in counters
            )  # fmt: skip
            preview.append(f"{self.target}#new: {entry.date} {entry_description(entry)!r}: {request.ledger_account} "
                           f"{amount} {entry.currency} / {sides}, memo 'bank-id: {entry.bank_id}'")  # fmt: skip
        return added

    def _plan_balance(
        self,
        plan: WritePlan,
        preview: list[str],
        own: list[GnucashSplit],
        clearing: set[str],
        added: list[NewEntry],
        request: WritebackRequest,
    ) -> None:
        closing = request.closing
        assert closing is not None
        key = f"{request.account_id}@{closing.as_of.isoformat()}"
        until = [s for s in own if s.date <= closing.as_of]
        new_until = [e for e in added if e.date <= closing.as_of]
        books = to_minor(sum((s.quantity for s in until), Decimal(0)), closing.currency) + sum(
            e.amount_minor for e in new_until
        )
        if books != closing.amount_minor:
            note = (
                f"the books say {format_minor(books, closing.currency)} {closing.currency} on {closing.as_of}, "
                f"the bank {format_minor(closing.amount_minor, closing.currency)}: difference "
                f"{format_minor(closing.amount_minor - books, closing.currency)} (outstanding or missing entries)"
            )
            plan.items.append(PlannedItem("balance", key, "skipped", None, note))
            return
        confirmed = [s for s in until if s.reconcile_state in DONE_STATES or s.guid in clearing]
        cleared_total = to_minor(sum((s.quantity for s in confirmed), Decimal(0)), closing.currency) + sum(
            e.amount_minor for e in new_until
        )
        if cleared_total != closing.amount_minor:
            note = (
                f"the books agree with the bank on {closing.as_of}, but entries the bank has not confirmed count "
                f"toward it ({format_minor(books - cleared_total, closing.currency)} {closing.currency}): "
                "not marked reconciled"
            )
            plan.items.append(PlannedItem("balance", key, "skipped", None, note))
            return
        to_reconcile = tuple(s.guid for s in confirmed if s.reconcile_state != RECONCILED)
        if not to_reconcile and not new_until:
            plan.items.append(PlannedItem("balance", key, "present", self.target))
            return
        plan.operations.append(ReconcileThrough(closing.as_of, to_reconcile, tuple(e.bank_id for e in new_until)))
        plan.items.append(PlannedItem("balance", key, "change", self.target))
        preview.append(f"{self.target}: balance {format_minor(closing.amount_minor, closing.currency)} "
                       f"{closing.currency} on {closing.as_of} ties: {len(to_reconcile) + len(new_until)} "
                       f"splits of {request.ledger_account} -> [y] reconciled {closing.as_of}")  # fmt: skip

    @staticmethod
    def _why_not_writable(
        entry: NewEntry, counters: tuple[tuple[str, int], ...], content: GnucashContent, bank: GnucashAccount
    ) -> str | None:
        """Why GnuCash cannot take the entry as it is (another currency, a placeholder account); None: it can."""
        for counter, _ in counters:
            existing = content.accounts.get(counter)
            if entry.currency != bank.commodity or (existing is not None and existing.commodity != bank.commodity):
                held = existing.commodity if existing is not None else entry.currency
                return f"{counter} or the entry is in {held}, the bank account in {bank.commodity}: book it by hand"
            if existing is not None and existing.placeholder:
                return f"{counter} is a placeholder account in GnuCash (for sub-accounts only): name a sub-account"
        return None

    # --- applying ------------------------------------------------------------------------------
    def apply(self, plan: WritePlan) -> None:
        """Write every operation of the plan in one database transaction, or nothing."""
        if not plan.operations:
            return
        self._refuse_if_locked(self._read().locks)
        piecash = load_piecash()
        with quiet_sqlalchemy(), self._open_writable(piecash) as book:
            try:
                GnucashWriter(piecash, book).write(plan.operations)
                book.session.flush()  # the first write takes SQLite's write lock: GnuCash cannot lock the book now
                self._refuse_if_locked(locks_in(book))
                book.session.commit()
            except WritebackError:
                book.session.rollback()
                raise
            except Exception as exc:
                book.session.rollback()
                cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
                if isinstance(cause, sqlite3.Error):
                    raise WritebackError(f"{self.book}: the book could not be written (busy or on a full or "
                                         f"read-only disk?), nothing was changed: {cause}") from exc  # fmt: skip
                if type(exc).__module__.startswith(("piecash", "sqlalchemy")):
                    raise WritebackError(f"{self.book}: piecash refused the write, nothing was changed: {exc}") from exc
                raise

    @contextmanager
    def _open_writable(self, piecash: Any) -> Iterator[Any]:
        try:
            # the lock was checked above (with a clearer message than piecash's) and is checked again in the write
            book = piecash.open_book(str(self.book), readonly=False, open_if_lock=True, do_backup=False)
        except (piecash.GnucashException, ValueError, AssertionError) as exc:
            raise BookError(f"{self.book}: piecash cannot write this book (a GnuCash version it does not know?): "
                            f"{exc or type(exc).__name__}") from exc  # fmt: skip
        try:
            yield book
        finally:
            book.close()

    # --- helpers -------------------------------------------------------------------------------
    def _read(self) -> GnucashContent:
        if not self.book.is_file():
            raise BookError(f"{self.book}: the book does not exist")
        try:
            return read_gnucash(self.book)
        except GnucashBookError as exc:
            raise BookError(f"{self.book}: {exc}") from exc

    def _refuse_if_locked(self, locks: list[tuple[str, int]]) -> None:
        if locks:
            host, pid = locks[0]
            raise BookError(
                f"{self.book}: GnuCash has the book open (lock held by host {host}, pid {pid}); close GnuCash and "
                "run again (a lock left by a crash goes when GnuCash opens the book anyway and closes it)"
            )

    def _bank_account(self, content: GnucashContent, request: WritebackRequest) -> GnucashAccount:
        account = content.accounts.get(request.ledger_account)
        if account is None:
            near = [n for n in content.accounts if n.rsplit(":", 1)[-1] == request.ledger_account.rsplit(":", 1)[-1]]
            hint = f" (it has {', '.join(near)})" if near else ""
            raise BookError(f"{self.book}: the book has no account '{request.ledger_account}' (ledger_account of "
                            f"account '{request.account_id}'){hint}")  # fmt: skip
        if account.commodity != request.currency:
            raise BookError(f"{self.book}: account '{account.full_name}' is held in {account.commodity}, "
                            f"account '{request.account_id}' in {request.currency}")  # fmt: skip
        return account

    def _splits_by_entry_id(self, content: GnucashContent, request: WritebackRequest) -> dict[str, GnucashSplit]:
        """The account's splits, keyed by the entry ids the import gave them."""
        extract, kept = gnucash_extract(content, currency=request.currency)
        rows = extract.rows.with_row_index("_split").filter(pl.col("ledger_account") == request.ledger_account)
        ids = assign_row_ids(rows, account_id=request.account_id, id_column="entry_id")
        return {entry_id: kept[i] for entry_id, i in ids.select("entry_id", "_split").iter_rows()}

    def _where(self, split: GnucashSplit | None) -> str:
        return f"{self.target}#{split.guid}" if split is not None else self.target


def _gnucash_account_name(name: str) -> str:
    """A rule's account name as a GnuCash full name: the same, with empty parts dropped."""
    parts = [p.strip() for p in name.split(":") if p.strip()]
    if not parts:
        raise BookError(f"account '{name}' cannot be written to a GnuCash book")
    return ":".join(parts)
