"""How a match was made, for `recon explain MATCH_ID`: the audit trail of one match.

Gathers the match (status, kind, score, the reasons behind the score), the rows on
both sides with their provenance (source file:line), every decision people made
on it (`review_decisions`) and the run that made or last changed it. Read only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recon.errors import UserError
from recon.money import format_minor
from recon.store import Store

__all__ = ["MatchExplanation", "explain_match", "render_explanation"]


@dataclass(frozen=True, slots=True)
class MatchExplanation:
    """Everything the store knows about one match.

    Attributes:
      match_id: the match.
      match: its `matches` row as a dict, or None when it no longer exists (undone, removed).
      bank_rows, ledger_rows: the linked rows (dicts with date, amount_minor, currency, description, source).
      decisions: its `review_decisions`, oldest first.
      run: the `runs` row of the run that made or last changed it, if any.
    """

    match_id: str
    match: dict[str, Any] | None
    bank_rows: list[dict[str, Any]]
    ledger_rows: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    run: dict[str, Any] | None


_ROWS_SQL = """
SELECT DISTINCT r.{key} AS row_id, r.external_id, r.posted_date, r.amount_minor, r.currency, r.description,
       r.source_file || ':' || coalesce(CAST(r.source_line AS VARCHAR), r.source_element, '?') AS source
FROM match_links l JOIN {table} r ON r.{key} = l.{link}
WHERE l.match_id = ? ORDER BY r.posted_date, row_id
"""


def _dicts(store: Store, sql: str, params: list[object]) -> list[dict[str, Any]]:
    return list(store.query(sql, params).iter_rows(named=True))


def explain_match(store: Store, match_id: str) -> MatchExplanation:
    """The audit trail of `match_id`; a match neither stored nor named by any decision is an error."""
    matches = _dicts(store, "SELECT * FROM matches WHERE match_id = ?", [match_id])
    decisions = _dicts(
        store,
        "SELECT decision_id, decided_at, decided_by, action, note, bank_txn_ids, ledger_entry_ids "
        "FROM review_decisions WHERE match_id = ? ORDER BY decided_at, decision_id",
        [match_id],
    )
    if not matches and not decisions:
        raise UserError(f"no match with id '{match_id}'")
    match = matches[0] if matches else None
    run = None
    if match and match["run_id"]:
        runs = _dicts(store, "SELECT run_id, command, started_at, status FROM runs WHERE run_id = ?", [match["run_id"]])
        run = runs[0] if runs else None
    bank = _dicts(store, _ROWS_SQL.format(key="txn_id", table="bank_transactions", link="bank_txn_id"), [match_id])
    ledger = _dicts(store, _ROWS_SQL.format(key="entry_id", table="ledger_entries", link="ledger_entry_id"), [match_id])
    return MatchExplanation(match_id, match, bank, ledger, decisions, run)


def _row_lines(rows: list[dict[str, Any]], missing: str) -> list[str]:
    if not rows:
        return [f"  ({missing})"]
    lines = []
    for r in rows:
        amount = f"{format_minor(r['amount_minor'], r['currency'])} {r['currency']}"
        lines.append(f"  {r['posted_date']}  {amount:>16}  {r['description']}")
        ext = f"  id {r['external_id']}" if r["external_id"] else ""
        lines.append(f"      {r['row_id']}  from {r['source']}{ext}")
    return lines


def _reason_lines(reasons: str, *, by_person: bool) -> list[str]:
    """The engine's reasons are comma-separated parts of the score, one a line; a person's note stays whole."""
    parts = [reasons] if by_person else [p.strip() for p in reasons.split(",") if p.strip()]
    return [f"    - {part}" for part in parts]


def _total(rows: list[dict[str, Any]]) -> int:
    return sum(int(r["amount_minor"]) for r in rows)


def render_explanation(ex: MatchExplanation) -> str:
    """Plain text, one fact a line, for the terminal."""
    lines = [f"match {ex.match_id}"]
    if ex.match is None:
        lines.append("  no longer stored (removed by an undo or a rerun); its decisions follow")
    else:
        m = ex.match
        lines += [
            f"  status:   {m['status']} ({'made by a person' if m['origin'] == 'person' else 'made by the engine'})",
            f"  kind:     {m['kind']}",
            f"  account:  {m['account_id']}",
            f"  score:    {m['score']:.4f}",
            "  reasons:",
            *_reason_lines(str(m["reasons"]), by_person=m["origin"] == "person"),
        ]
    lines += ["", f"bank rows ({len(ex.bank_rows)}):", *_row_lines(ex.bank_rows, "none stored")]
    lines += ["", f"ledger rows ({len(ex.ledger_rows)}):", *_row_lines(ex.ledger_rows, "none stored")]
    if ex.bank_rows and ex.ledger_rows:
        currency = ex.bank_rows[0]["currency"]
        diff = _total(ex.bank_rows) - _total(ex.ledger_rows)
        lines.append(f"  bank total - ledger total: {format_minor(diff, currency)} {currency}")
    lines += ["", "decisions:"]
    if not ex.decisions:
        lines.append("  none: no person has decided on this match")
    for d in ex.decisions:
        note = f": {d['note']}" if d["note"] else ""
        lines.append(f"  {d['decided_at']:%Y-%m-%d %H:%M:%S} UTC  {d['action']} by {d['decided_by']}{note}")
        lines.append(f"      decision {d['decision_id']}")
    lines += ["", "run:"]
    if ex.run:
        r = ex.run
        lines.append(f"  {r['run_id']}  recon {r['command']}  started {r['started_at']:%Y-%m-%d %H:%M:%S} UTC")
        lines.append(f"      status {r['status']}")
    elif ex.match is not None and ex.match["run_id"]:
        lines.append(f"  {ex.match['run_id']} (no longer in the runs log)")
    else:
        lines.append("  none: made outside a match run (by hand)")
    return "\n".join(lines)
