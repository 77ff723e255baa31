"""Reversing a whole import batch: its rows and the engine's matches on them go, the logs stay.

One transaction: the rows the batch stored (bank or ledger), its statement balances,
the engine matches (auto or suggested) holding any of those rows, and what derived
data recon keeps per row (open items, categorizations, duplicate flags). `import_batches`,
`review_decisions`, `runs` and the write-back log are logs and are never touched;
the reversal itself is logged as a decision (action `undo_batch`).

A batch whose rows people matched or confirmed is refused: undo those decisions first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from recon.derived_rows import forget_rows
from recon.errors import UserError
from recon.store import Store

__all__ = ["BatchUndone", "undo_batch"]


@dataclass(frozen=True, slots=True)
class BatchUndone:
    """What `undo_batch` removed.

    Attributes:
      batch_id: the import batch reversed.
      source_file: the file it had imported.
      side: bank | ledger.
      rows_removed: bank or ledger rows deleted.
      matches_removed: engine matches (auto or suggested) deleted with them.
      decision_id: the logged `undo_batch` decision.
    """

    batch_id: str
    source_file: str
    side: str
    rows_removed: int
    matches_removed: int
    decision_id: str


_HOLDING_MATCHES = """
SELECT DISTINCT m.match_id, m.status, m.origin FROM matches m JOIN match_links l USING (match_id)
WHERE m.status <> 'rejected' AND (list_contains(?, l.bank_txn_id) OR list_contains(?, l.ledger_entry_id))
ORDER BY m.match_id
"""


def _ids(store: Store, sql: str, params: list[object]) -> list[str]:
    return [str(r[0]) for r in store.con.execute(sql, params).fetchall()]


def undo_batch(store: Store, batch_id: str, *, by: str, note: str | None = None) -> BatchUndone:
    """Remove what import batch `batch_id` stored, in one transaction; the import log stays."""
    with store.transaction() as con:
        batch = con.execute("SELECT side, source_file FROM import_batches WHERE batch_id = ?", [batch_id]).fetchall()
        if not batch:
            raise UserError(f"no import batch with id '{batch_id}'")
        side, source_file = str(batch[0][0]), str(batch[0][1])
        bank_ids = _ids(store, "SELECT txn_id FROM bank_transactions WHERE batch_id = ? ORDER BY 1", [batch_id])
        ledger_ids = _ids(store, "SELECT entry_id FROM ledger_entries WHERE batch_id = ? ORDER BY 1", [batch_id])
        holding = con.execute(_HOLDING_MATCHES, [bank_ids, ledger_ids]).fetchall()
        decided = [str(m) for m, status, origin in holding if status == "confirmed" or origin == "person"]
        if decided:
            raise UserError(
                f"rows of batch '{batch_id}' are in matches people decided ({', '.join(decided)}); "
                "undo those decisions first ('recon explain MATCH_ID' shows them)"
            )
        engine = [str(m) for m, _, _ in holding]
        con.execute("DELETE FROM match_links WHERE list_contains(?, match_id)", [engine])
        con.execute("DELETE FROM matches WHERE list_contains(?, match_id)", [engine])
        forget_rows(con, bank=bank_ids, ledger=ledger_ids)
        con.execute("DELETE FROM statement_balances WHERE batch_id = ?", [batch_id])
        con.execute("DELETE FROM bank_transactions WHERE batch_id = ?", [batch_id])
        con.execute("DELETE FROM ledger_entries WHERE batch_id = ?", [batch_id])
        decision_id = uuid.uuid4().hex
        why = f"import batch {batch_id} ({source_file}) undone: {len(bank_ids) + len(ledger_ids)} rows removed"
        con.execute(
            "INSERT INTO review_decisions VALUES (?, ?, ?, 'undo_batch', NULL, ?, ?, ?)",
            [decision_id, datetime.now(UTC).replace(tzinfo=None), by, bank_ids, ledger_ids,
             why + (f"; {note}" if note else "")],
        )  # fmt: skip
    return BatchUndone(batch_id, source_file, side, len(bank_ids) + len(ledger_ids), len(engine), decision_id)
