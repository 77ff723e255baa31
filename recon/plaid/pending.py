"""Matches of rows that Plaid replaces, removes or changes: re-linked or dropped, never lost silently.

When the bank books a pending transaction, Plaid sends a new posted transaction whose
`pending_transaction_id` names the pending one, and the pending row goes away (its amount may
differ: a tip). When a match holds such a row:

- an engine match (origin `engine`, status `auto` or `suggested`) is dropped: its links and
  its row are deleted, so the next match run scores the posted row against the ledger rows it
  had, which are open again;
- a person's decision (origin `person`, or status `confirmed` or `rejected`) is carried over:
  its links move from the pending row to the posted row, with the amount and date differences
  recomputed, so the decision keeps holding for the same bank transaction;
- a row Plaid removes without successor (a cancelled authorization) loses every match (the
  ledger rows are open again);
- a row Plaid modifies in amount or date loses its engine matches; a person's match keeps it,
  with the differences recomputed.

What else names a posted-over or removed row goes with it (open item, duplicate flag), but a
person's categorization moves to the posted row (`recon.derived_rows`).

Every such case is one row of `plaid_row_events` (with the match's id, status, origin and ledger
rows), as is every pending row replaced or removed, matched or not. These functions run inside
the sync's transaction, after the new rows are written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from recon.derived_rows import forget_replaced_bank_rows
from recon.match_carry import holding_matches, settle_matches
from recon.store import Store

__all__ = ["RowChange", "resolve_matches"]


@dataclass(frozen=True, slots=True)
class RowChange:
    """A stored row that this sync replaces (`posted`), deletes (`removed`) or changes (`modified`)."""

    event: str
    account_id: str
    txn_id: str
    external_id: str
    old_amount_minor: int
    successor_txn_id: str | None = None
    successor_external_id: str | None = None
    new_amount_minor: int | None = None


def _action(change: RowChange, by_person: bool) -> str:
    if not by_person or change.event == "removed":
        return "dropped"
    return "carried" if change.event == "posted" else "kept"


def resolve_matches(store: Store, changes: list[RowChange], *, item_key: str, run_id: str) -> list[dict[str, Any]]:
    """Apply the rules above; return the `plaid_row_events` rows written (one per change and match)."""
    by_txn = {c.txn_id: c for c in changes}
    holding = holding_matches(store, list(by_txn))
    successors = {c.txn_id: c.successor_txn_id for c in changes}
    actions = settle_matches(store, holding, lambda txn_id, by_person: _action(by_txn[txn_id], by_person), successors)
    con = store.con
    forget_replaced_bank_rows(con, successors)

    now = datetime.now(UTC).replace(tzinfo=None)
    events: list[dict[str, Any]] = []
    matched = set(holding["bank_txn_id"]) if holding.height else set()
    for row in holding.iter_rows(named=True):
        events.append(_event(by_txn[row["bank_txn_id"]], row, actions[row["match_id"]], item_key, run_id, now))
    events.extend(_event(c, None, None, item_key, run_id, now) for c in changes if c.txn_id not in matched)
    for event in events:
        con.execute(f"INSERT INTO plaid_row_events VALUES ({', '.join('?' * len(event))})", list(event.values()))
    return events


def _event(
    change: RowChange, match: dict[str, Any] | None, action: str | None, item_key: str, run_id: str, now: datetime
) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex,
        "run_id": run_id,
        "item_key": item_key,
        "account_id": change.account_id,
        "event": change.event,
        "txn_id": change.txn_id,
        "external_id": change.external_id,
        "successor_txn_id": change.successor_txn_id,
        "successor_external_id": change.successor_external_id,
        "old_amount_minor": change.old_amount_minor,
        "new_amount_minor": change.new_amount_minor,
        "match_id": match["match_id"] if match else None,
        "match_status": match["status"] if match else None,
        "match_origin": match["origin"] if match else None,
        "match_action": action,
        "ledger_entry_ids": list(match["ledger_entry_ids"]) if match else None,
        "recorded_at": now,
    }
