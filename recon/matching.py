"""Match service: run the matching pipeline on the open rows, store the result atomically.

Open rows are those not in an `auto` or `confirmed` match: rows already matched are
never rescored (incremental). Engine suggestions are recomputed each run (kept, with
their ids, when proposed again). Matches a person made or confirmed are never
touched, and a pair (or group) a person rejected is never proposed again: people's
decisions (`review_decisions`, and matches in status confirmed or rejected, see
`recon.review`) are inputs of every run. Pending bank rows wait until the bank books them,
and rows flagged as duplicates (`recon.dedup`) stay out until the flag is dismissed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import duckdb
import polars as pl

from recon import __version__
from recon.config import MatchingSettings
from recon.match import match
from recon.match.differences import apply_difference_rules, recheck_booked_differences
from recon.match.result import match_id
from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES
from recon.store import Store

HOLDING = "('auto', 'confirmed')"
FLAGGED_DUPLICATES = "SELECT row_id FROM duplicates WHERE side = '{side}' AND status = 'flagged'"
"""Rows `recon.dedup` flagged as repeats of another row stay out of matching until a person dismisses the flag."""


@dataclass(frozen=True, slots=True)
class MatchSummary:
    auto: int
    suggested: int
    open_bank: int
    open_ledger: int
    candidate_pairs: int
    back_to_suggested: int = 0
    """`book_difference` matches made auto earlier that today's rules no longer allow."""


def _frame(store: Store, sql: str, schema: pl.Schema) -> pl.DataFrame:
    frame = store.query(sql)
    return frame.cast(dict(schema)) if frame.height else pl.DataFrame(schema=schema)  # type: ignore[arg-type]


REJECTED_SQL = """
    SELECT m.match_id, l.bank_txn_id, l.ledger_entry_id
    FROM matches m JOIN match_links l USING (match_id) WHERE m.status = 'rejected'
    UNION
    SELECT d.match_id, b.bank_txn_id, e.ledger_entry_id
    FROM review_decisions d, unnest(d.bank_txn_ids) AS b(bank_txn_id), unnest(d.ledger_entry_ids) AS e(ledger_entry_id)
    WHERE d.action = 'reject'
      -- an undone reject (a decision 'undo-<its id>' exists, see recon.decisions) is no longer in effect
      AND NOT EXISTS (SELECT 1 FROM review_decisions u WHERE u.decision_id = 'undo-' || d.decision_id)
"""


def rejected_by_people(store: Store) -> tuple[pl.DataFrame, frozenset[str]]:
    """What people rejected: (bank_txn_id, ledger_entry_id) pairs of rejected 1:1 matches, and the
    ids of rejected matches of several rows (never proposed again as the same group).

    Read from both `matches` (status rejected) and `review_decisions` (action reject), so a
    rejection holds even if one of the two were edited by hand.
    """
    links = store.query(REJECTED_SQL)
    if links.is_empty():
        return pl.DataFrame(schema={"bank_txn_id": pl.String, "ledger_entry_id": pl.String}), frozenset()
    sizes = links.group_by("match_id").agg(
        pl.col("bank_txn_id").n_unique().alias("n_bank"),
        pl.col("ledger_entry_id").n_unique().alias("n_ledger"),
        pl.col("bank_txn_id").unique().sort(),
        pl.col("ledger_entry_id").unique().sort(),
    )
    single = sizes.filter((pl.col("n_bank") == 1) & (pl.col("n_ledger") == 1))
    pairs = single.select(pl.col("bank_txn_id").list.first(), pl.col("ledger_entry_id").list.first()).unique()
    groups = sizes.filter((pl.col("n_bank") > 1) | (pl.col("n_ledger") > 1))
    ids = {match_id(b, e) for b, e in zip(groups["bank_txn_id"], groups["ledger_entry_id"], strict=True)}
    ids |= set(groups["match_id"].drop_nulls())
    return pairs, frozenset(ids)


