"""What happens to the matches of a bank row that goes (replaced, deleted, booked, removed by Plaid).

Two services replace stored bank rows: the Plaid sync (`recon.plaid.pending`) and the import of
corrections and booked rows (`recon.superseding`). Both treat the matches on such a row alike:
a match is either dropped (its links and itself deleted; its other rows are open again),
carried (its links move to the successor row) or kept, and the amount and date differences of
every match that stays are recomputed. Each caller decides the action per row; `settle_matches`
applies them, one dropped row dropping its whole match. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from recon.store import Store

__all__ = ["PERSON_SQL", "holding_matches", "recompute_differences", "settle_matches"]

PERSON_SQL = "(m.origin = 'person' OR m.status IN ('confirmed', 'rejected'))"
"""A match a person made or decided: carried over where an engine match is dropped."""


def holding_matches(store: Store, txn_ids: list[str]) -> pl.DataFrame:
    """One row per (match, bank row) among `txn_ids`: match_id, status, origin, by_person, ledger_entry_ids."""
    if not txn_ids:
        return pl.DataFrame()
    return store.query(
        f"""SELECT m.match_id, m.status, m.origin, {PERSON_SQL} AS by_person, l.bank_txn_id,
                   list(DISTINCT l.ledger_entry_id ORDER BY l.ledger_entry_id) AS ledger_entry_ids
            FROM matches m JOIN match_links l USING (match_id)
            WHERE list_contains(?, l.bank_txn_id)
            GROUP BY ALL ORDER BY m.match_id""",
        [txn_ids],
    )


def settle_matches(
    store: Store,
    holding: pl.DataFrame,
    action_of: Callable[[str, bool], str],
    successors: Mapping[str, str | None],
) -> dict[str, str]:
    """Drop, carry or keep each match in `holding`; return the action per match_id.

    `action_of(bank_txn_id, by_person)` says "dropped", "carried" or "kept" for one row of a
    match; `successors` names the row a carried link moves to.
    """
    actions: dict[str, str] = {}
    for row in holding.iter_rows(named=True):
        action = action_of(row["bank_txn_id"], bool(row["by_person"]))
        actions[row["match_id"]] = "dropped" if "dropped" in (action, actions.get(row["match_id"])) else action
    for match_id, action in actions.items():
        if action == "dropped":
            store.con.execute("DELETE FROM match_links WHERE match_id = ?", [match_id])
            store.con.execute("DELETE FROM matches WHERE match_id = ?", [match_id])
    for row in holding.iter_rows(named=True):
        successor = successors.get(row["bank_txn_id"])
        if actions[row["match_id"]] == "carried" and successor:
            _relink(store, row["match_id"], row["bank_txn_id"], successor)
    for match_id, action in actions.items():
        if action != "dropped":
            recompute_differences(store, match_id)
    return actions


def _relink(store: Store, match_id: str, old_txn_id: str, new_txn_id: str) -> None:
    links = store.query("SELECT * FROM match_links WHERE match_id = ? AND bank_txn_id = ?", [match_id, old_txn_id])
    store.con.execute("DELETE FROM match_links WHERE match_id = ? AND bank_txn_id = ?", [match_id, old_txn_id])
    for link in links.iter_rows(named=True):
        store.con.execute(
            "INSERT OR IGNORE INTO match_links VALUES (?, ?, ?, ?, ?)",
            [match_id, new_txn_id, link["ledger_entry_id"], link["amount_diff_minor"], link["date_diff_days"]],
        )


def recompute_differences(store: Store, match_id: str) -> None:
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
