"""Rows a file brings under an id the store already holds, but with other content.

The two sides are treated differently because their truth is different:

- **ledger**: the books are the truth and bookkeepers edit them. A stored entry whose id
  comes again with new content (amount, date, description, counterparty, reference,
  account) takes the new content, in the import's transaction. An engine match holding it
  is dropped (the next match run matches it again: its score was for the old content); a
  person's match is kept, its differences recomputed, and reported. The entry as it was,
  and what became of each match, go to `ledger_row_events`.
- **bank**: the ids are the bank's, and a bank corrects a transaction with a correction
  (OFX `CORRECTACTION`, `recon.superseding`), not by sending the id again. A stored row
  whose id comes with another amount or date keeps what the store holds; the import
  report warns.

Two rows of one file that share an id but differ in amount or date make a broken file
(`repeated_id_problems`); identical repeats are dropped as before. Nothing here commits.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from recon.errors import Problem
from recon.match_carry import PERSON_SQL, recompute_differences
from recon.money import format_minor
from recon.store import Store

__all__ = [
    "BANK_CONTENT",
    "HOLDING_SQL",
    "LEDGER_CONTENT",
    "RowDifference",
    "apply_ledger_changes",
    "differing_rows",
    "record_ledger_event",
    "repeated_id_problems",
]

LEDGER_CONTENT = ("posted_date", "amount_minor", "currency", "description", "counterparty", "reference",
                  "ledger_account")  # fmt: skip
"""What the books may change of a stored entry: the store takes it."""
BANK_CONTENT = ("posted_date", "amount_minor")
"""What a bank row must keep under its id: the store keeps its own and warns."""

_LABELS = {"posted_date": "date", "amount_minor": "amount", "ledger_account": "account"}


@dataclass(frozen=True, slots=True)
class RowDifference:
    """A row of the file whose id the store holds with other content.

    Attributes:
      source_file: the file, as the import report names it.
      source_line: the row's line in it.
      row_id: txn_id or entry_id.
      external_id: the source's id (FITID, GL line id), if any.
      differences: (field, stored value, file value) for each content column that differs, as text.
      stored: the row as the store holds it.
      new: the row as the file has it.
    """

    source_file: str
    source_line: int | None
    row_id: str
    external_id: str | None
    differences: tuple[tuple[str, str, str], ...]
    stored: dict[str, Any]
    new: dict[str, Any]

    @property
    def what_changed(self) -> str:
        """E.g. "amount -4200.00 -> -4300.00, description 'Rent' -> 'Office rent'"."""
        return ", ".join(f"{field} {old} -> {new}" for field, old, new in self.differences)

    @property
    def where(self) -> str:
        line = f":{self.source_line}" if self.source_line is not None else ""
        return f"{self.source_file}{line}: {self.external_id or self.row_id}"


def _shown(column: str, value: Any, currency: str) -> str:
    if value is None or value == "":
        return "(empty)"
    if column == "amount_minor":
        return format_minor(int(value), currency)
    if column == "posted_date":
        return str(value)
    return f"'{value}'"


def differing_rows(
    store: Store,
    staged: pl.DataFrame,
    *,
    table: str,
    id_column: str,
    columns: tuple[str, ...],
    source_file: str,
    same_file: bool | None = None,
) -> list[RowDifference]:
    """The rows of `staged` whose id `table` holds with other values in `columns` (one query; reads only).

    `same_file`: True, only rows stored from `source_file`; False, only rows stored from another file."""
    if staged.height == 0:
        return []
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM t.{c}" for c in columns)
    where = {None: "", True: " AND t.source_file = $file", False: " AND t.source_file IS DISTINCT FROM $file"}
    store.con.register("staged_for_differences", staged.to_arrow())
    try:
        found = store.con.execute(
            f"SELECT s.{id_column} FROM staged_for_differences s JOIN {table} t USING ({id_column}) "
            f"WHERE ({differs}){where[same_file]}",
            {"file": source_file} if same_file is not None else {},
        ).fetchall()
        if not found:
            return []
        ids = [str(r[0]) for r in found]
        stored = store.query(f"SELECT * FROM {table} WHERE list_contains(?, {id_column})", [ids])
    finally:
        store.con.unregister("staged_for_differences")
    by_id = {r[id_column]: r for r in stored.iter_rows(named=True)}
    result = []
    for new in staged.filter(pl.col(id_column).is_in(ids)).iter_rows(named=True):
        old = by_id[new[id_column]]
        differences = tuple(
            (_LABELS.get(c, c), _shown(c, old[c], old["currency"]), _shown(c, new[c], new["currency"]))
            for c in columns
            if old[c] != new[c]
        )
        result.append(
            RowDifference(source_file, new["source_line"], new[id_column], new["external_id"], differences, old, new)
        )
    return sorted(result, key=lambda d: d.source_line or 0)


def repeated_id_problems(staged: pl.DataFrame, *, id_column: str, name: str) -> list[Problem]:
    """A Problem per row that repeats the id of an earlier row of the file with another amount or date."""
    repeats = staged.filter(pl.col(id_column).is_duplicated())
    problems = []
    first: dict[str, dict[str, Any]] = {}
    for row in repeats.iter_rows(named=True):
        earlier = first.setdefault(row[id_column], row)
        if earlier is row:
            continue
        fields = [c for c in ("amount_minor", "posted_date") if row[c] != earlier[c]]
        if not fields:
            continue
        shown = "; ".join(
            f"{_LABELS[c]} {_shown(c, earlier[c], earlier['currency'])} there, "
            f"{_shown(c, row[c], row['currency'])} here"
            for c in fields
        )
        label = row["external_id"] or row[id_column]
        problems.append(
            Problem(
                name,
                row["source_line"],
                "id",
                f"'{label}' is also the id of line {earlier['source_line']} but with another {shown}: "
                "two rows of one file cannot share an id",
            )
        )
    return problems


HOLDING_SQL = f"""
SELECT m.match_id, m.status, m.origin, {PERSON_SQL} AS by_person,
       list(DISTINCT l.bank_txn_id ORDER BY l.bank_txn_id) AS bank_txn_ids,
       list(DISTINCT l.ledger_entry_id ORDER BY l.ledger_entry_id) AS ledger_entry_ids
