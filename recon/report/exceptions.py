"""What is left for a person: unmatched rows with their reason, and suggested matches."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from recon.decisions import IN_EFFECT_SQL
from recon.money import minor_to_decimal_expr
from recon.store import Store

# Matching sees open rows only: a row already matched to another or flagged as a duplicate is no
# candidate, so the texts say "open" rather than suggest the other side lacks the amount.
_REASON_TEMPLATE = {
    "no_candidate": "no open {other} with this amount in the date window (rows matched to others or flagged as "
    "duplicates are not candidates)",
    "below_threshold": "open candidates found, none similar enough",
    "candidate_taken": "its candidates matched other rows better",
    "ambiguous": "several rows fit equally well: a person must choose",
    "amount_differs": "an open candidate has a different amount (a fee? a typo?)",
    "outside_date_window": "an open {other} with this amount is outside the date window",
    "rejected": "its only candidate is a pairing a person rejected",
    "not_matched_yet": "not matched yet (run 'recon match')",
    "duplicate": "repeats another row: see the explanation",
    "to_book": "a person marked it to be booked by its rule",
}
# the reason texts of a bank row (its other side is the books) and of a ledger row
REASON_TEXT = {reason: text.format(other="book entry") for reason, text in _REASON_TEMPLATE.items()}
LEDGER_REASON_TEXT = {reason: text.format(other="bank row") for reason, text in _REASON_TEMPLATE.items()}

EXCEPTION_COLUMNS = [
    "kind", "account_id", "date", "amount", "currency", "description", "reason", "reason_text",
    "row_id", "source", "match_id", "score", "explanation", "category", "rule",
]  # fmt: skip

_UNMATCHED_SQL = """
SELECT '{side}_unmatched' AS kind, r.account_id, r.posted_date AS date, r.amount_minor, r.currency,
       r.description, {reason} AS reason, r.{key} AS row_id,
       r.source_file || ':' || coalesce(CAST(r.source_line AS VARCHAR), '?') AS source,
       NULL AS match_id, NULL::DOUBLE AS score, NULL AS explanation, {category}
FROM {table} r LEFT JOIN open_items o ON o.side = '{side}' AND o.row_id = r.{key}
{category_join}
WHERE {extra} r.{key} NOT IN (
    SELECT l.{link} FROM match_links l JOIN matches m USING (match_id)
    WHERE m.status IN ('auto', 'confirmed', 'suggested'))
AND r.{key} NOT IN (SELECT d.row_id FROM duplicates d WHERE d.side = '{side}' AND d.status = 'flagged')
"""

_BANK_CATEGORY_SQL = """CASE
    WHEN c.splits IS NOT NULL THEN 'split: ' || array_to_string(list_transform(
        from_json(c.splits, '[{"category": "VARCHAR", "amount": "VARCHAR"}]'),
        lambda p: p.category || ' ' || p.amount), '; ')
    WHEN c.transfer_account IS NOT NULL THEN 'transfer to ' || c.transfer_account || coalesce(
        ' (' || (SELECT a.ledger_account FROM accounts a WHERE a.account_id = c.transfer_account) || ')', '')
    ELSE c.category END AS category, c.rule_name AS rule"""
"""Where a rule (or a person) books the bank row: its category, each part of a split, or the transfer's account."""

_DUPLICATE_SQL = """
SELECT 'duplicate' AS kind, r.account_id, r.posted_date AS date, r.amount_minor, r.currency,
       r.description, 'duplicate' AS reason, r.{key} AS row_id,
       r.source_file || ':' || coalesce(CAST(r.source_line AS VARCHAR), '?') AS source,
       NULL AS match_id, NULL::DOUBLE AS score, d.side || ' row ' || d.reason AS explanation,
       NULL AS category, NULL AS rule
FROM duplicates d JOIN {table} r ON r.{key} = d.row_id
WHERE d.side = '{side}' AND d.status = 'flagged'
"""

_SUGGESTED_SQL = """
SELECT 'suggested' AS kind, m.account_id, b.posted_date AS date, b.amount_minor, b.currency,
       b.description || '  <->  ' || e.description AS description, 'suggested' AS reason,
       b.txn_id || ' / ' || e.entry_id AS row_id,
       b.source_file || ':' || coalesce(CAST(b.source_line AS VARCHAR), '?') AS source,
       m.match_id, m.score, m.reasons AS explanation, NULL AS category, NULL AS rule
FROM matches m JOIN match_links l USING (match_id)
JOIN bank_transactions b ON b.txn_id = l.bank_txn_id
JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
WHERE m.status = 'suggested'
"""


