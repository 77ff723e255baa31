"""`recon rules suggest`: propose rules from history, as a rule file for a person to review.

Two kinds of history say what a bank row is:

- categories a person gave bank rows (`categorizations` with origin `person`);
- payees: the counterparty of the ledger entry a bank row is matched to (auto or
  confirmed 1:1 matches).

Rows are grouped by their description with the words that carry digits removed
(references, dates, amounts), and a group whose rows (nearly) always got the same
category or payee becomes a rule `description: {starts_with: <the words the group
shares>}`. Support is the number of rows the proposed rule matches with that value;
confidence is the share of all labelled rows it matches that have that value.
Nothing is ever applied: the output is text to review.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from recon.categorize.engine import apply_rules
from recon.categorize.rows import RULE_INPUT, history_rows
from recon.categorize.rulefile import RuleSet
from recon.money import format_minor
from recon.store import Store

__all__ = ["Suggestion", "suggest_rules", "suggestions_yaml"]

MIN_PREFIX_CHARS = 5


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A proposed rule: rows starting with `prefix` (and of `sign`) get `value` as their `action`."""

    action: str
    value: str
    prefix: str
    sign: str | None
    support: int
    matched: int
    example_description: str
    example_amount: str
    example_currency: str

    @property
    def confidence(self) -> float:
        return self.support / self.matched


def _labelled(store: Store) -> dict[str, pl.DataFrame]:
    rows = history_rows(store)
    person = store.query(
        "SELECT txn_id, category AS label FROM categorizations WHERE origin = 'person' AND category IS NOT NULL"
    )
    matched = store.query(
        """SELECT l.bank_txn_id AS txn_id, any_value(e.counterparty) AS label
           FROM match_links l JOIN matches m USING (match_id) JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
           WHERE m.status IN ('auto', 'confirmed') AND m.kind = '1:1' AND e.counterparty IS NOT NULL
             AND trim(e.counterparty) <> ''
           GROUP BY l.bank_txn_id"""
    )
    out = {}
    for action, labels in (("category", person), ("payee", matched)):
        if not labels.is_empty():
            out[action] = rows.join(labels.cast({"txn_id": pl.String, "label": pl.String}), on="txn_id")
    return out


def _group_key(description: pl.Expr) -> pl.Expr:
    words = description.str.to_lowercase().str.split(" ").list.filter(~pl.element().str.contains(r"\d"))
    return words.list.join(" ").str.replace_all(r"\s+", " ").str.strip_chars()


def _common_prefix(descriptions: list[str]) -> str:
    """The whole words every description starts with (case as written in the first one)."""
    split = [" ".join(d.split()).split(" ") for d in descriptions]
    shared: list[str] = []
    for words in zip(*split, strict=False):
        if len({w.lower() for w in words}) != 1:
            break
        shared.append(words[0])
    return " ".join(shared)


def suggest_rules(
    store: Store, *, existing: RuleSet | None, min_support: int = 3, min_confidence: float = 0.9
) -> list[Suggestion]:
    suggestions: list[Suggestion] = []
    for action, rows in _labelled(store).items():
        lowered = rows.with_columns(
            _group_key(pl.col("description")).alias("_key"),
            pl.col("description").str.replace_all(r"\s+", " ").str.strip_chars().str.to_lowercase().alias("_lower"),
        )
        for (key,), group in lowered.group_by("_key", maintain_order=True):
            if not key or group.height < min_support:
                continue
            label = group["label"].mode().sort()[0]
            prefix = _common_prefix(group.filter(pl.col("label") == label)["description"].to_list())
            if len(prefix) < MIN_PREFIX_CHARS:
                continue
            signs = group["amount_minor"].sign().unique().to_list()
            sign = {1: "positive", -1: "negative"}.get(signs[0]) if len(signs) == 1 else None
            hits = lowered.filter(pl.col("_lower").str.starts_with(" ".join(prefix.split()).lower()))
            if sign:
                hits = hits.filter(pl.col("amount_minor").sign() == (1 if sign == "positive" else -1))
            support = int((hits["label"] == label).sum())
            if support < min_support or support / hits.height < min_confidence:
                continue
            if existing is not None and _already_done(existing, hits, action, label):
                continue
            first = group.row(0, named=True)
            suggestions.append(
                Suggestion(
                    action, label, prefix, sign, support, hits.height, first["description"],
                    format_minor(first["amount_minor"], first["currency"]), first["currency"],
                )
            )  # fmt: skip
    unique = {(s.action, s.prefix, s.sign): s for s in suggestions}
    return sorted(unique.values(), key=lambda s: (-s.support, s.prefix))


def _already_done(existing: RuleSet, rows: pl.DataFrame, action: str, label: str) -> bool:
    outcome = apply_rules(rows.select(RULE_INPUT.names()), existing)
    return bool((outcome[action] == label).fill_null(False).all())


def _name(suggestion: Suggestion, taken: set[str]) -> str:
    base = f"{suggestion.value} ({suggestion.action}, suggested)"
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name


def suggestions_yaml(suggestions: list[Suggestion], *, rows_seen: int | None = None) -> str:
    """A rule file for review: one rule per suggestion, with its support, confidence and one example."""
    today = datetime.now(UTC).date().isoformat()
    seen = f" from {rows_seen} stored bank rows" if rows_seen is not None else ""
    lines = [
        f"# Suggested by `recon rules suggest` on {today}{seen}.",
        "# Nothing here has been applied. Review each rule, rename it, then move it into a rule file",
        "# that the config's [rules] paths name. `recon rules test` runs the example under each rule.",
        "rules:" if suggestions else "rules: []",
    ]
    taken: set[str] = set()
    quote = json.dumps  # a JSON string is a valid YAML double-quoted scalar
    for s in suggestions:
        source = "categories people gave" if s.action == "category" else "counterparties of matched ledger entries"
        lines += [
            f"  # support {s.support} rows, confidence {s.confidence:.0%} ({s.support} of {s.matched} labelled rows "
            f"it matches); learnt from {source}",
            f"  - name: {quote(_name(s, taken))}",
            "    when:",
            f"      description: {{starts_with: {quote(s.prefix)}}}",
        ]
        if s.sign:
            lines.append(f"      amount: {{sign: {s.sign}}}")
        lines += [
            f"    then: {{{s.action}: {quote(s.value)}}}",
            "    examples:",
            f"      - {{description: {quote(s.example_description)}, amount: {quote(s.example_amount)}, "
            + ("" if s.example_currency == "USD" else f"currency: {s.example_currency}, ")
            + f"expect: {{{s.action}: {quote(s.value)}}}}}",
        ]
    return "\n".join(lines) + "\n"