FROM matches m JOIN match_links l USING (match_id)
WHERE m.match_id IN (SELECT match_id FROM match_links WHERE list_contains(?, ledger_entry_id))
GROUP BY ALL ORDER BY m.match_id
"""
"""The matches holding any of the ledger entries given: who made them, their bank and ledger rows."""


def apply_ledger_changes(store: Store, changes: list[RowDifference], *, account_id: str, batch_id: str) -> list[str]:
    """Give the changed entries their new content, drop the engine's matches on them, keep people's;
    record each change in `ledger_row_events`. Returns the notes for the matches people made."""
    if not changes:
        return []
    con = store.con
    updated = pl.DataFrame([c.new for c in changes]).select(
        "entry_id", *LEDGER_CONTENT, "source_file", "source_line", "source_element", "raw"
    )
    con.register("changed_entries", updated.to_arrow())
    try:
        assignments = ", ".join(f"{c} = s.{c}" for c in updated.columns if c != "entry_id")
        con.execute(f"UPDATE ledger_entries t SET {assignments} FROM changed_entries s WHERE t.entry_id = s.entry_id")
    finally:
        con.unregister("changed_entries")

    by_id = {c.row_id: c for c in changes}
    now = datetime.now(UTC).replace(tzinfo=None)
    matched = set()
    notes = []
    for match in store.query(HOLDING_SQL, [list(by_id)]).iter_rows(named=True):
        action = "kept" if match["by_person"] else "dropped"
        if action == "dropped":
            con.execute("DELETE FROM match_links WHERE match_id = ?", [match["match_id"]])
            con.execute("DELETE FROM matches WHERE match_id = ?", [match["match_id"]])
        else:
            recompute_differences(store, match["match_id"])
        for change in (by_id[e] for e in match["ledger_entry_ids"] if e in by_id):
            matched.add(change.row_id)
            record_ledger_event(store, "changed", change.stored, change.what_changed, change.new["amount_minor"],
                                match, action, account_id=account_id, batch_id=batch_id, now=now)  # fmt: skip
            if action == "kept" and match["status"] == "rejected":
                notes.append(f"{change.where} is in match {match['match_id']}, which a person rejected: the "
                             "rejection of this pairing still stands")  # fmt: skip
            elif action == "kept":
                notes.append(f"{change.where} is in match {match['match_id']} ({match['status']}, made or decided "
                             "by a person): kept with the new content; check it still holds")  # fmt: skip
    for change in changes:
        if change.row_id not in matched:
            record_ledger_event(store, "changed", change.stored, change.what_changed, change.new["amount_minor"],
                                None, None, account_id=account_id, batch_id=batch_id, now=now)  # fmt: skip
    return notes


def record_ledger_event(
    store: Store,
    event: str,
    entry: dict[str, Any],
    changes: str,
    new_amount_minor: int | None,
    match: dict[str, Any] | None,
    action: str | None,
    *,
    account_id: str,
    batch_id: str,
    now: datetime,
) -> None:
    """One `ledger_row_events` row: what happened to `entry` (the row as stored) and to a `match` holding it
    (a row of `HOLDING_SQL`), if any."""
    values = [
        uuid.uuid4().hex, batch_id, account_id, event, entry["entry_id"], entry["external_id"], changes,
        entry["amount_minor"], new_amount_minor, json.dumps(entry, default=str, ensure_ascii=False),
        match["match_id"] if match else None, match["status"] if match else None,
        match["origin"] if match else None, action,
        list(match["bank_txn_ids"]) if match else None, now,
    ]  # fmt: skip
    store.con.execute(f"INSERT INTO ledger_row_events VALUES ({', '.join('?' * len(values))})", values)