def exceptions_frame(store: Store) -> pl.DataFrame:
    """All exceptions, ordered by account, kind and date."""
    parts = [
        _UNMATCHED_SQL.format(
            side="bank",
            key="txn_id",
            table="bank_transactions",
            link="bank_txn_id",
            extra="NOT r.pending AND NOT coalesce(c.ignored, false) AND",  # ignored by a rule: not an exception
            category=_BANK_CATEGORY_SQL,
            reason=f"""CASE WHEN r.txn_id IN (
                SELECT t.txn_id FROM review_decisions d, unnest(d.bank_txn_ids) AS t(txn_id)
                WHERE d.action = 'book' AND {IN_EFFECT_SQL}) THEN 'to_book'
                ELSE coalesce(o.reason, 'not_matched_yet') END""",
            category_join="LEFT JOIN categorizations c ON c.txn_id = r.txn_id",
        ),
        _UNMATCHED_SQL.format(
            side="ledger",
            key="entry_id",
            table="ledger_entries",
            link="ledger_entry_id",
            extra="",
            category="NULL AS category, NULL AS rule",
            reason="coalesce(o.reason, 'not_matched_yet')",
            category_join="",
        ),
        _SUGGESTED_SQL,
        _DUPLICATE_SQL.format(side="bank", key="txn_id", table="bank_transactions"),
        _DUPLICATE_SQL.format(side="ledger", key="entry_id", table="ledger_entries"),
    ]
    sql = " UNION ALL ".join(f"({p})" for p in parts) + " ORDER BY account_id, kind, date, row_id"
    frame = store.query(sql)
    return frame.with_columns(
        minor_to_decimal_expr(pl.col("amount_minor"), pl.col("currency")).alias("amount"),
        pl.when(pl.col("kind") == "ledger_unmatched")
        .then(pl.col("reason").replace_strict(LEDGER_REASON_TEXT, default=pl.col("reason")))
        .otherwise(pl.col("reason").replace_strict(REASON_TEXT, default=pl.col("reason")))
        .alias("reason_text"),
    ).select(*EXCEPTION_COLUMNS, "amount_minor")


@dataclass(frozen=True, slots=True)
class ExceptionCounts:
    """What a report lists, counted as a person reviews it.

    Attributes:
      bank_open: bank rows not in the books.
      ledger_open: book entries not at the bank.
      suggested: suggested matches (a 1:N suggestion is one, though it has a line per link).
      duplicates: rows flagged as repeating another.
    """

    bank_open: int
    ledger_open: int
    suggested: int
    duplicates: int

    @property
    def total(self) -> int:
        return self.bank_open + self.ledger_open + self.suggested + self.duplicates

    def parts(self) -> str:
        """The total's parts in words, e.g. for the run summary."""
        return (
            f"{self.bank_open} bank rows and {self.ledger_open} ledger rows open, "
            f"{self.suggested} suggested matches to review, {self.duplicates} possible duplicates"
        )


def exception_counts(exceptions: pl.DataFrame) -> ExceptionCounts:
    """Count the items of `exceptions_frame`: suggestions by match, everything else by row."""
    kind = pl.col("kind")
    return ExceptionCounts(
        bank_open=exceptions.filter(kind == "bank_unmatched").height,
        ledger_open=exceptions.filter(kind == "ledger_unmatched").height,
        suggested=exceptions.filter(kind == "suggested")["match_id"].n_unique(),
        duplicates=exceptions.filter(kind == "duplicate").height,
    )


def account_summary(store: Store) -> pl.DataFrame:
    """Per account: bank and ledger rows, matched, suggested and open counts."""
    return store.query(
        """
        WITH held AS (
            SELECT l.bank_txn_id, l.ledger_entry_id, m.status FROM match_links l JOIN matches m USING (match_id)
            WHERE m.status IN ('auto', 'confirmed', 'suggested'))
        SELECT a.account_id, a.currency,
          (SELECT count(*) FROM bank_transactions b WHERE b.account_id = a.account_id) AS bank_rows,
          (SELECT count(*) FROM ledger_entries e WHERE e.account_id = a.account_id) AS ledger_rows,
          (SELECT count(DISTINCT h.bank_txn_id) FROM held h JOIN bank_transactions b ON b.txn_id = h.bank_txn_id
             WHERE b.account_id = a.account_id AND h.status IN ('auto', 'confirmed')) AS bank_matched,
          (SELECT count(DISTINCT h.bank_txn_id) FROM held h JOIN bank_transactions b ON b.txn_id = h.bank_txn_id
             WHERE b.account_id = a.account_id AND h.status = 'suggested') AS bank_suggested
        FROM accounts a ORDER BY a.account_id
        """
    )