def _difference_rules(store: Store) -> pl.DataFrame:
    """Bank rows whose categorization rule says how to book a match's difference (a fee)."""
    return store.query(
        """SELECT c.txn_id AS bank_txn_id, b.amount_minor AS bank_amount_minor, c.rule_name,
                  c.difference_account, c.difference_max_minor, CAST(c.difference_max_bp AS BIGINT) AS difference_max_bp
           FROM categorizations c JOIN bank_transactions b USING (txn_id)
           WHERE c.difference_account IS NOT NULL AND NOT c.ignored"""
    )


PROVENANCE = ("source_file", "source_line", "source_element", "batch_id", "raw")
"""Where a row came from: never read by the matcher, so not part of what a run's result depends on."""


def _fingerprint(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    rejected_pairs: pl.DataFrame,
    rejected_groups: frozenset[str],
    difference_rules: pl.DataFrame,
    settings: MatchingSettings,
) -> str:
    """One hash of everything a match run's result depends on (row order aside)."""
    digest = hashlib.sha256(f"recon {__version__} polars {pl.__version__}\n{settings.model_dump_json()}\n".encode())
    open_rules = difference_rules.filter(pl.col("bank_txn_id").is_in(bank["txn_id"].implode()))
    for frame, key in (
        (bank.drop(PROVENANCE, strict=False), ["txn_id"]),
        (ledger.drop(PROVENANCE, strict=False), ["entry_id"]),
        (rejected_pairs.select("bank_txn_id", "ledger_entry_id"), ["bank_txn_id", "ledger_entry_id"]),
        (open_rules, ["bank_txn_id"]),
    ):
        digest.update(f"{frame.columns}|{frame.height}\n".encode())
        if frame.height:
            digest.update(frame.sort(key).hash_rows(seed=0).to_numpy().tobytes())
    digest.update("\n".join(sorted(rejected_groups)).encode())
    return digest.hexdigest()


_OUTPUTS_SQL = (
    "SELECT match_id, status, kind, score, reasons FROM matches WHERE status = 'suggested' ORDER BY match_id",
    "SELECT l.* FROM match_links l JOIN matches m USING (match_id) WHERE m.status = 'suggested' ORDER BY ALL",
    "SELECT side, row_id, reason FROM open_items ORDER BY side, row_id",
)


def _outputs(store: Store) -> str:
    """A hash of what a run leaves that a person may change without changing a run's inputs (an undone
    rejection drops its match): the suggestions and the open items."""
    digest = hashlib.sha256()
    for sql in _OUTPUTS_SQL:
        digest.update(repr(store.con.execute(sql).fetchall()).encode())
    return digest.hexdigest()


def _settled(store: Store) -> str | None:
    rows = store.con.execute("SELECT fingerprint FROM match_settled").fetchall()
    return str(rows[0][0]) if rows else None


def _summary_as_stored(store: Store, *, back_to_suggested: int) -> MatchSummary:
    """The summary of a run that found nothing new to match: no new auto match, the rest as stored."""
    ((suggested,),) = store.con.execute("SELECT count(*) FROM matches WHERE status = 'suggested'").fetchall()
    ((open_bank, open_ledger),) = store.con.execute(
        "SELECT count(*) FILTER (side = 'bank'), count(*) FILTER (side = 'ledger') FROM open_items"
    ).fetchall()
    return MatchSummary(auto=0, suggested=int(suggested), open_bank=int(open_bank), open_ledger=int(open_ledger),
                        candidate_pairs=0, back_to_suggested=back_to_suggested)  # fmt: skip


BOOKED_DIFFERENCES_SQL = """
SELECT m.match_id, m.status, m.kind, m.reasons FROM matches m
WHERE m.status = 'auto' AND m.origin = 'engine' AND m.kind = '1:1' AND m.reasons LIKE '%the difference is booked to%'
  AND NOT EXISTS (
    SELECT 1 FROM match_links l JOIN writeback_log w ON w.status = 'done' AND (
        w.ledger_entry_id = l.ledger_entry_id OR list_contains(string_split(w.bank_txn_id, ' '), l.bank_txn_id))
    WHERE l.match_id = m.match_id)
"""
"""Engine matches made auto by a `book_difference` rule that no book has yet: the rule decides them again each run."""

BACK_TO_SUGGESTED = (
    "{n} match(es) made auto by a book_difference rule went back to suggested: "
    "the rule (edited or deleted) no longer allows the difference; review them"
)


