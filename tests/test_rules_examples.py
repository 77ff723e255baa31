"""`recon rules test`: the examples in rule files, and the dry run over the stored rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.categorize.examples import run_examples
from recon.categorize.rulefile import load_rule_files
from tests.rules_support import import_and_match, run_cli, write_rules

SHIPPED = sorted((Path(__file__).resolve().parent.parent / "rules").glob("*.yaml"))


def test_the_shipped_rule_files_cover_the_advertised_topics() -> None:
    assert {p.stem for p in SHIPPED} >= {"bank_fees", "interest", "payroll", "saas", "card_processors"}


def test_shipped_examples_pass_rules_test(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "rules", "test", *SHIPPED)
    assert code == 0, out + err
    results = run_examples(load_rule_files(SHIPPED))
    assert len(results) >= 20
    assert all(r.passed for r in results)
    assert f"examples: {len(results)} passed, 0 failed" in out
    # every shipped rule has at least one example
    assert all(r.rule.examples for r in load_rule_files(SHIPPED).rules)


def test_a_failing_example_names_the_file_line_and_what_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rules(
        tmp_path,
        """
        rules:
          - name: Fees
            when: {description: {contains: FEE}}
            then: {category: "Expenses:Bank Fees", payee: Bank}
          - name: Wire fees
            when: {description: {contains: WIRE FEE}}
            then: {category: "Expenses:Bank Fees:Wires"}
            examples:
              - description: WIRE FEE
                amount: "-35.00"
                expect: {category: "Expenses:Bank Fees:Wires"}
              - {description: SOMETHING ELSE, amount: "-1.00", expect: {uncategorized: true}}
        """,
    )
    code, out, err = run_cli(capsys, "rules", "test", path)
    assert code == 1
    assert "rules.yaml:9: rule 'Wire fees', example 'WIRE FEE'" in out
    assert "rule: expected 'Wire fees' to apply first, got 'Fees'" in out
    assert "category: expected 'Expenses:Bank Fees:Wires', got 'Expenses:Bank Fees'" in out
    assert "examples: 1 passed, 1 failed" in out
    assert "1 example(s) failed" in err


def test_examples_check_splits_tags_transfer_and_currency(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        rules:
          - name: Benefits
            when: {description: {contains: BENEFITS}}
            then:
              split:
                - {category: Health, percent: "80"}
                - {category: Employees, remainder: true}
              tags: [payroll]
            examples:
              - description: GUSTO BENEFITS
                amount: "-1234.57"
                expect:
                  tags: [payroll]
                  split: [{category: Health, amount: "-987.65"}, {category: Employees, amount: "-246.92"}]
              - description: BENEFITS JP
                amount: "-1001"
                currency: JPY
                expect:
                  split: [{category: Health, amount: "-800"}, {category: Employees, amount: "-201"}]
              - description: BENEFITS WRONG
                amount: "-100.00"
                expect:
                  split: [{category: Health, amount: "-50.00"}, {category: Employees, amount: "-50.00"}]
          - name: Sweep
            when: {description: {contains: SWEEP}}
            then: {transfer_to: savings}
            examples:
              - {description: SWEEP TO SAVINGS, amount: "-500.00", expect: {transfer_to: savings}}
        """,
    )
    results = run_examples(load_rule_files([path]))
    assert [r.passed for r in results] == [True, True, False, True]
    assert "split: expected [('Health', '-50.00'), ('Employees', '-50.00')]" in results[2].failures[0]


def test_dry_run_shows_per_rule_counts_samples_and_the_diff(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = demo / "recon.toml"
    import_and_match(capsys, config)
    code, out, err = run_cli(capsys, "rules", "test", "--config", config)
    assert code == 0, err
    assert "dry run over 12 open bank rows (nothing is written):" in out
    assert "rules/bank_fees.yaml:5: rule 'Monthly service fee': applies to 3 rows, 3 would change" in out
    assert "e.g. 2026-07-31 -15.00 MONTHLY SERVICE FEE" in out
    assert "changes against the current categorization: 10 rows" in out
    assert "before: (not categorized)" in out
    assert "after:  rule 'Interest earned' category=Income:Interest payee=Bank" in out
