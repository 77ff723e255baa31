"""Match service: run the matching pipeline on the open rows, store the result atomically.

Open rows are those not in an `auto` or `confirmed` match; engine suggestions are
recomputed each run (kept, with their ids, when proposed again). Matches a person
made or confirmed are never touched, and a pair a person rejected is never proposed
again. Pending bank rows wait until the bank books them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from recon.config import MatchingSettings
from recon.match import match
from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES
from recon.store import Store

HOLDING = "('auto', 'confirmed')"


@dataclass(frozen=True, slots=True)
class MatchSummary:
    auto: int
    suggested: int
    open_bank: int
    open_ledger: int
    candidate_pairs: int


def _frame(store: Store, sql: str, schema: pl.Schema) -> pl.DataFrame:
    frame = store.query(sql)
    return frame.cast(dict(schema)) if frame.height else pl.DataFrame(schema=schema)  # type: ignore[arg-type]


def run_matching(store: Store, *, settings: MatchingSettings, run_id: str) -> MatchSummary:
    """One match run, one transaction."""
    with store.transaction() as con:
        bank = _frame(
            store,
            f"""SELECT * FROM bank_transactions b WHERE NOT b.pending AND b.txn_id NOT IN (
                  SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
                  WHERE m.status IN {HOLDING})""",
            BANK_TRANSACTIONS.polars_schema,
        )
        ledger = _frame(
            store,
            f"""SELECT * FROM ledger_entries e WHERE e.entry_id NOT IN (
                  SELECT l.ledger_entry_id FROM match_links l JOIN matches m USING (match_id)
                  WHERE m.status IN {HOLDING})""",
            LEDGER_ENTRIES.polars_schema,
        )
        rejected = store.query(
            """SELECT l.bank_txn_id, l.ledger_entry_id FROM match_links l JOIN matches m USING (match_id)
               WHERE m.status = 'rejected'"""
        )
        if rejected.is_empty():
            rejected = pl.DataFrame(schema={"bank_txn_id": pl.String, "ledger_entry_id": pl.String})
        result = match(bank, ledger, settings=settings, rejected=rejected)

        now = datetime.now(UTC).replace(tzinfo=None)
        new_matches = result.matches.with_columns(
            pl.lit("engine").alias("origin"), pl.lit(run_id).alias("run_id"), pl.lit(now).alias("created_at")
        )
        con.register("new_matches", new_matches.to_arrow())
        con.register("new_links", result.links.to_arrow())
        con.execute(
            """DELETE FROM match_links WHERE match_id IN (
                 SELECT match_id FROM matches WHERE status = 'suggested' AND origin = 'engine'
                 AND match_id NOT IN (SELECT match_id FROM new_matches))"""
        )
        con.execute(
            """DELETE FROM matches WHERE status = 'suggested' AND origin = 'engine'
               AND match_id NOT IN (SELECT match_id FROM new_matches)"""
        )
        con.execute(
            """UPDATE matches m SET status = n.status, score = n.score, reasons = n.reasons, run_id = n.run_id
               FROM new_matches n WHERE m.match_id = n.match_id AND m.origin = 'engine'
               AND (m.status <> n.status OR m.score <> n.score OR m.reasons <> n.reasons)"""
        )
        con.execute(
            """INSERT INTO matches SELECT match_id, account_id, status, kind, score, reasons, origin, run_id,
               created_at FROM new_matches ANTI JOIN matches USING (match_id)"""
        )
        con.execute(
            """INSERT INTO match_links SELECT * FROM new_links
               ANTI JOIN match_links USING (match_id, bank_txn_id, ledger_entry_id)"""
        )
        con.execute("DELETE FROM open_items")
        open_items = result.open_items.with_columns(pl.lit(run_id).alias("run_id"))
        con.register("new_open", open_items.to_arrow())
        con.execute("INSERT INTO open_items SELECT side, row_id, account_id, reason, run_id FROM new_open")
        for name in ("new_matches", "new_links", "new_open"):
            con.unregister(name)

    statuses = result.matches["status"]
    sides = result.open_items["side"]
    return MatchSummary(
        auto=int((statuses == "auto").sum()),
        suggested=int((statuses == "suggested").sum()),
        open_bank=int((sides == "bank").sum()),
        open_ledger=int((sides == "ledger").sum()),
        candidate_pairs=result.candidate_pairs,
    )