def _recheck_differences(store: Store, con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Decide the not yet written `book_difference` matches again with today's rules; how many went back to suggested.

    A rule edited (another account, a lower limit) or deleted since must not leave its match
    auto: the write-back would book the difference it no longer allows. A match a person
    confirmed is not touched.
    """
    held = store.query(BOOKED_DIFFERENCES_SQL)
    if held.is_empty():
        return 0
    links = store.query(
        "SELECT match_id, bank_txn_id, amount_diff_minor FROM match_links WHERE list_contains(?::VARCHAR[], match_id)",
        [held["match_id"].to_list()],
    )
    decided = recheck_booked_differences(held, links, _difference_rules(store))
    changed = decided.join(held, on="match_id", suffix="_was").filter(
        (pl.col("status") != pl.col("status_was")) | (pl.col("reasons") != pl.col("reasons_was"))
    )
    for row in changed.iter_rows(named=True):
        con.execute(
            "UPDATE matches SET status = ?, reasons = ?, run_id = ? WHERE match_id = ?",
            [row["status"], row["reasons"], run_id, row["match_id"]],
        )
    return int((changed["status"] == "suggested").sum())


def run_matching(store: Store, *, settings: MatchingSettings, run_id: str) -> MatchSummary:
    """One match run, one transaction.

    Matching is incremental: rows in auto matches are not scored again, so a rerun can see a
    row's rival gone (matched for sure elsewhere) and decide that row differently. A run
    whose inputs are exactly what the last run left (no new rows, no change to a row, no
    new decision, the same settings and difference rules) therefore changes nothing: what
    the last run left is stored as a fingerprint (`match_settled`)."""
    with store.transaction() as con:
        back_to_suggested = _recheck_differences(store, con, run_id)
        bank = _frame(
            store,
            f"""SELECT * FROM bank_transactions b WHERE NOT b.pending AND b.txn_id NOT IN (
                  SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
                  WHERE m.status IN {HOLDING})
                AND b.txn_id NOT IN ({FLAGGED_DUPLICATES.format(side="bank")})""",
            BANK_TRANSACTIONS.polars_schema,
        )
        ledger = _frame(
            store,
            f"""SELECT * FROM ledger_entries e WHERE e.entry_id NOT IN (
                  SELECT l.ledger_entry_id FROM match_links l JOIN matches m USING (match_id)
                  WHERE m.status IN {HOLDING})
                AND e.entry_id NOT IN ({FLAGGED_DUPLICATES.format(side="ledger")})""",
            LEDGER_ENTRIES.polars_schema,
        )
        rejected_pairs, rejected_groups = rejected_by_people(store)
        difference_rules = _difference_rules(store)

        def fingerprint(bank: pl.DataFrame, ledger: pl.DataFrame) -> str:
            return _fingerprint(bank, ledger, rejected_pairs, rejected_groups, difference_rules, settings)

        if f"{fingerprint(bank, ledger)} {_outputs(store)}" == _settled(store):
            return _summary_as_stored(store, back_to_suggested=back_to_suggested)
        result = match(bank, ledger, settings=settings, rejected=rejected_pairs, rejected_match_ids=rejected_groups)
        result = replace(result, matches=apply_difference_rules(result.matches, result.links, difference_rules))

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
        auto = result.matches.filter(pl.col("status") == "auto")["match_id"].implode()
        taken = result.links.filter(pl.col("match_id").is_in(auto))
        left = fingerprint(
            bank.filter(~pl.col("txn_id").is_in(taken["bank_txn_id"].implode())),
            ledger.filter(~pl.col("entry_id").is_in(taken["ledger_entry_id"].implode())),
        )
        con.execute("DELETE FROM match_settled")
        con.execute("INSERT INTO match_settled VALUES (?, ?, ?)", [f"{left} {_outputs(store)}", run_id, now])

    statuses = result.matches["status"]
    sides = result.open_items["side"]
    return MatchSummary(
        auto=int((statuses == "auto").sum()),
        suggested=int((statuses == "suggested").sum()),
        open_bank=int((sides == "bank").sum()),
        open_ledger=int((sides == "ledger").sum()),
        candidate_pairs=result.candidate_pairs,
        back_to_suggested=back_to_suggested,
    )
