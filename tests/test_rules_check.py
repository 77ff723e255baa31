"""`recon rules check`: unreachable rules, rules unused by history, overlapping rules."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from recon.categorize.conditions import compile_condition
from recon.categorize.examples import example_rows
from recon.categorize.lint import lint
from recon.categorize.rows import prepare
from recon.categorize.rulefile import load_rule_files
from recon.categorize.schema import Condition
from recon.categorize.subsumption import implies
from tests.rules_support import bank_rows, run_cli

FIXTURE = Path(__file__).parent / "data" / "rules" / "lint_fixture.yaml"


def test_check_finds_the_shadowed_rule_and_the_overlapping_pair(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "rules", "check", FIXTURE)
    assert code == 2, err
    lines = out.splitlines()
    shadowed = [line for line in lines if "'Stripe payouts'" in line]
    assert len(shadowed) == 1
    assert "lint_fixture.yaml:11: error: rule 'Stripe payouts': can never apply" in shadowed[0]
    assert "matched first by rule 'Stripe anything'" in shadowed[0]
    overlaps = [line for line in lines if "overlaps" in line]
    assert len(overlaps) == 1
    assert "lint_fixture.yaml:25: warning: rule 'Large purchases': overlaps rule 'Amazon'" in overlaps[0]
    assert "'AMAZON MKTPLACE PMTS'" in overlaps[0]
    assert "Bank fees" not in out  # written after its exception on purpose
    assert "1 errors, 1 warnings" in out


def test_shipped_rules_check_clean_and_strict_fails_on_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = sorted((Path(__file__).parent.parent / "rules").glob("*.yaml"))
    code, out, _ = run_cli(capsys, "rules", "check", "--strict", *shipped)
    assert code == 0, out
    assert "0 errors, 0 warnings" in out
    overlap_only = tmp_path / "overlap.yaml"
    overlap_only.write_text(
        "rules:\n"
        "  - {name: Amazon, when: {description: {contains: AMAZON}}, then: {category: Office}}\n"
        '  - {name: Large, when: {amount: {at_most: "-500.00"}}, then: {category: Equipment},\n'
        '     examples: [{description: AMAZON, amount: "-900.00", expect: {rule: Amazon}}]}\n'
    )
    assert run_cli(capsys, "rules", "check", overlap_only)[0] == 0
    assert run_cli(capsys, "rules", "check", "--strict", overlap_only)[0] == 2


def test_never_matching_rules_are_found_on_history() -> None:
    rules = load_rule_files([FIXTURE])
    history = bank_rows({"description": "WIRE FEE", "amount_minor": -3500})
    findings = lint(rules, history=history, examples=example_rows(rules))
    never = {f.rule.name for f in findings if f.kind == "never_matches"}
    assert never == {"Stripe anything", "Stripe payouts", "Amazon", "Large purchases"}


def cond(text: str) -> Condition:
    return Condition.model_validate(yaml.safe_load(text))


@pytest.mark.parametrize(
    ("narrow", "broad"),
    [
        ("{description: {contains: STRIPE TRANSFER}}", "{description: {contains: stripe}}"),
        ("{description: {starts_with: ADP PAYROLL FEES}}", "{description: {starts_with: ADP PAYROLL}}"),
        ("{description: {equals: [A B, A C]}}", "{description: {starts_with: A}}"),
        ("{description: {contains: FEE}, amount: {sign: negative}}", "{description: {contains: FEE}}"),
        ('{amount: {between: ["-20", "-10"]}}', "{amount: {sign: negative}}"),
        ('{amount: {equals: "-15"}}', '{amount: {at_least: "-20"}}'),
        ("{account: checking}", "{account: [checking, savings]}"),
        ("{all: [{payee: {contains: ACME CO}}, {currency: USD}]}", "{payee: {contains: acme}}"),
        ("{description: {regex: 'X+'}}", "{description: {regex: 'X+'}}"),
    ],
)
def test_implies_proves_a_narrower_condition(narrow: str, broad: str) -> None:
    assert implies(cond(narrow), cond(broad))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("{description: {contains: STRIPE}}", "{description: {contains: STRIPE TRANSFER}}"),
        ("{description: {contains: FEE}}", "{description: {contains: FEE}, amount: {sign: negative}}"),
        ("{description: {contains: [FEE, CHARGE]}}", "{description: {contains: FEE}}"),
        ("{description: {regex: 'X+'}}", "{description: {regex: 'X'}}"),
        ('{amount: {at_least: "-20"}}', "{amount: {sign: negative}}"),
        ("{not: {account: savings}}", "{account: checking}"),
    ],
)
def test_implies_never_claims_what_it_cannot_prove(first: str, second: str) -> None:
    assert not implies(cond(first), cond(second))


def test_what_implies_proves_holds_on_rows() -> None:
    # a check of soundness on a few rows: whatever the narrow condition matches, the broad one matches too
    rows = prepare(
        bank_rows(
            {"description": "STRIPE TRANSFER ST-1", "amount_minor": 100},
            {"description": "stripe fee", "amount_minor": -100},
            {"description": "ADP PAYROLL FEES", "amount_minor": -1500},
        )
    )
    narrow = cond("{description: {contains: STRIPE TRANSFER}}")
    broad = cond("{description: {contains: stripe}}")
    hits = rows.select(compile_condition(narrow).alias("n"), compile_condition(broad).alias("b"))
    assert hits.filter(pl.col("n") & ~pl.col("b")).is_empty()
