"""What the rules would do to the stored open rows, compared with what the store says now.

Nothing is written. Per rule: the rows it would apply to first, how many of those
would change, and a few samples; and the list of every row whose categorization
would change (new, different, or dropped), old against new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from recon.categorize.engine import apply_rules
from recon.categorize.rows import open_rows
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
    rows = open_rows(store)
    outcome = apply_rules(rows, ruleset)
    new = engine_rows(outcome, ruleset, base_dir=base_dir, run_id=None)
    current = current_categorizations(store).filter(pl.col("origin") == "engine")
    before = {r["txn_id"]: r for r in current.iter_rows(named=True)}
    after = {r["txn_id"]: r for r in new.iter_rows(named=True)}
    impacts = {r.order: RuleImpact(r) for r in ruleset.rules}
    by_name = {r.name: r.order for r in ruleset.rules}
    changes: list[RowChange] = []
    for row in rows.iter_rows(named=True):
        txn_id = row["txn_id"]
        old, fresh = before.get(txn_id), after.get(txn_id)
        shown = f"{row['posted_date']} {format_minor(row['amount_minor'], row['currency'])} {row['description']}"
        changed = _key(old) != _key(fresh)
        if fresh is not None:
            impact = impacts[by_name[fresh["rule_name"]]]
            impact.applies += 1
            impact.changes += changed
            if changed and len(impact.samples) < SAMPLES_PER_RULE:
                impact.samples.append(shown)
        if changed:
            changes.append(RowChange(txn_id, shown, _describe(old), _describe(fresh)))
    return DryRun(rows.height, list(impacts.values()), changes)


def _key(record: dict[str, object] | None) -> tuple[object, ...] | None:
    return None if record is None else tuple(record.get(k) for k in _COMPARED)
