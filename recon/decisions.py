"""People's decisions beyond confirm/reject/match: marking rows to book, reversing a decision.

`recon.review` applies confirm, reject and match-by-hand; this module adds the rest
that the review front-ends (CLI and web page) need, on the same `review_decisions`
log. The log is append-only: a reversal is a new decision (action `undo`) whose id
is `undo-` followed by the id of the decision it reverses, so a decision is in
effect exactly when no `undo-<its id>` row exists. Every call is one transaction.

This module never decides anything itself, and never deletes a logged decision.
"""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from recon.categorize.rows import WRITTEN_ROWS_SQL
from recon.errors import UserError
from recon.store import Store

__all__ = [
    "UNDO_PREFIX",
    "Decision",
    "default_decider",
    "dismiss_duplicates",
    "external_id_hint",
    "find_decision",
    "hand_match_difference",
    "insert_decision",
    "mark_to_book",
    "rows_to_book",
    "undo_consequence",
    "undo_decision",
]

UNDO_PREFIX = "undo-"

# A decision is in effect while no undo of it is logged.
IN_EFFECT_SQL = f"NOT EXISTS (SELECT 1 FROM review_decisions u WHERE u.decision_id = '{UNDO_PREFIX}' || d.decision_id)"


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of `review_decisions`.

    Attributes:
      decision_id: its id (`undo-<id>` for the reversal of decision <id>).
      decided_at: when, UTC.
      decided_by: who.
      action: confirm | reject | match | book | categorize | not_duplicate | undo | undo_batch.
      match_id: the match decided on, if any.
      bank_txn_ids, ledger_entry_ids: the rows it is about.
      note: why, in the person's words.
    """

    decision_id: str
    decided_at: datetime
    decided_by: str
    action: str
    match_id: str | None
    bank_txn_ids: list[str]
    ledger_entry_ids: list[str]
    note: str | None


def default_decider() -> str:
    """Who decides when the caller does not say: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def insert_decision(store: Store, decision: Decision) -> None:
    store.con.execute(
        "INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            decision.decision_id, decision.decided_at, decision.decided_by, decision.action, decision.match_id,
            decision.bank_txn_ids, decision.ledger_entry_ids, decision.note,
        ],
    )  # fmt: skip


def find_decision(store: Store, decision_id: str) -> Decision | None:
    rows = store.con.execute(
        "SELECT decision_id, decided_at, decided_by, action, match_id, bank_txn_ids, ledger_entry_ids, note "
        "FROM review_decisions WHERE decision_id = ?",
        [decision_id],
    ).fetchall()
    if not rows:
        return None
    d_id, at, by, action, match_id, bank_ids, ledger_ids, note = rows[0]
    return Decision(d_id, at, by, action, match_id, list(bank_ids), list(ledger_ids), note)


def rows_to_book(store: Store) -> dict[str, str]:
    """Bank rows a person marked to be booked by a rule (and not unmarked): txn_id -> decision_id."""
    rows = store.con.execute(
        f"""SELECT t.txn_id, d.decision_id FROM review_decisions d, unnest(d.bank_txn_ids) AS t(txn_id)
            WHERE d.action = 'book' AND {IN_EFFECT_SQL} ORDER BY d.decided_at"""
    ).fetchall()
    return {str(txn_id): str(decision_id) for txn_id, decision_id in rows}


def hand_match_difference(store: Store, bank_ids: list[str], ledger_ids: list[str]) -> tuple[int, str]:
    """Bank total minus ledger total of rows about to be matched by hand, in minor units, and the currency.

    Unknown ids and rows in several currencies (which cannot be added up) are refused.
    """
    bank_ids, ledger_ids = sorted(set(bank_ids)), sorted(set(ledger_ids))
    known = store.con.execute(
        "SELECT 'bank', txn_id FROM bank_transactions WHERE list_contains(?, txn_id) "
        "UNION ALL SELECT 'ledger', entry_id FROM ledger_entries WHERE list_contains(?, entry_id)",
        [bank_ids, ledger_ids],
    ).fetchall()
    missing = [f"bank row {i}" for i in bank_ids if ("bank", i) not in known]
    missing += [f"ledger row {i}" for i in ledger_ids if ("ledger", i) not in known]
    if missing:
        raise UserError(f"unknown {', '.join(missing)}{external_id_hint(store, bank_ids, ledger_ids)}")
    found = store.con.execute(
        """SELECT currency, sum(amount_minor) FILTER (WHERE side = 'bank'),
                  sum(amount_minor) FILTER (WHERE side = 'ledger')
           FROM (SELECT 'bank' AS side, amount_minor, currency FROM bank_transactions WHERE list_contains(?, txn_id)
                 UNION ALL
                 SELECT 'ledger', amount_minor, currency FROM ledger_entries WHERE list_contains(?, entry_id))
           GROUP BY currency""",
        [bank_ids, ledger_ids],
    ).fetchall()
    if len(found) > 1:
        raise UserError(f"rows in different currencies cannot be matched: {', '.join(sorted(r[0] for r in found))}")
    if not found:
        return 0, ""
    currency, bank_total, ledger_total = found[0]
    return int(bank_total or 0) - int(ledger_total or 0), str(currency)


