"""Entries a book no longer has.

A beancount, hledger or GnuCash file is the whole book, so an entry imported from it
before and missing from it now was deleted in the books (or edited, where its id is a
hash of its content). Keeping it would leave the store agreeing with a book that no
longer exists: its match would stand, its bank row look reconciled. So it goes, in the
import's transaction: every match holding it is dropped (a person's too: a match to an
entry that is gone holds nothing; the import report names it), with its open item and
duplicate flags, and `ledger_row_events` keeps the entry as it was.

An export (a GL CSV, a QuickBooks or Xero report) covers the period it was asked for,
so what it lacks says nothing: only whole books are compared. A book that has none of
the entries imported from it before is refused rather than taken as "everything was
deleted": an empty or truncated file, a wrong path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import polars as pl

from recon.changed_rows import HOLDING_SQL, record_ledger_event
from recon.derived_rows import forget_rows
from recon.errors import Problem
from recon.money import format_minor
from recon.store import Store

__all__ = ["WHOLE_BOOK_FORMATS", "emptied_book_problem", "forget_gone_entries", "gone_entries", "gone_notes"]

WHOLE_BOOK_FORMATS = frozenset({"beancount", "hledger", "gnucash"})
"""Ledger formats whose file is the whole book (not an export of a period)."""
SHOWN = 5
"""Gone entries named one by one in the import report; the rest are counted."""


def gone_entries(store: Store, staged: pl.DataFrame, *, account_id: str, source_file: str) -> pl.DataFrame:
    """Stored entries of `account_id` imported from `source_file` that the file's rows now (`staged`) lack."""
    store.con.register("entries_in_book", staged.select("entry_id").to_arrow())
    try:
        return store.query(
            "SELECT * FROM ledger_entries WHERE account_id = ? AND source_file = ? "
            "AND entry_id NOT IN (SELECT entry_id FROM entries_in_book) ORDER BY posted_date, entry_id",
            [account_id, source_file],
        )
    finally:
        store.con.unregister("entries_in_book")


def emptied_book_problem(gone: pl.DataFrame, staged: pl.DataFrame, *, name: str) -> Problem | None:
    """A refusal when the book has none of its entries for the account any more, and the store has some."""
    if staged.height or gone.is_empty():
        return None
    return Problem(name, None, None, f"the book has none of the {gone.height} entries imported from it before "
                   "(an empty or cut-short file, or the wrong one?); nothing is changed")  # fmt: skip


def _shown(entry: dict[str, Any]) -> str:
    amount = format_minor(int(entry["amount_minor"]), str(entry["currency"]))
    label = entry["external_id"] or entry["entry_id"]
    return f"{entry['posted_date']} {amount} {entry['currency']} '{entry['description']}' ({label})"


def gone_notes(gone: pl.DataFrame, *, dry_run: bool = False) -> list[str]:
    """What the import report says about the entries gone from the book."""
    if gone.is_empty():
        return []
    rows = list(gone.iter_rows(named=True))
    shown = "; ".join(_shown(r) for r in rows[:SHOWN])
    more = f"; and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
    entries = "entry is" if len(rows) == 1 else "entries are"
    removed = "would be removed" if dry_run else "removed"
    return [f"{len(rows)} {entries} gone from the book since the last import, {removed}: {shown}{more}"]


def forget_gone_entries(store: Store, gone: pl.DataFrame, *, account_id: str, batch_id: str) -> list[str]:
    """Delete the `gone` entries, every match holding one and what names them; record each in
    `ledger_row_events`. Returns notes for the matches people had made or confirmed."""
    if gone.is_empty():
        return []
    con = store.con
    ids = gone["entry_id"].to_list()
    holding = store.query(HOLDING_SQL, [ids])
    now = datetime.now(UTC).replace(tzinfo=None)
    by_entry: dict[str, list[dict[str, Any] | None]] = {}
    for held in holding.iter_rows(named=True):
        for entry_id in held["ledger_entry_ids"]:
            by_entry.setdefault(entry_id, []).append(held)
    notes = []
    for entry in gone.iter_rows(named=True):
        for match in by_entry.get(entry["entry_id"], [None]):
            record_ledger_event(
                store, "gone", entry, "gone from the book", None, match, "dropped" if match else None,
                account_id=account_id, batch_id=batch_id, now=now,
            )  # fmt: skip
    dropped = holding["match_id"].to_list()
    con.execute("DELETE FROM match_links WHERE list_contains(?, match_id)", [dropped])
    con.execute("DELETE FROM matches WHERE list_contains(?, match_id)", [dropped])
    for match in holding.iter_rows(named=True):
        if match["by_person"]:
            notes.append(f"match {match['match_id']} ({match['status']}, made or decided by a person) is dropped: "
                         "an entry of it is gone from the book; its bank rows are open again")  # fmt: skip
    forget_rows(con, bank=[], ledger=ids)
    con.execute("DELETE FROM ledger_entries WHERE list_contains(?, entry_id)", [ids])
    return notes
