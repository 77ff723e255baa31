"""The categorize service on the demo: bank-only rows categorized or listed with a reason, idempotent,
people's categorizations untouched; and `rules suggest` learning from the demo's history."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from recon.categorize import RuleFileError, categorize, load_rule_files
from recon.config import load_config
from recon.store import open_store
from tests.rules_support import import_and_match, run_cli, set_by_person

BANK_ONLY = {
    "MONTHLY SERVICE FEE": "Expenses:Bank Fees",
    "INTEREST PAYMENT": "Income:Interest",
    "WIRE TRANSFER FEE OUTGOING WIRE": "Expenses:Bank Fees:Wires",
}
STABLE = "txn_id, origin, rule_name, rule_file, rule_line, category, payee, tags, memo, splits, ignored"


@pytest.fixture
def demo_config(demo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    config = demo / "recon.toml"
    import_and_match(capsys, config)
    return config


def test_every_open_bank_row_is_categorized_or_listed_with_a_reason(demo_config: Path) -> None:
    config = load_config(demo_config)
    with open_store(config.store_path) as store:
        summary = categorize(store, config, "run-1")
        stored = store.query(
            "SELECT b.description, c.category, c.rule_file FROM categorizations c JOIN bank_transactions b "
            "USING (txn_id)"
        )
        open_ids = store.query(
            """SELECT txn_id, description FROM bank_transactions WHERE txn_id NOT IN (
                 SELECT l.bank_txn_id FROM match_links l JOIN matches m USING (match_id)
                 WHERE m.status IN ('auto', 'confirmed'))"""
        )
    categorized = dict(zip(stored["description"], stored["category"], strict=True))
    for description, category in BANK_ONLY.items():
        assert categorized[description] == category
    assert set(stored["rule_file"]) <= {f"rules/{p.name}" for p in (demo_config.parent / "rules").glob("*.yaml")}
    listed = {u.txn_id: u for u in summary.uncategorized}
    assert set(open_ids["txn_id"]) == set(categorized_ids(demo_config)) | set(listed)
    assert summary.open_rows == open_ids.height
    assert summary.categorized + len(summary.uncategorized) == summary.open_rows
    deposit = next(u for u in summary.uncategorized if u.description == "DEPOSIT BRANCH 042 MOBILE")
    assert deposit.amount == "1730.00"
    assert deposit.reason.startswith("no rule matches")
    assert summary.by_rule["Monthly service fee"] == 3
    assert summary.as_dict()["categorized"] == summary.categorized
    assert summary.lines()[0].startswith(f"categorized:    {summary.categorized} of {summary.open_rows} open")
    assert summary.lines(show=0)[-1] == f"  ... and {len(summary.uncategorized)} more rows not categorized"


def categorized_ids(config_path: Path) -> list[str]:
    config = load_config(config_path)
    with open_store(config.store_path) as store:
        return store.query("SELECT txn_id FROM categorizations")["txn_id"].to_list()


def test_rerun_is_idempotent_and_follows_rule_changes(demo_config: Path) -> None:
    config = load_config(demo_config)
    with open_store(config.store_path) as store:
        categorize(store, config, "run-1")
        first = store.query(f"SELECT {STABLE} FROM categorizations ORDER BY txn_id")
        categorize(store, config, "run-2")
        assert store.query(f"SELECT {STABLE} FROM categorizations ORDER BY txn_id").equals(first)
        assert store.query("SELECT DISTINCT run_id FROM categorizations")["run_id"].to_list() == ["run-2"]

        fees = demo_config.parent / "rules" / "bank_fees.yaml"
        fees.write_text(fees.read_text().replace('category: "Expenses:Bank Fees"\n', 'category: "Expenses:Fees"\n', 1))
        categorize(store, config, "run-3")
        changed = store.query("SELECT category FROM categorizations WHERE rule_name = 'Monthly service fee'")[
            "category"
        ].to_list()
        assert changed == ["Expenses:Fees"] * 3
        assert store.query("SELECT count(*) AS n FROM categorizations")["n"][0] == first.height


def test_a_persons_categorization_is_never_changed(demo_config: Path) -> None:
    config = load_config(demo_config)
    with open_store(config.store_path) as store:
        categorize(store, config, "run-1")
        fee = store.query(
            "SELECT txn_id FROM bank_transactions WHERE description = 'MONTHLY SERVICE FEE' ORDER BY posted_date"
        )["txn_id"][0]
        set_by_person(store, fee, category="Expenses:Waived", memo="bank refunds it next month")
        summary = categorize(store, config, "run-2")
        row = store.query(f"SELECT origin, category, memo, rule_name FROM categorizations WHERE txn_id = '{fee}'")
        assert row.row(0) == ("person", "Expenses:Waived", "bank refunds it next month", None)
        assert summary.by_rule["Monthly service fee"] == 2


def test_an_invalid_rule_file_changes_nothing(demo_config: Path) -> None:
    config = load_config(demo_config)
    with open_store(config.store_path) as store:
        categorize(store, config, "run-1")
        before = store.query(f"SELECT {STABLE} FROM categorizations ORDER BY txn_id")
        (demo_config.parent / "rules" / "zz.yaml").write_text("rules:\n  - name: X\n    when: {}\n    then: {}\n")
        with pytest.raises(RuleFileError, match=r"zz.yaml:3: key 'rules\[0\].when'"):
            categorize(store, config, "run-2")
        assert store.query(f"SELECT {STABLE} FROM categorizations ORDER BY txn_id").equals(before)


def test_suggest_writes_a_valid_rule_file_for_review(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = demo_config.parent / "suggested.yaml"
    code, _, err = run_cli(capsys, "rules", "suggest", "--config", demo_config, "-o", out_file)
    assert code == 0, err
    text = out_file.read_text()
    suggested = load_rule_files([out_file])
    # each rule's support is the number of matched rows of its payee in the books
    supports = [int(n) for n in re.findall(r"# payee: support (\d+) rows, confidence 100%", text)]
    assert len(supports) == len(suggested.rules)
    config = load_config(demo_config)
    with open_store(config.store_path, read_only=True) as store:
        for support, rule in zip(supports, suggested.rules, strict=True):
            matched = store.query(
                """SELECT count(DISTINCT l.bank_txn_id) AS n FROM match_links l JOIN matches m USING (match_id)
                   JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
                   WHERE m.status IN ('auto', 'confirmed') AND e.counterparty = ?""",
                [rule.rule.then.payee],
            )["n"][0]
            assert support == matched, rule.rule.name
    payees = {r.rule.then.payee for r in suggested.rules}
    assert {"Umbrella Health", "Oakwood Properties", "Slack", "GitHub", "Gusto"} <= payees
    # customers' receipts and the rent: the shipped rules say nothing of them, so their examples pass
    umbrella = next(r for r in suggested.rules if r.rule.then.payee == "Umbrella Health")
    assert umbrella.rule.when.description is not None
    assert umbrella.rule.when.description.regex == "^ACH CREDIT UMBRELLA HEALTH ORIG CO NAME:UMBRELLA HEALTH(?: |$)"
    # never applied, never written over a file
    config = load_config(demo_config)
    with open_store(config.store_path, read_only=True) as store:
        assert store.query("SELECT count(*) AS n FROM categorizations")["n"][0] == 0
    code, _, err = run_cli(capsys, "rules", "suggest", "--config", demo_config, "-o", out_file)
    assert code == 2
    assert "exists" in err


def test_suggest_learns_categories_people_gave(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(demo_config)
    with open_store(config.store_path) as store:
        slack = store.query("SELECT txn_id FROM bank_transactions WHERE description LIKE '%SLACK%'")["txn_id"]
        for txn_id in slack:
            set_by_person(store, txn_id, category="Expenses:Communication")
    code, out, err = run_cli(capsys, "rules", "suggest", "--config", demo_config, "--min-support", "3")
    assert code == 0, err
    assert (
        "category: support 3 rows, confidence 100% (3 of 3 stored rows it matches); learnt from categories people gave"
        in out
    )
    assert "description: {regex: '^POS DEBIT SLACK T0123ABC(?: |$)'}" in out
    assert 'then: {category: "Expenses:Communication", payee: "Slack"}' in out


def test_check_uses_the_stored_history(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "rules", "check", "--config", demo_config)
    assert code == 0, err
    stored = load_config(demo_config)
    with open_store(stored.store_path, read_only=True) as store:
        rows = store.query("SELECT count(*) AS n FROM bank_transactions")["n"][0]
    assert f"rules/interest.yaml:19: warning: rule 'Interest charged': matches none of the {rows} stored" in out
    assert f"checked against {rows} stored bank rows: 0 errors" in out
    assert run_cli(capsys, "rules", "check", "--strict", "--config", demo_config)[0] == 2
