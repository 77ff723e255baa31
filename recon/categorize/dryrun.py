"""What the rules would do to the stored rows they govern, compared with what the store says now.

Nothing is written. Per rule: the rows it would apply to first, how many of those
would change, and a few samples; the list of every row whose categorization
would change (new, different, or dropped), old against new; and how many rows
the rules will not change, and why (a person's, or already in a book).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from recon.categorize.engine import apply_rules
from recon.categorize.rows import WRITTEN_SQL, governed_rows
from recon.categorize.rulefile import LoadedRule, RuleSet
from recon.categorize.table import current_categorizations, engine_rows
from recon.money import format_minor
from recon.store import Store

__all__ = ["DryRun", "RowChange", "RuleImpact", "dry_run"]

SAMPLES_PER_RULE = 3
_COMPARED = ("rule_name", "category", "payee", "memo", "tags", "splits", "transfer_account", "ignored",
             "difference_account", "difference_max_minor", "difference_max_bp")  # fmt: skip


@dataclass
class RuleImpact:
    """What one rule would do: rows it applies to first, rows that would change, samples of them."""

    rule: LoadedRule
    applies: int = 0
    changes: int = 0
    samples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RowChange:
    txn_id: str
    row: str
    before: str
    after: str


@dataclass
class DryRun:
    open_rows: int
    impacts: list[RuleImpact]
    changes: list[RowChange]
    governed_rows: int = 0
    """open rows, and matched rows whose categorization still matters (book_difference)"""
    kept: dict[str, int] = field(default_factory=dict)
    """rows the rules will not change: why -> how many"""


KEPT_BY_PERSON = "categorized by a person (rules never change it)"
KEPT_WRITTEN = "its categorization is in a book (written back)"


def _describe(record: dict[str, object] | None) -> str:
    if record is None or record.get("rule_name") is None:
        return "(not categorized)"
    parts = [f"rule '{record['rule_name']}'"]
    for key in ("category", "transfer_account", "payee", "memo"):
        if record.get(key) is not None:
            parts.append(f"{key}={record[key]}")
    if record.get("splits") is not None:
        parts.append(f"split={record['splits']}")
    if record.get("ignored"):
        parts.append("ignored")
    if record.get("tags"):
        parts.append(f"tags={','.join(record['tags'])}")  # type: ignore[arg-type]
    return " ".join(parts)


def dry_run(store: Store, ruleset: RuleSet, *, base_dir: Path) -> DryRun:
    rows, is_open = governed_rows(store)
    outcome = apply_rules(rows, ruleset)
    new = engine_rows(outcome, ruleset, base_dir=base_dir, run_id=None)
    current = current_categorizations(store)
    written = set(store.query(WRITTEN_SQL)["txn_id"].to_list()) if len(current) else set()
    by_person = current.filter(pl.col("origin") == "person")
    engine = current.filter(pl.col("origin") == "engine")
    before = {r["txn_id"]: r for r in engine.iter_rows(named=True)}
    after = {r["txn_id"]: r for r in new.iter_rows(named=True)}
    impacts = {r.order: RuleImpact(r) for r in ruleset.rules}
    by_name = {r.name: r.order for r in ruleset.rules}
    changes: list[RowChange] = []
    for row in rows.iter_rows(named=True):
        txn_id = row["txn_id"]
        old, fresh = before.pop(txn_id, None), after.get(txn_id)
        changed = _key(old) != _key(fresh)
        shown = _shown(row)
        if fresh is not None:
            impact = impacts[by_name[fresh["rule_name"]]]
            impact.applies += 1
            impact.changes += changed
            if changed and len(impact.samples) < SAMPLES_PER_RULE:
                impact.samples.append(shown)
        if changed:
            changes.append(RowChange(txn_id, shown, _describe(old), _describe(fresh)))
    kept_written = {t for t in before if t in written}
    stale = [t for t in before if t not in written]  # rows that got matched: their categorization no longer matters
    if stale:
        shown_rows = _rows_shown(store, stale)
        changes += [
            RowChange(t, shown_rows.get(t, t), _describe(before[t]), "(dropped: the row is matched)") for t in stale
        ]
    kept = {KEPT_BY_PERSON: by_person.height, KEPT_WRITTEN: len(kept_written)}
    return DryRun(
        int(is_open.sum()), list(impacts.values()), changes, rows.height, {k: n for k, n in kept.items() if n}
    )


def _shown(row: dict[str, object]) -> str:
    amount = format_minor(row["amount_minor"], row["currency"])  # type: ignore[arg-type]
    return f"{row['posted_date']} {amount} {row['description']}"


def _rows_shown(store: Store, txn_ids: list[str]) -> dict[str, str]:
    frame = store.query(
        "SELECT txn_id, posted_date, amount_minor, currency, description FROM bank_transactions "
        "WHERE list_contains(?::VARCHAR[], txn_id)",
        [txn_ids],
    )
    return {r["txn_id"]: _shown(r) for r in frame.iter_rows(named=True)}


def _key(record: dict[str, object] | None) -> tuple[object, ...] | None:
    return None if record is None else tuple(record.get(k) for k in _COMPARED)
