"""The `writeback_log` table: what write-back wrote to which book, and whether it is done.

An item is logged `pending` (attempts + 1) in its own committed transaction
before its book is touched, and `done` only after the book file was replaced. A
kill in between leaves it `pending`; the next run plans from the book's content,
finds the bank id already there and logs it `done` without writing it again.
`failed` and `skipped` items are tried again on every run; `done` items are not
written again, even if someone removed them from the book since (that was a
person's edit of their own book).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from recon.store import Store
from recon.writeback.base import PlannedItem

__all__ = ["ItemDetails", "TargetLog", "done_keys", "record"]


@dataclass(frozen=True, slots=True)
class ItemDetails:
    """The store's ids behind one log item."""

    bank_txn_id: str | None = None
    bank_id: str | None = None
    ledger_entry_id: str | None = None


def done_keys(store: Store, target: str) -> set[tuple[str, str]]:
    """(action, item_key) of the target's items that are written."""
    rows = store.con.execute(
        "SELECT action, item_key FROM writeback_log WHERE target = ? AND status = 'done'", [target]
    ).fetchall()
    return {(str(a), str(k)) for a, k in rows}


def record(
    store: Store,
    *,
    target: str,
    account_id: str,
    items: Iterable[PlannedItem],
    status: str,
    run_id: str,
    details: dict[tuple[str, str], ItemDetails],
    error: str | None = None,
    attempt: bool = False,
) -> None:
    """Upsert the items with `status` in one transaction; `attempt` counts a write attempt."""
    now = datetime.now(UTC).replace(tzinfo=None)
    written_at = now if status == "done" else None
    with store.transaction() as con:
        for item in items:
            d = details.get((item.action, item.key), ItemDetails())
            note = error if error is not None else item.note
            con.execute(
                """INSERT INTO writeback_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (target, action, item_key) DO UPDATE SET
                     status = excluded.status,
                     attempts = writeback_log.attempts + ?,
                     error = excluded.error,
                     run_id = excluded.run_id,
                     ledger_location = coalesce(excluded.ledger_location, writeback_log.ledger_location),
                     written_at = coalesce(excluded.written_at, writeback_log.written_at)""",
                [
                    target, item.action, item.key, account_id, d.bank_txn_id, d.bank_id, d.ledger_entry_id,
                    item.location, status, 1 if attempt else 0, note, run_id, written_at, 1 if attempt else 0,
                ],
            )  # fmt: skip


@dataclass(frozen=True, slots=True)
class TargetLog:
    """The log of one book in one run: `record` with everything but the items and the status filled in."""

    store: Store
    target: str
    account_id: str
    run_id: str
    details: dict[tuple[str, str], ItemDetails]

    def record(
        self, items: Iterable[PlannedItem], status: str, *, error: str | None = None, attempt: bool = False
    ) -> None:
        record(
            self.store, target=self.target, account_id=self.account_id, items=items, status=status,
            run_id=self.run_id, details=self.details, error=error, attempt=attempt,
        )  # fmt: skip
