"""What the review page shows, read from the store in one go: open rows, suggestions, possible duplicates,
recent decisions.

Open rows come from the exceptions report's own list (`exceptions_frame`), so the
page and `exceptions.html` agree on what is open. Read only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from recon.decisions import IN_EFFECT_SQL, UNDO_PREFIX, rows_to_book
from recon.report.exceptions import exceptions_frame
from recon.store import Store

__all__ = ["ReviewData", "Suggestion", "load_review_data"]

UNDOABLE = ("confirm", "reject", "match", "book", "categorize")
RECENT_DECISIONS = 30


@dataclass(slots=True)
class Suggestion:
    """A suggested match with its rows on both sides (dicts: row_id, date, amount_minor, currency, ...)."""

    match_id: str
    account_id: str
    kind: str
    score: float
    reasons: str
    bank_rows: list[dict[str, Any]] = field(default_factory=list)
    ledger_rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReviewData:
    """Everything on the page.

    Attributes:
      suggestions: suggested matches, by account and match id.
      open_rows: unmatched bank and ledger rows (dicts with side, row_id, date, amount_minor, ...).
      to_book: bank rows marked to be booked by a rule: txn_id -> decision_id.
      decisions: the latest decisions, newest first, with `undoable` set where an undo makes sense.
      duplicates: rows flagged as possible duplicates, each with the row it repeats (dicts: side, row_id,
        reason, date, amount_minor, currency, description, source, and the same prefixed `of_`).
      by_person: bank rows a person categorized: txn_id -> the decision (None for one made before decisions).
      categories: the GL accounts rows are booked to so far, offered in the account field.
    """

    suggestions: list[Suggestion]
    open_rows: list[dict[str, Any]]
    to_book: dict[str, str]
    decisions: list[dict[str, Any]]
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    by_person: dict[str, str | None] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)


_SUGGESTION_ROWS_SQL = """
WITH links AS (SELECT DISTINCT match_id, bank_txn_id, ledger_entry_id FROM match_links)
SELECT m.match_id, m.account_id, m.kind, m.score, m.reasons, s.side, s.row_id, s.date, s.amount_minor,
       s.currency, s.description, s.source
FROM matches m JOIN (
    SELECT DISTINCT l.match_id, 'bank' AS side, r.txn_id AS row_id, r.posted_date AS date, r.amount_minor,
           r.currency, r.description, r.source_file || ':' || coalesce(CAST(r.source_line AS VARCHAR), '?') AS source
    FROM links l JOIN bank_transactions r ON r.txn_id = l.bank_txn_id
    UNION ALL
    SELECT DISTINCT l.match_id, 'ledger', r.entry_id, r.posted_date, r.amount_minor,
           r.currency, r.description, r.source_file || ':' || coalesce(CAST(r.source_line AS VARCHAR), '?')
    FROM links l JOIN ledger_entries r ON r.entry_id = l.ledger_entry_id
) s USING (match_id)
WHERE m.status = 'suggested'
ORDER BY m.account_id, m.match_id, s.side, s.date, s.row_id
"""

_DUPLICATE_ROWS_SQL = """
SELECT d.side, d.row_id, d.duplicate_of, d.account_id, d.reason,
       r.posted_date AS date, r.amount_minor, r.currency, r.description,
       r.source_file || ':' || coalesce(CAST(r.source_line AS VARCHAR), '?') AS source,
       o.posted_date AS of_date, o.amount_minor AS of_amount_minor, o.currency AS of_currency,
       o.description AS of_description,
       o.source_file || ':' || coalesce(CAST(o.source_line AS VARCHAR), '?') AS of_source
FROM duplicates d
JOIN (SELECT 'bank' AS side, txn_id AS id, posted_date, amount_minor, currency, description, source_file, source_line
      FROM bank_transactions
      UNION ALL
      SELECT 'ledger', entry_id, posted_date, amount_minor, currency, description, source_file, source_line
      FROM ledger_entries) r ON r.side = d.side AND r.id = d.row_id
LEFT JOIN (SELECT 'bank' AS side, txn_id AS id, posted_date, amount_minor, currency, description, source_file,
                  source_line FROM bank_transactions
           UNION ALL
           SELECT 'ledger', entry_id, posted_date, amount_minor, currency, description, source_file, source_line
           FROM ledger_entries) o ON o.side = d.side AND o.id = d.duplicate_of
WHERE d.status = 'flagged'
ORDER BY d.side, d.account_id, r.posted_date, d.row_id
"""

_DECISIONS_SQL = f"""
SELECT d.decision_id, d.decided_at, d.decided_by, d.action, d.match_id, d.bank_txn_ids, d.ledger_entry_ids, d.note,
       {IN_EFFECT_SQL} AS in_effect
FROM review_decisions d ORDER BY d.decided_at DESC, d.decision_id DESC LIMIT {RECENT_DECISIONS}
"""


def _suggestions(store: Store) -> list[Suggestion]:
    found: dict[str, Suggestion] = {}
    for row in store.query(_SUGGESTION_ROWS_SQL).iter_rows(named=True):
        s = found.setdefault(
            row["match_id"], Suggestion(row["match_id"], row["account_id"], row["kind"], row["score"], row["reasons"])
        )
        (s.bank_rows if row["side"] == "bank" else s.ledger_rows).append(row)
    return list(found.values())


def _open_rows(store: Store) -> list[dict[str, Any]]:
    frame = exceptions_frame(store).filter(pl.col("kind").is_in(["bank_unmatched", "ledger_unmatched"]))
    frame = frame.with_columns(pl.col("kind").str.replace("_unmatched", "").alias("side"))
    return list(frame.sort("side", "account_id", "date", "row_id").iter_rows(named=True))


def _decisions(store: Store) -> list[dict[str, Any]]:
    rows = list(store.query(_DECISIONS_SQL).iter_rows(named=True))
    for row in rows:
        row["undoable"] = bool(row["in_effect"]) and row["action"] in UNDOABLE
        row["undoes"] = row["decision_id"].removeprefix(UNDO_PREFIX) if row["action"] == "undo" else None
    return rows


def _by_person(store: Store) -> dict[str, str | None]:
    rows = store.con.execute("SELECT txn_id, run_id FROM categorizations WHERE origin = 'person'").fetchall()
    return {str(txn_id): decision for txn_id, decision in rows}


def _categories(store: Store) -> list[str]:
    rows = store.con.execute(
        "SELECT DISTINCT category FROM categorizations WHERE category IS NOT NULL ORDER BY category"
    ).fetchall()
    return [str(r[0]) for r in rows]


def load_review_data(store: Store) -> ReviewData:
    return ReviewData(
        _suggestions(store), _open_rows(store), rows_to_book(store), _decisions(store),
        duplicates=list(store.query(_DUPLICATE_ROWS_SQL).iter_rows(named=True)),
        by_person=_by_person(store), categories=_categories(store),
    )  # fmt: skip
