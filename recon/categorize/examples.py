"""Run the examples written in rule files: made-up rows through the whole rule set.

Each example goes through every rule, in evaluation order, exactly as a stored row
would; so an example also fails when an earlier rule takes its row. Only the keys
written under `expect` are compared, plus the rule that applies first, which must
be the rule the example is written under (or `expect: {rule: ...}`), unless the
example expects `uncategorized: true`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import polars as pl

from recon.categorize.engine import apply_rules
from recon.categorize.rows import RULE_INPUT
from recon.categorize.rulefile import LoadedRule, RuleSet
from recon.categorize.schema import Example
from recon.categorize.service import has_destination
from recon.categorize.values import E4_DECIMALS
from recon.money import currency_exponent, format_minor

__all__ = ["ExampleResult", "example_rows", "run_examples"]


@dataclass(frozen=True, slots=True)
class ExampleResult:
    """One example's verdict: `failures` is empty when it passed."""

    rule: LoadedRule
    index: int
    line: int
    description: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def where(self) -> str:
        return f"{self.rule.where.rsplit(':', 1)[0]}:{self.line}"


def example_rows(
    ruleset: RuleSet, *, default_account: str = "example", currencies: dict[str, str] | None = None
) -> pl.DataFrame:
    """Every example of every rule as a bank row (`RULE_INPUT`), `txn_id` = its position; plus `_problem`."""
    currencies = currencies or {}
    records = []
    for n, example in enumerate(e for loaded in ruleset.rules for e in loaded.rule.examples):
        account = example.account or default_account
        currency = example.currency or currencies.get(account, "USD")
        per_minor = 10 ** (E4_DECIMALS - currency_exponent(currency))
        problem = f"amount has more decimals than {currency} allows" if example.amount % per_minor else None
        records.append(
            {
                "txn_id": str(n), "account_id": account, "posted_date": example.date,
                "amount_minor": example.amount // per_minor, "currency": currency,
                "description": example.description, "payee": example.payee, "memo": example.memo,
                "reference": example.reference, "source": example.source, "_problem": problem,
            }
        )  # fmt: skip
    return pl.DataFrame(records, schema={**RULE_INPUT, "_problem": pl.String})


def run_examples(
    ruleset: RuleSet, *, default_account: str = "example", currencies: dict[str, str] | None = None
) -> list[ExampleResult]:
    """Run every example of every rule; `currencies` maps account ids to their currency (default USD)."""
    cases = [(loaded, j, example) for loaded in ruleset.rules for j, example in enumerate(loaded.rule.examples)]
    rows = example_rows(ruleset, default_account=default_account, currencies=currencies)
    outcome = apply_rules(rows, ruleset).with_columns(has_destination().alias("_placed"))
    by_id = {row["txn_id"]: row for row in outcome.iter_rows(named=True)}
    problems = rows["_problem"].to_list()
    row_currency = rows["currency"].to_list()
    names = {r.order: r.name for r in ruleset.rules}
    results = []
    for n, (loaded, j, example) in enumerate(cases):
        problem = problems[n]
        failures = [problem] if problem else _compare(example, loaded, by_id[str(n)], names, row_currency[n])
        results.append(ExampleResult(loaded, j, loaded.example_lines[j], example.description, failures))
    return results


def _compare(
    example: Example, loaded: LoadedRule, got: dict[str, object], names: dict[int, str], currency: str
) -> list[str]:
    expect = example.expect
    failures: list[str] = []
    first = names.get(got["rule_order"]) if isinstance(got["rule_order"], int) else None
    if expect.uncategorized is not None:
        if expect.uncategorized != got["_placed"]:
            return failures
        said = f"rule '{first}' gave it {_destination(got)}" if got["_placed"] else "no rule gives it a destination"
        return [f"expected {'no destination' if expect.uncategorized else 'a destination'}, but {said}"]
    wanted_rule = expect.rule or loaded.name
    if first != wanted_rule:
        failures.append(f"rule: expected '{wanted_rule}' to apply first, got {repr(first) if first else 'no rule'}")
    pairs: list[tuple[str, object, object]] = [
        ("category", expect.category, got["category"]),
        ("payee", expect.payee, got["payee"]),
        ("memo", expect.memo, got["memo"]),
        ("transfer_to", expect.transfer_to, got["transfer_account"]),
        ("ignored", expect.ignored, got["ignored"]),
    ]
    if expect.tags is not None:
        pairs.append(("tags", sorted(expect.tags), sorted(got["tags"] or [])))  # type: ignore[call-overload]
    if expect.split is not None:
        pairs.append(("split", _expected_split(example, currency), _got_split(got)))
    for key, wanted, actual in pairs:
        if wanted is not None and wanted != actual:
            failures.append(f"{key}: expected {wanted!r}, got {actual!r}")
    return failures


def _destination(got: dict[str, object]) -> str:
    for key in ("category", "transfer_account", "splits"):
        if got[key] is not None:
            return f"{key} {got[key]}"
    return "ignore"


def _expected_split(example: Example, currency: str) -> list[tuple[str, str]]:
    assert example.expect.split is not None
    per_minor = 10 ** (E4_DECIMALS - currency_exponent(currency))
    return [(part.category, format_minor(part.amount // per_minor, currency)) for part in example.expect.split]


def _got_split(got: dict[str, object]) -> list[tuple[str, str]]:
    if not isinstance(got["splits"], str):
        return []  # not split: `expect: {split: []}` says so
    return [(part["category"], part["amount"]) for part in json.loads(got["splits"])]
