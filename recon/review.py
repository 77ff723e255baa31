"""People's decisions on matches: confirm, reject, match by hand.

Each call is one transaction that records the decision in `review_decisions` and
applies it to `matches` / `match_links`. The match service reads both tables on
every run, so a rerun never undoes a decision: confirmed and hand-made matches
hold their rows, and a rejected pair (or group) is never proposed again.

This module never decides anything itself; the CLI and web review call it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from recon.errors import UserError
from recon.match.result import match_id as stable_match_id
from recon.store import Store

__all__ = ["Decided", "confirm", "match_by_hand", "reject"]


@dataclass(frozen=True, slots=True)
class Decided:
    """What a decision did, for the message to the person.

    Attributes:
      match_id: the match decided on (or made by hand).
      replaced: engine matches removed to free its rows, as "match_id (status)".
      already: the match already had this status: nothing changed, no decision recorded.
      written_back: reject only: where write-back already marked its entries cleared.
    """

    match_id: str
    replaced: list[str] = field(default_factory=list)
    already: bool = False
    written_back: str | None = None

    def replaced_text(self) -> str:
        """'; it replaced engine match(es) ...', or '' when it replaced none."""
        return f"; it replaced engine match(es) {', '.join(self.replaced)}" if self.replaced else ""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _linked_ids(store: Store, match_id: str) -> tuple[list[str], list[str]]:
    links = store.query(
        "SELECT bank_txn_id, ledger_entry_id FROM match_links WHERE match_id = ? ORDER BY ALL", [match_id]
    )
    return sorted(set(links["bank_txn_id"])), sorted(set(links["ledger_entry_id"]))


def _record(
    store: Store, *, action: str, match_id: str, bank_ids: list[str], ledger_ids: list[str], by: str, note: str | None
) -> None:
    store.con.execute(
        "INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [uuid.uuid4().hex, _now(), by, action, match_id, bank_ids, ledger_ids, note],
    )


def _status_of(store: Store, match_id: str) -> str:
    found = store.query("SELECT status FROM matches WHERE match_id = ?", [match_id])
    if found.is_empty():
        raise UserError(f"no match with id '{match_id}'")
    return str(found["status"][0])


def _take_rows(store: Store, match_id: str, bank_ids: list[str], ledger_ids: list[str]) -> list[str]:
    """Free the rows for a person's match `match_id`: engine matches (auto, suggested) holding any of
    them are removed and returned as "match_id (status)"; another confirmed match holding one is
    refused, so no row is in two."""
    holding = store.query(
        """SELECT DISTINCT m.match_id, m.status FROM matches m JOIN match_links l USING (match_id)
           WHERE m.status IN ('auto', 'suggested', 'confirmed') AND m.match_id <> ?
           AND (list_contains(?, l.bank_txn_id) OR list_contains(?, l.ledger_entry_id))""",
        [match_id, bank_ids, ledger_ids],
    )
    confirmed = sorted(holding.filter(pl.col("status") == "confirmed")["match_id"])
    if confirmed:
        raise UserError(f"rows already in confirmed match(es) {', '.join(confirmed)}; reject first")
    stale = list(holding["match_id"])
    store.con.execute("DELETE FROM match_links WHERE list_contains(?, match_id)", [stale])
    store.con.execute("DELETE FROM matches WHERE list_contains(?, match_id)", [stale])
    return [f"{m} ({status})" for m, status in holding.sort("match_id").iter_rows()]


def _set_status(store: Store, match_id: str, status: str, *, action: str, by: str, note: str | None) -> Decided:
    with store.transaction():
        if _status_of(store, match_id) == status:  # a second click: the first decision stands, logged once
            return Decided(match_id, already=True)
        bank_ids, ledger_ids = _linked_ids(store, match_id)
        replaced = []
        if status == "confirmed":  # a rejected match confirmed after all: its rows may be matched elsewhere by now
            replaced = _take_rows(store, match_id, bank_ids, ledger_ids)
        store.con.execute("UPDATE matches SET status = ? WHERE match_id = ?", [status, match_id])
        _record(store, action=action, match_id=match_id, bank_ids=bank_ids, ledger_ids=ledger_ids, by=by, note=note)
    return Decided(match_id, replaced)


def confirm(store: Store, match_id: str, *, by: str, note: str | None = None) -> Decided:
    """A person accepts the match: it becomes `confirmed` and no run touches it again.

    A match already confirmed stays as it is (`already`), with no second decision."""
    return _set_status(store, match_id, "confirmed", action="confirm", by=by, note=note)


def reject(store: Store, match_id: str, *, by: str, note: str | None = None) -> Decided:
    """A person rejects the match: its rows are open again and the same pairing is never proposed again.

    A match already rejected stays as it is (`already`), with no second decision. `written_back`
    tells the person where write-back has already marked its entries cleared in a book: recon
    never takes back what it wrote, so they undo that in the book themselves."""
    decided = _set_status(store, match_id, "rejected", action="reject", by=by, note=note)
    written = store.query(
        """SELECT DISTINCT w.target, w.ledger_location, w.bank_id FROM writeback_log w
           JOIN match_links l ON w.item_key = l.ledger_entry_id
           WHERE l.match_id = ? AND w.action = 'clear' AND w.status = 'done' ORDER BY ALL""",
        [match_id],
    )
    if written.is_empty():
        return decided
    places = "; ".join(f"{location or target} (bank-id {bank_id})" for target, location, bank_id in written.iter_rows())
    note = f"already written back, marked cleared at {places}: recon does not undo that, edit the book by hand"
    return Decided(match_id, already=decided.already, written_back=note)


def match_by_hand(
    store: Store, bank_ids: list[str], ledger_ids: list[str], *, by: str, note: str | None = None
) -> Decided:
    """A person links bank rows to ledger rows: the new match (status confirmed, origin person).

    Engine matches (auto or suggested) holding any of the rows are removed and named in
    `replaced`; rows in a match a person confirmed are refused (reject that match first).
    """
    if not bank_ids or not ledger_ids:
        raise UserError("a match needs at least one bank row and one ledger row")
    bank_ids, ledger_ids = sorted(set(bank_ids)), sorted(set(ledger_ids))
    new_id = stable_match_id(bank_ids, ledger_ids)
    with store.transaction() as con:
        bank = store.query(
            "SELECT txn_id, account_id, posted_date, amount_minor FROM bank_transactions "
            "WHERE list_contains(?, txn_id)",
            [bank_ids],
        )
        ledger = store.query(
            "SELECT entry_id, account_id, posted_date, amount_minor FROM ledger_entries "
            "WHERE list_contains(?, entry_id)",
            [ledger_ids],
        )
        missing = sorted(set(bank_ids) - set(bank["txn_id"])) + sorted(set(ledger_ids) - set(ledger["entry_id"]))
        if missing:
            raise UserError(f"unknown rows: {', '.join(missing)}")
        accounts = set(bank["account_id"]) | set(ledger["account_id"])
        if len(accounts) != 1:
            raise UserError(f"rows of different accounts cannot be matched: {', '.join(sorted(accounts))}")
        # these very rows may be one match already: a confirmed one stands, an engine's gives way
        same = store.con.execute("SELECT status, origin FROM matches WHERE match_id = ?", [new_id]).fetchall()
        if same and same[0][0] == "confirmed":
            raise UserError(f"these rows already are confirmed match {new_id}; nothing to do")
        replaced = _take_rows(store, new_id, bank_ids, ledger_ids)
        replaced += [f"{new_id} ({status})" for status, origin in same
                     if origin == "engine" and status in ("auto", "suggested")]  # fmt: skip
        con.execute("DELETE FROM match_links WHERE match_id = ?", [new_id])
        con.execute("DELETE FROM matches WHERE match_id = ?", [new_id])

        kind = "1:1" if len(bank_ids) == 1 and len(ledger_ids) == 1 else (
            "1:N" if len(bank_ids) == 1 else "N:1" if len(ledger_ids) == 1 else "N:M"
        )  # fmt: skip
        amount_diff = int(bank["amount_minor"].sum()) - int(ledger["amount_minor"].sum())
        reasons = f"matched by hand by {by}" + (f": {note}" if note else "")
        account = accounts.pop()
        con.execute(
            "INSERT INTO matches VALUES (?, ?, 'confirmed', ?, 1.0, ?, 'person', NULL, ?)",
            [new_id, account, kind, reasons, _now()],
        )
        links = bank.select("txn_id", pl.col("posted_date").alias("b_date")).join(
            ledger.select("entry_id", pl.col("posted_date").alias("l_date")), how="cross"
        )
        for txn_id, b_date, entry_id, l_date in links.select("txn_id", "b_date", "entry_id", "l_date").iter_rows():
            con.execute(
                "INSERT INTO match_links VALUES (?, ?, ?, ?, ?)",
                [new_id, txn_id, entry_id, amount_diff, (b_date - l_date).days],
            )
        _record(store, action="match", match_id=new_id, bank_ids=bank_ids, ledger_ids=ledger_ids, by=by, note=note)
    return Decided(new_id, sorted(replaced))
