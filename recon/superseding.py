"""Bank rows a later file replaces, deletes or books: found before a batch, applied inside it.

Three cases, whatever the format:

- **replaced**: an OFX `CORRECTACTION` REPLACE names the FITID of an earlier transaction
  (`CORRECTFITID`); its own row takes that transaction's place.
- **deleted**: a `CORRECTACTION` DELETE; the earlier transaction goes, nothing takes its place.
- **booked**: a row stored as pending (CAMT `PDNG`) comes again booked with the same id (the
  bank's reference): the booked row replaces the pending one, which otherwise would stay
  pending forever because the id, not the status, says whether a row is known.

As with Plaid's pending and removed rows (`recon.plaid.pending`), the row that goes is
deleted from `bank_transactions` (matching, reports and exports see only current rows) and
its history is kept: one `bank_row_events` row per change (and per match that held the
row), with the row as it was stored. A match on the row follows Plaid's rules: an engine
match is dropped (the next match run matches again), a person's match is carried to the
successor (replaced) or kept with its differences recomputed (booked, or replaced under
the same id), and every match of a deleted row is dropped. Its open item and duplicate flags
go too; a person's categorization moves to the successor (`recon.derived_rows`).

A replaced or deleted id is never stored again: reading the older file again (or files in
another order) adds nothing. Corrections of transactions the store does not hold yet are
recorded too, for that reason. This module never commits: the import service calls it
inside the batch's transaction.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from importers.base import Correction
from recon.derived_rows import forget_replaced_bank_rows
from recon.match_carry import holding_matches, settle_matches
from recon.model import assign_row_ids
from recon.store import Store

__all__ = ["RowSupersession", "SupersedePlan", "apply_supersessions", "plan_supersessions", "remove_superseded"]


@dataclass(frozen=True, slots=True)
class RowSupersession:
    """One stored (or announced) row that this batch replaces, deletes or books.

    Attributes:
      event: replaced | deleted | booked.
      txn_id: the row that goes (for booked, and a replacement under the same id, also the one that comes).
      external_id: its id in the source (FITID, AcctSvcrRef).
      successor_txn_id: the row that takes its place; None for deleted.
      successor_external_id: that row's id in the source.
      new_amount_minor: the successor's amount.
      new_posted_date: the successor's posted date.
      stored: the row as the store holds it; None when the store never had it (the correction came first).
    """

    event: str
    txn_id: str
    external_id: str
    successor_txn_id: str | None
    successor_external_id: str | None
    new_amount_minor: int | None
    new_posted_date: date | None
    stored: dict[str, Any] | None

    @property
    def same_row(self) -> bool:
        return self.successor_txn_id == self.txn_id

    @property
    def moved(self) -> bool:
        """Whether the amount or the date changes: what an engine match was scored on."""
        old = self.stored
        return (
            old is None
            or not self.same_row
            or (self.new_amount_minor, self.new_posted_date) != (old["amount_minor"], old["posted_date"])
        )


@dataclass(slots=True)
class SupersedePlan:
    """What a batch changes besides adding rows; `not_again` are ids of the file the store must not take."""

    changes: list[RowSupersession] = field(default_factory=list)
    not_again: list[str] = field(default_factory=list)

    def count(self, event: str) -> int:
        return sum(c.event == event for c in self.changes if c.stored is not None)

    def notes(self) -> list[str]:
        """What the import report says about it, e.g. '1 pending row now booked'."""
        counts = {
            "pending {row} now booked": self.count("booked"),
            "{row} replaced by a correction (OFX CORRECTACTION REPLACE)": self.count("replaced"),
            "{row} deleted by a correction (OFX CORRECTACTION DELETE)": self.count("deleted"),
            "correction(s) of rows not in the store yet, recorded so that those rows are never stored": sum(
                c.stored is None for c in self.changes
            ),
            "{row} not stored again: a correction replaced or deleted them earlier": len(self.not_again),
        }
        return [f"{n} " + what.format(row="row" if n == 1 else "rows") for what, n in counts.items() if n]


@dataclass(slots=True)
class _Wanted:
    """What the file's corrections want for one corrected id (the last successor of a chain)."""

    event: str
    external_id: str
    successor_external_id: str | None
    successor: dict[str, Any] | None
    """The successor's row as staged (None for deleted, and where a later correction of the file took it)."""


def _txn_ids(external_ids: list[str], account_id: str) -> list[str]:
    """The txn_id a row with each of these source ids gets (see `assign_row_ids`)."""
    frame = pl.DataFrame(
        {"external_id": external_ids, "posted_date": [None] * len(external_ids), "amount_minor": 0,
         "currency": "", "description": ""},
        schema={"external_id": pl.String, "posted_date": pl.Date, "amount_minor": pl.Int64, "currency": pl.String,
                "description": pl.String},
    )  # fmt: skip
    return assign_row_ids(frame, account_id=account_id, id_column="txn_id")["txn_id"].to_list()


