"""The GnuCash write itself: the sink's planned operations, made with piecash in the session's one transaction.

`recon.writeback.gnucash_sink` plans (reading the book without piecash) and decides;
this module only carries out `ClearSplit`, `AddTransaction` and `ReconcileThrough`.
piecash is imported only here, and only when writing (`recon[gnucash]`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from importers.gnucash_book import bank_ids_in_memo
from recon.money import currency_exponent
from recon.writeback.base import BookError, NewEntry, WritebackError

__all__ = [
    "CLEARED",
    "DONE_STATES",
    "RECONCILED",
    "AddTransaction",
    "ClearSplit",
    "ExtraMissingError",
    "GnucashWriter",
    "ReconcileThrough",
    "entry_description",
    "load_piecash",
    "locks_in",
    "quiet_sqlalchemy",
]

CLEARED, RECONCILED = "c", "y"
DONE_STATES = (CLEARED, RECONCILED)
_ROOT_TYPES = {"assets": "ASSET", "liabilities": "LIABILITY", "equity": "EQUITY", "income": "INCOME",
               "expenses": "EXPENSE"}  # fmt: skip
NEUTRAL_TIME = time(10, 59, tzinfo=UTC)
"""GnuCash stores a date at 10:59 UTC, the same calendar day in every time zone."""


class ExtraMissingError(BookError):
    """GnuCash write-back needs `pip install 'recon[gnucash]'`: the user installs it (exit code 2)."""


@dataclass(frozen=True, slots=True)
class ClearSplit:
    """Mark one split cleared and record the bank ids in its memo."""

    split_guid: str
    bank_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddTransaction:
    """Book a bank row the book lacks: the bank account against `counters` (GnuCash full name, amount_minor)."""

    entry: NewEntry
    bank_account_guid: str
    counters: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class ReconcileThrough:
    """The closing balance ties: mark these splits (and the new entries' bank splits) reconciled as of `as_of`."""

    as_of: date
    split_guids: tuple[str, ...]
    new_bank_ids: tuple[str, ...]


class GnucashWriter:
    """The plan's operations made with piecash, inside the session's one transaction."""

    def __init__(self, piecash: Any, book: Any):
        self.piecash = piecash
        self.book = book
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.new_bank_splits: dict[str, Any] = {}

    def write(self, operations: list[object]) -> None:
        for op in operations:
            if isinstance(op, ClearSplit):
                self.clear(op)
            elif isinstance(op, AddTransaction):
                self.add(op)
            elif isinstance(op, ReconcileThrough):
                self.reconcile(op)

    def split(self, guid: str) -> Any:
        found = self.book.session.query(self.piecash.Split).filter_by(guid=guid).one_or_none()
        if found is None:
            raise WritebackError(f"split {guid} was deleted from the book since it was read; nothing was changed")
        return found

    def clear(self, op: ClearSplit) -> None:
        split = self.split(op.split_guid)
        missing = [b for b in op.bank_ids if b not in bank_ids_in_memo(split.memo)]
        if missing:
            split.memo = _with_bank_ids(split.memo, missing)
        if split.reconcile_state not in DONE_STATES:
            split.reconcile_state = CLEARED
            split.reconcile_date = self.now

    def add(self, op: AddTransaction) -> None:
        entry = op.entry
        bank = self.book.session.query(self.piecash.Account).filter_by(guid=op.bank_account_guid).one_or_none()
        if bank is None:
            raise WritebackError("the bank account was deleted from the book since it was read; nothing was changed")
        exponent = currency_exponent(entry.currency)
        bank_split = self.piecash.Split(account=bank, value=Decimal(entry.amount_minor).scaleb(-exponent),
                                        memo=f"bank-id: {entry.bank_id}",
                                        reconcile_state=CLEARED, reconcile_date=self.now)  # fmt: skip
        counter_splits = [
            self.piecash.Split(account=self.account(name, currency=bank.commodity, create_for=entry),
                               value=Decimal(amount).scaleb(-exponent))
            for name, amount in op.counters
        ]  # fmt: skip
        self.piecash.Transaction(
            currency=bank.commodity, description=entry_description(entry), post_date=entry.date,
            splits=[bank_split, *counter_splits],
        )  # fmt: skip
        self.new_bank_splits[entry.bank_id] = bank_split

    def reconcile(self, op: ReconcileThrough) -> None:
        stamp = datetime.combine(op.as_of, NEUTRAL_TIME)
        splits = [self.split(g) for g in op.split_guids] + [self.new_bank_splits[b] for b in op.new_bank_ids]
        for split in splits:
            split.reconcile_state = RECONCILED
            split.reconcile_date = stamp

    def account(self, full_name: str, *, currency: Any, create_for: NewEntry) -> Any:
        """The account of that full name; created with its missing parents for a new entry's counter account."""
        node = self.book.root_account
        path: list[str] = []
        for name in full_name.split(":"):
            path.append(name)
            child = next((c for c in node.children if c.name == name), None)
            if child is None:
                child = self.piecash.Account(
                    name=name, type=_child_type(node, path[0], create_for), commodity=currency, parent=node
                )
            node = child
        return node


def _child_type(parent: Any, top_name: str, entry: NewEntry) -> str:
    if parent.type != "ROOT":
        return str(parent.type)
    return _ROOT_TYPES.get(top_name.lower(), "INCOME" if entry.amount_minor > 0 else "EXPENSE")


def _with_bank_ids(memo: str, bank_ids: list[str]) -> str:
    tag = f"bank-id: {' '.join(bank_ids)}"
    return f"{memo}; {tag}" if memo.strip() else tag


def entry_description(entry: NewEntry) -> str:
    return " ".join(part for part in (entry.payee, entry.narration) if part)


def locks_in(book: Any) -> list[tuple[str, int]]:
    from sqlalchemy import text

    return [(str(h), int(p or 0)) for h, p in book.session.execute(text("SELECT Hostname, PID FROM gnclock"))]


def load_piecash() -> Any:
    try:
        with quiet_sqlalchemy():
            import piecash
    except ImportError as exc:
        raise ExtraMissingError(
            "GnuCash write-back needs `pip install 'recon[gnucash]'` (piecash and SQLAlchemy < 2); nothing was written"
        ) from exc
    return piecash


@contextmanager
def quiet_sqlalchemy() -> Iterator[None]:
    """piecash 1.2 declares relationships SQLAlchemy 1.4 warns about at length; they are piecash's, not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="sqlalchemy")
        warnings.filterwarnings("ignore", module="piecash")
        warnings.filterwarnings("ignore", message=".*relationship.*")
        yield
