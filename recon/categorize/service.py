"""Categorize service: run the config's rules over the open bank rows, store the result atomically.

Idempotent: each run replaces the engine's categorizations with what the current rules
say, for every row the rules govern: the open rows (booked, not in an auto or confirmed
match) and matched rows off by a difference (`book_difference`). Rows a person
categorized are never read or written, and a categorization write-back already booked
in a book is kept as it is (see `rows.GOVERNED_ROWS_SQL`).
Rows the rules leave without a destination are listed with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from recon.categorize.conditions import compile_condition
from recon.categorize.engine import CompiledRule, apply_rules, compile_rules
from recon.categorize.rows import RULE_INPUT, governed_rows, prepare
from recon.categorize.rulefile import RuleSet, load_rules
from recon.categorize.table import engine_rows, replace_engine_rows
from recon.config import Config
from recon.money import format_minor
from recon.store import Store

__all__ = ["CategorizeSummary", "Uncategorized", "categorize", "has_destination"]


@dataclass(frozen=True, slots=True)
class Uncategorized:
    """An open bank row the rules did not say where to book, and why."""

    txn_id: str
    posted_date: str
    amount: str
    currency: str
    description: str
    reason: str

    def __str__(self) -> str:
        return f"{self.posted_date} {self.amount:>12} {self.currency} {self.description}: {self.reason}"


@dataclass
class CategorizeSummary:
    """What one categorize run did."""

    rules: int = 0
    open_rows: int = 0
    categorized: int = 0
    ignored: int = 0
    transfers: int = 0
    split: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)
    uncategorized: list[Uncategorized] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """For the `runs.summary` JSON."""
        return {
            "rules": self.rules, "open_rows": self.open_rows, "categorized": self.categorized,
            "ignored": self.ignored, "transfers": self.transfers, "split": self.split, "by_rule": self.by_rule,
            "uncategorized": [u.txn_id for u in self.uncategorized], "warnings": self.warnings,
        }  # fmt: skip

    def lines(self, *, show: int = 20) -> list[str]:
        """A short human summary, then one line per row left without a destination (the first `show`)."""
        out = [
            f"categorized:    {self.categorized} of {self.open_rows} open bank rows by {self.rules} rules "
            f"({self.ignored} ignored, {self.transfers} transfers, {self.split} split)"
        ]
        out += [f"  not categorized: {u}" for u in self.uncategorized[:show]]
        if len(self.uncategorized) > show:
            out.append(f"  ... and {len(self.uncategorized) - show} more rows not categorized")
        return out


def has_destination() -> pl.Expr:
    """On an outcome frame: true where it says where the row goes (a category, a split, a transfer, ignore)."""
    return (
        pl.col("category").is_not_null()
        | pl.col("splits").is_not_null()
        | pl.col("transfer_account").is_not_null()
        | pl.col("ignored")
    )


def categorize(
    store: Store, config: Config, run_id: str | None, *, ruleset: RuleSet | None = None
) -> CategorizeSummary:
    """Categorize the open bank rows with the config's rules (or `ruleset`); one transaction.

    Raises RuleFileError (a UserError, exit 2) when a rule file is invalid; then nothing changes.
    """
    warnings: list[str] = []
    if ruleset is None:
        ruleset, warnings = load_rules(config)
    summary = CategorizeSummary(rules=len(ruleset.rules), warnings=warnings)
    if not config.rules.paths:
        summary.warnings.append("no [rules] paths in the config: nothing categorized")
    governed, is_open = governed_rows(store)
    compiled = compile_rules(ruleset)
    everything = apply_rules(governed, ruleset, compiled=compiled)
    replace_engine_rows(store, rows=engine_rows(everything, ruleset, base_dir=config.base_dir, run_id=run_id))
    rows, outcome = governed.filter(is_open), everything.filter(is_open)
    summary.open_rows = rows.height
    placed = outcome.filter(has_destination())
    summary.categorized = placed.height
    summary.ignored = int(placed["ignored"].sum())
    summary.transfers = int(placed["transfer_account"].is_not_null().sum())
    summary.split = int(placed["splits"].is_not_null().sum())
    names = {r.order: r.name for r in ruleset.rules}
    counts = outcome.filter(pl.col("rule_order").is_not_null())["rule_order"].value_counts(sort=True)
    summary.by_rule = {names[order]: int(n) for order, n in counts.iter_rows()}
    summary.uncategorized = unplaced_rows(rows, outcome, compiled, suggested=_with_suggested_match(store))
    return summary


def _with_suggested_match(store: Store) -> set[str]:
    frame = store.query(
        "SELECT DISTINCT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id) WHERE m.status = 'suggested'"
    )
    return set(frame.to_series().to_list()) if frame.height else set()


def unplaced_rows(
    rows: pl.DataFrame, outcome: pl.DataFrame, compiled: list[CompiledRule], *, suggested: set[str]
) -> list[Uncategorized]:
    """The rows the outcome gives no destination, each with the reason (`suggested`: rows with a match to review)."""
    joined = rows.join(outcome, on="txn_id", how="left").filter(~has_destination().fill_null(False))
    if joined.is_empty():
        return []
    near_splits = _split_conditions_only(joined, compiled)
    names = {c.loaded.order: c.loaded.name for c in compiled}
    out = []
    for row in joined.iter_rows(named=True):
        if row["rule_order"] is not None:
            applied = ", ".join(f"'{names[o]}'" for o in row["applied_orders"] or [row["rule_order"]])
            reason = f"rules {applied} applied but none says where it goes (category, split, transfer_to, ignore)"
        elif near_splits.get(row["txn_id"]):
            reason = f"rule '{near_splits[row['txn_id']]}' matches but the amount is too small for its split"
        else:
            reason = "no rule matches"
        if row["txn_id"] in suggested:
            reason += "; a suggested match to review may settle it"
        out.append(
            Uncategorized(
                row["txn_id"], str(row["posted_date"]), format_minor(row["amount_minor"], row["currency"]),
                row["currency"], row["description"], reason,
            )
        )  # fmt: skip
    return out


def _split_conditions_only(rows: pl.DataFrame, compiled: list[CompiledRule]) -> dict[str, str]:
    splitters = [c for c in compiled if c.actions.splits is not None]
    if not splitters:
        return {}
    prepared = prepare(rows.select(RULE_INPUT.names()))
    found: dict[str, str] = {}
    for c in splitters:
        hits = prepared.filter(compile_condition(c.loaded.rule.when))["txn_id"].to_list()
        for txn_id in hits:
            found.setdefault(txn_id, c.loaded.name)
    return found