def plan_supersessions(
    store: Store, staged: pl.DataFrame, corrections: list[Correction], *, account_id: str
) -> SupersedePlan:
    """What importing `staged` (rows of one file with their txn_id) and its `corrections` changes; reads only."""
    plan = SupersedePlan()
    gone = store.query(
        "SELECT DISTINCT txn_id FROM bank_row_events WHERE account_id = ? AND event IN ('replaced', 'deleted') "
        "AND txn_id IS DISTINCT FROM successor_txn_id",
        [account_id],
    )
    ever_gone = set(gone["txn_id"].to_list())

    # corrections in file order; a chain (A replaced by B, B by C) ends at its last successor
    lines = staged.filter(pl.col("source_line").is_in([c.source_line for c in corrections]))
    by_line = {r["source_line"]: r for r in lines.iter_rows(named=True)}
    originals = _txn_ids([c.external_id for c in corrections], account_id)
    wanted: dict[str, _Wanted] = {}
    for correction, original in zip(corrections, originals, strict=True):
        replaces = correction.action == "replace"
        entry = _Wanted(
            "replaced" if replaces else "deleted",
            correction.external_id,
            correction.successor_external_id,
            by_line.get(correction.source_line) if replaces else None,
        )
        for earlier in wanted.values():
            if earlier.successor_external_id == correction.external_id:
                earlier.event, earlier.successor_external_id = entry.event, entry.successor_external_id
                earlier.successor = entry.successor
        wanted[original] = entry

    staged_booked = staged.filter(~pl.col("pending"))
    stored = _stored(store, sorted(wanted), staged_booked.select("txn_id"))

    for original, entry in wanted.items():
        successor = entry.successor
        old = stored.get(original)
        if successor is not None and successor["txn_id"] == original:  # replaced under the same FITID
            if old is None or _same_content(old, successor):
                continue
        elif old is None and original in ever_gone:
            continue  # recorded by an earlier import of this (or another) correcting file
        plan.changes.append(_change(entry.event, original, entry.external_id, successor, old))
        if successor is None and entry.successor_external_id:  # keep the successor's id in the record
            plan.changes[-1] = replace(plan.changes[-1], successor_external_id=entry.successor_external_id)

    handled = {c.txn_id for c in plan.changes}
    stored_pending = [t for t, old in stored.items() if old["pending"] and t not in handled]
    for row in staged_booked.filter(pl.col("txn_id").is_in(stored_pending)).iter_rows(named=True):
        old = stored[row["txn_id"]]
        plan.changes.append(_change("booked", row["txn_id"], row["external_id"] or row["txn_id"], row, old))

    superseded = ever_gone | {c.txn_id for c in plan.changes if not c.same_row}
    plan.not_again = staged.filter(pl.col("txn_id").is_in(list(superseded)))["txn_id"].to_list() if superseded else []
    return plan


def _stored(store: Store, corrected: list[str], booked: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """The stored rows the corrections name, and the stored pending rows the file has booked."""
    store.con.register("plan_booked_ids", booked.to_arrow())
    try:
        rows = store.query(
            "SELECT * FROM bank_transactions WHERE list_contains(?, txn_id) "
            "OR (pending AND txn_id IN (SELECT txn_id FROM plan_booked_ids))",
            [corrected],
        )
    finally:
        store.con.unregister("plan_booked_ids")
    return {r["txn_id"]: r for r in rows.iter_rows(named=True)}


def _same_content(stored: dict[str, Any], row: dict[str, Any]) -> bool:
    keys = ("posted_date", "amount_minor", "description", "raw", "pending")
    return all(stored[k] == row[k] for k in keys)


def _change(
    event: str, txn_id: str, external_id: str, successor: dict[str, Any] | None, stored: dict[str, Any] | None
) -> RowSupersession:
    return RowSupersession(
        event,
        txn_id,
        external_id,
        successor["txn_id"] if successor else None,
        successor["external_id"] if successor else None,
        successor["amount_minor"] if successor else None,
        successor["posted_date"] if successor else None,
        stored,
    )


def remove_superseded(store: Store, plan: SupersedePlan) -> None:
    """Delete the rows that go, before the batch inserts its rows (a booked row comes back with the same id)."""
    ids = [c.txn_id for c in plan.changes if c.stored is not None]
    if ids:
        store.con.execute("DELETE FROM bank_transactions WHERE list_contains(?, txn_id)", [ids])


def _action(change: RowSupersession, by_person: bool) -> str:
    if change.event == "deleted" or (not by_person and change.moved):
        return "dropped"
    return "kept" if change.same_row else "carried"


def apply_supersessions(store: Store, plan: SupersedePlan, *, account_id: str, batch_id: str) -> None:
    """After the batch's rows are in: resolve the matches that held the rows that went, record every change."""
    by_txn = {c.txn_id: c for c in plan.changes if c.stored is not None}
    holding = holding_matches(store, list(by_txn))
    successors = {c.txn_id: c.successor_txn_id for c in by_txn.values()}
    actions = settle_matches(store, holding, lambda txn_id, by_person: _action(by_txn[txn_id], by_person), successors)
    forget_replaced_bank_rows(store.con, successors)

    now = datetime.now(UTC).replace(tzinfo=None)
    matched = set(holding["bank_txn_id"]) if holding.height else set()
    events = [_event(by_txn[r["bank_txn_id"]], r, actions[r["match_id"]]) for r in holding.iter_rows(named=True)]
    events.extend(_event(c, None, None) for c in plan.changes if c.txn_id not in matched)
    for event in events:
        values = [uuid.uuid4().hex, batch_id, account_id, *event, now]
        store.con.execute(f"INSERT INTO bank_row_events VALUES ({', '.join('?' * len(values))})", values)


def _event(change: RowSupersession, match: dict[str, Any] | None, action: str | None) -> list[Any]:
    """The columns of `bank_row_events` from `event` to `ledger_entry_ids`."""
    old = change.stored
    return [
        change.event, change.txn_id, change.external_id, change.successor_txn_id, change.successor_external_id,
        old["amount_minor"] if old else None, change.new_amount_minor,
        json.dumps(old, default=str, ensure_ascii=False) if old else None,
        match["match_id"] if match else None, match["status"] if match else None,
        match["origin"] if match else None, action,
        list(match["ledger_entry_ids"]) if match else None,
    ]  # fmt: skip