def external_id_hint(store: Store, bank_ids: list[str], ledger_ids: list[str]) -> str:
    """For ids that are a source's own id (a FITID, a GL line id): which stored row they name."""
    found = store.con.execute(
        "SELECT 'bank', external_id, txn_id FROM bank_transactions WHERE list_contains(?, external_id) "
        "UNION ALL SELECT 'ledger', external_id, entry_id FROM ledger_entries WHERE list_contains(?, external_id) "
        "ORDER BY ALL",
        [bank_ids, ledger_ids],
    ).fetchall()
    hints = [f"{external} is the external id of {side} row {row_id}" for side, external, row_id in found]
    return f" ({'; '.join(hints)}: give the row ids, txn_id / entry_id)" if hints else ""


def mark_to_book(store: Store, bank_ids: list[str], *, by: str, note: str | None = None) -> str:
    """A person says these bank rows are to be booked by a rule (a fee, interest): returns the decision id.

    Rows already in an auto or confirmed match, or already marked, are refused, and so are
    rows no rule categorizes (or a rule ignores): there is nothing to book them by.
    """
    bank_ids = sorted(set(bank_ids))
    if not bank_ids:
        raise UserError("name at least one bank row to book")
    with store.transaction():
        known = {r[0] for r in store.con.execute(
            "SELECT txn_id FROM bank_transactions WHERE list_contains(?, txn_id)", [bank_ids]
        ).fetchall()}  # fmt: skip
        missing = [i for i in bank_ids if i not in known]
        if missing:
            raise UserError(f"unknown bank rows: {', '.join(missing)}")
        held = store.con.execute(
            """SELECT DISTINCT l.bank_txn_id, m.match_id FROM match_links l JOIN matches m USING (match_id)
               WHERE m.status IN ('auto', 'confirmed') AND list_contains(?, l.bank_txn_id) ORDER BY ALL""",
            [bank_ids],
        ).fetchall()
        if held:
            listed = ", ".join(f"{txn} (match {match})" for txn, match in held)
            raise UserError(f"rows already matched, nothing to book: {listed}")
        _refuse_rows_without_booking(store, bank_ids)
        marked = sorted(set(bank_ids) & set(rows_to_book(store)))
        if marked:
            raise UserError(f"rows already marked to book: {', '.join(marked)}")
        decision = Decision(uuid.uuid4().hex, _now(), by, "book", None, bank_ids, [], note)
        insert_decision(store, decision)
    return decision.decision_id


def _refuse_rows_without_booking(store: Store, bank_ids: list[str]) -> None:
    """Refuse rows whose categorization says nothing to book: no category, split or transfer."""
    rows = store.con.execute(
        """SELECT b.txn_id, coalesce(c.ignored, false) FROM bank_transactions b
           LEFT JOIN categorizations c ON c.txn_id = b.txn_id
           WHERE list_contains(?, b.txn_id) AND (c.txn_id IS NULL OR c.ignored
                 OR (c.category IS NULL AND c.splits IS NULL AND c.transfer_account IS NULL))
           ORDER BY b.txn_id""",
        [bank_ids],
    ).fetchall()
    uncategorized = [str(txn) for txn, ignored in rows if not ignored]
    ignored = [str(txn) for txn, was_ignored in rows if was_ignored]
    problems = []
    if uncategorized:
        problems.append(
            f"no rule categorizes bank row(s) {', '.join(uncategorized)}: write or fix a rule first "
            "('recon rules test' shows what the rules do), or match them"
        )
    if ignored:
        problems.append(f"a rule ignores bank row(s) {', '.join(ignored)}: there is no entry to book")
    if problems:
        raise UserError("; ".join(problems))


def dismiss_duplicates(store: Store, row_ids: list[str], *, by: str, note: str | None = None) -> str:
    """A person says these flagged rows are not duplicates: the flags stay dismissed on every later run."""
    row_ids = sorted(set(row_ids))
    if not row_ids:
        raise UserError("name at least one flagged row")
    with store.transaction():
        flagged = dict(store.con.execute(
            "SELECT row_id, side FROM duplicates WHERE status = 'flagged' AND list_contains(?, row_id)", [row_ids]
        ).fetchall())  # fmt: skip
        missing = [i for i in row_ids if i not in flagged]
        if missing:
            raise UserError(f"not flagged as duplicates: {', '.join(missing)}")
        store.con.execute("UPDATE duplicates SET status = 'dismissed' WHERE list_contains(?, row_id)", [row_ids])
        bank = [i for i in row_ids if flagged[i] == "bank"]
        ledger = [i for i in row_ids if flagged[i] == "ledger"]
        decision = Decision(uuid.uuid4().hex, _now(), by, "not_duplicate", None, bank, ledger, note)
        insert_decision(store, decision)
    return decision.decision_id


