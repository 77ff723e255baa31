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

Every such case is one row of `plaid_row_events` (with the match's id, status, origin and ledger
rows), as is every pending row replaced or removed, matched or not. These functions run inside
the sync's transaction, after the new rows are written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from recon.store import Store

__all__ = ["RowChange", "resolve_matches"]

_PERSON = "(m.origin = 'person' OR m.status IN ('confirmed', 'rejected'))"


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


def _holding(store: Store, txn_ids: list[str]) -> pl.DataFrame:
    return store.query(
        f"""SELECT m.match_id, m.status, m.origin, {_PERSON} AS by_person, l.bank_txn_id,
                   list(DISTINCT l.ledger_entry_id ORDER BY l.ledger_entry_id) AS ledger_entry_ids
            FROM matches m JOIN match_links l USING (match_id)
            WHERE list_contains(?, l.bank_txn_id)
            GROUP BY ALL ORDER BY m.match_id""",
        [txn_ids],
    )


def _action(change: RowChange, by_person: bool) -> str:
    if not by_person or change.event == "removed":
        return "dropped"
    return "carried" if change.event == "posted" else "kept"


def resolve_matches(store: Store, changes: list[RowChange], *, item_key: str, run_id: str) -> list[dict[str, Any]]:
    """Apply the rules above; return the `plaid_row_events` rows written (one per change and match)."""
    by_txn = {c.txn_id: c for c in changes}
    holding = _holding(store, list(by_txn)) if by_txn else pl.DataFrame()
    actions: dict[str, str] = {}
    for row in holding.iter_rows(named=True):
        action = _action(by_txn[row["bank_txn_id"]], bool(row["by_person"]))
        # one row of a match dropped drops the whole match
        actions[row["match_id"]] = "dropped" if "dropped" in (action, actions.get(row["match_id"])) else action
    con = store.con
    for match_id, action in actions.items():
        if action == "dropped":
            con.execute("DELETE FROM match_links WHERE match_id = ?", [match_id])
            con.execute("DELETE FROM matches WHERE match_id = ?", [match_id])
    for row in holding.iter_rows(named=True):
        change = by_txn[row["bank_txn_id"]]
        if actions[row["match_id"]] == "carried" and change.successor_txn_id:
            _relink(store, row["match_id"], change.txn_id, change.successor_txn_id)
    for match_id, action in actions.items():
        if action != "dropped":
            _recompute_differences(store, match_id)

    now = datetime.now(UTC).replace(tzinfo=None)
    events: list[dict[str, Any]] = []
    matched = set(holding["bank_txn_id"]) if holding.height else set()
    for row in holding.iter_rows(named=True):
        events.append(_event(by_txn[row["bank_txn_id"]], row, actions[row["match_id"]], item_key, run_id, now))
    events.extend(_event(c, None, None, item_key, run_id, now) for c in changes if c.txn_id not in matched)
    for event in events:
        con.execute(f"INSERT INTO plaid_row_events VALUES ({', '.join('?' * len(event))})", list(event.values()))
    return events


def _relink(store: Store, match_id: str, old_txn_id: str, new_txn_id: str) -> None:
    links = store.query("SELECT * FROM match_links WHERE match_id = ? AND bank_txn_id = ?", [match_id, old_txn_id])
    store.con.execute("DELETE FROM match_links WHERE match_id = ? AND bank_txn_id = ?", [match_id, old_txn_id])
    for link in links.iter_rows(named=True):
        store.con.execute(
            "INSERT OR IGNORE INTO match_links VALUES (?, ?, ?, ?, ?)",
            [match_id, new_txn_id, link["ledger_entry_id"], link["amount_diff_minor"], link["date_diff_days"]],
        )


def _recompute_differences(store: Store, match_id: str) -> None:
    """Bank total minus ledger total on every link (as the matcher stores it), and each link's date gap."""
    store.con.execute(
        """UPDATE match_links l SET
             amount_diff_minor = (
               (SELECT coalesce(sum(b.amount_minor), 0) FROM bank_transactions b WHERE b.txn_id IN
                  (SELECT bank_txn_id FROM match_links WHERE match_id = $1))
               - (SELECT coalesce(sum(e.amount_minor), 0) FROM ledger_entries e WHERE e.entry_id IN
                  (SELECT ledger_entry_id FROM match_links WHERE match_id = $1))),
             date_diff_days = coalesce(
               (SELECT date_diff('day', e.posted_date, b.posted_date) FROM bank_transactions b, ledger_entries e
                WHERE b.txn_id = l.bank_txn_id AND e.entry_id = l.ledger_entry_id), l.date_diff_days)
           WHERE l.match_id = $1""",
        [match_id],
    )


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