def _later_decisions(store: Store, decision: Decision) -> list[str]:
    """Decisions in effect on the same match made after `decision`: they would be silently changed by its undo."""
    if decision.match_id is None:
        return []
    rows = store.con.execute(
        f"""SELECT d.decision_id FROM review_decisions d
            WHERE d.match_id = ? AND d.decision_id <> ? AND d.action NOT IN ('undo', 'undo_batch')
            AND d.decided_at >= ? AND {IN_EFFECT_SQL} ORDER BY d.decided_at""",
        [decision.match_id, decision.decision_id, decision.decided_at],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _match_state(store: Store, match_id: str | None) -> tuple[str, str] | None:
    rows = store.con.execute("SELECT status, origin FROM matches WHERE match_id = ?", [match_id]).fetchall()
    return (str(rows[0][0]), str(rows[0][1])) if rows else None


def _drop_match(store: Store, match_id: str) -> None:
    store.con.execute("DELETE FROM match_links WHERE match_id = ?", [match_id])
    store.con.execute("DELETE FROM matches WHERE match_id = ?", [match_id])


def _reverse(store: Store, decision: Decision) -> None:
    """Put the matches back as they were before `decision` (as far as the engine is concerned)."""
    state = _match_state(store, decision.match_id)
    if decision.action == "confirm":
        if state is None or state[0] != "confirmed":
            raise UserError(f"match '{decision.match_id}' is no longer confirmed; nothing to undo")
        if state[1] == "engine":
            # back to a suggestion: the next run scores its rows again and decides auto or suggested
            store.con.execute("UPDATE matches SET status = 'suggested' WHERE match_id = ?", [decision.match_id])
    elif decision.action == "reject":
        if state is not None and state[0] != "rejected":
            raise UserError(f"match '{decision.match_id}' is no longer rejected; nothing to undo")
        if state is not None:
            # forget the rejected match; the next run may propose the pair again
            _drop_match(store, str(decision.match_id))
    elif decision.action == "match":
        if state is None or state != ("confirmed", "person"):
            raise UserError(f"match '{decision.match_id}' made by hand no longer exists; nothing to undo")
        _drop_match(store, str(decision.match_id))
    elif decision.action == "categorize":
        _reverse_categorization(store, decision)
    elif decision.action != "book":
        raise UserError(f"decision '{decision.decision_id}' ({decision.action}) cannot be undone")


def _reverse_categorization(store: Store, decision: Decision) -> None:
    """Remove a person's categorization (its rows name the decision); the rules categorize the rows again.

    Refused once write-back booked a row by it: the book has that entry, and recon never takes back what it wrote."""
    written = store.con.execute(
        f"""SELECT txn_id, location FROM ({WRITTEN_ROWS_SQL})
            WHERE txn_id IN (SELECT txn_id FROM categorizations WHERE origin = 'person' AND run_id = ?)
            ORDER BY ALL""",
        [decision.decision_id],
    ).fetchall()
    if written:
        places = ", ".join(f"{txn} at {where}" for txn, where in written)
        raise UserError(
            f"decision '{decision.decision_id}' is already written back to a book ({places}): recon does not "
            "undo that, edit the book by hand"
        )
    removed = store.con.execute(
        "DELETE FROM categorizations WHERE origin = 'person' AND run_id = ? RETURNING txn_id", [decision.decision_id]
    ).fetchall()
    if not removed:
        raise UserError(f"the rows categorized by decision '{decision.decision_id}' are gone; nothing to undo")


def undo_consequence(decision: Decision | None) -> str:
    """What follows from undoing `decision` that the person may not expect, as '; ...' (or '')."""
    if decision is not None and decision.action == "categorize":
        return "; the rules categorize its rows again on the next run"
    return ""


def undo_decision(store: Store, decision_id: str, *, by: str, note: str | None = None) -> str:
    """Reverse a decision, logged as a new decision `undo-<decision_id>`; returns the new decision's id.

    confirm: an engine match goes back to suggested. reject: the rejected match is
    forgotten. match: the hand-made match is removed, its rows are open again.
    book: the row is no longer marked. categorize: the person's categorization is removed
    (refused once written back to a book); the rules categorize the rows again on the next run.
    An undo is not undone (decide again instead), nor is a decision on a match that a later
    decision changed (undo that first).
    """
    with store.transaction():
        decision = find_decision(store, decision_id)
        if decision is None:
            raise UserError(f"no decision with id '{decision_id}'")
        if decision.action == "undo":
            raise UserError(f"decision '{decision_id}' is itself an undo; make the decision again instead")
        if decision.action == "undo_batch":
            raise UserError(f"decision '{decision_id}' removed an import batch; import the file again instead")
        if find_decision(store, UNDO_PREFIX + decision_id) is not None:
            raise UserError(f"decision '{decision_id}' is already undone")
        later = _later_decisions(store, decision)
        if later:
            raise UserError(
                f"match '{decision.match_id}' was decided again later (decision {', '.join(later)}); undo that first"
            )
        _reverse(store, decision)
        undo = Decision(
            UNDO_PREFIX + decision_id, _now(), by, "undo", decision.match_id,
            decision.bank_txn_ids, decision.ledger_entry_ids, note,
        )  # fmt: skip
        insert_decision(store, undo)
    return undo.decision_id
