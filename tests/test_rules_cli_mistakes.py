"""A rule author's mistakes in `recon rules`, `recon doctor` and `recon run` are named (file, line, key),
exit 2 and change nothing; `rules suggest` writes a file that passes its own check and test."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from recon.categorize.suggest import prefix_regex
from recon.config import load_config
from recon.store import open_store
from tests.rules_support import import_and_match, outcome, ruleset, run_cli, set_by_person, write_rules

BAD_REGEX = 'rules:\n  - name: Broken\n    when:\n      description: {regex: "(("}\n    then: {category: X}\n'


@pytest.fixture
def demo_config(demo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    config = demo / "recon.toml"
    import_and_match(capsys, config)
    return config


def _categorizations(config: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(config.parent / "recon.duckdb"), read_only=True)
    try:
        return con.execute("SELECT txn_id, origin, rule_name, category FROM categorizations ORDER BY txn_id").fetchall()
    finally:
        con.close()


def test_suggested_rules_pass_their_own_check_and_test(demo_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the Slack rows are matched (payee Slack) and a person gave them a category: both are learnt for one pattern
    config = load_config(demo_config)
    with open_store(config.store_path) as store:
        slack = store.query("SELECT txn_id FROM bank_transactions WHERE description LIKE '%SLACK%'")["txn_id"]
        for txn_id in slack:
            set_by_person(store, txn_id, category="Expenses:Communication")
    out_file = demo_config.parent / "suggested.yaml"
    code, _, err = run_cli(capsys, "rules", "suggest", "--config", demo_config, "--min-support", "2", "-o", out_file)
    assert code == 0, err
    text = out_file.read_text()
    assert 'then: {category: "Expenses:Communication", payee: "Slack"}' in text
    assert text.count("SLACK") == 2  # one rule (its pattern and its example), not one per action
    code, out, err = run_cli(capsys, "rules", "check", out_file, "--config", demo_config)
    assert code == 0, out + err
    assert ": 0 errors" in out
    code, out, err = run_cli(capsys, "rules", "test", out_file, "--config", demo_config, "--examples-only")
    assert code == 0, out + err
    assert " 0 failed" in out


def test_a_suggested_prefix_is_whole_words() -> None:
    assert prefix_regex("CHECK") == "^CHECK(?: |$)"
    assert prefix_regex("NAME:ACME (US)") == r"^NAME:ACME \(US\)(?: |$)"


def test_a_suggested_rule_matches_whole_words_only(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        f"""
        rules:
          - name: Checks
            when: {{description: {{regex: '{prefix_regex("CHECK")}'}}}}
            then: {{category: "Expenses:Contractors"}}
        """,
    )
    rows = [{"description": d} for d in ("CHECK 1045", "check", "CHECKCARD 0712 AMAZON", "CHECK-1046")]
    contractors = "Expenses:Contractors"
    assert [r["category"] for r in outcome(rules, *rows)] == [contractors, contractors, None, None]


def test_suggest_confidence_counts_every_row_the_rule_matches(
    demo_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2 of the 3 Initech receipts are matched (payee Initech LLC); the third is open, with no payee
    args = ("rules", "suggest", "--config", demo_config, "--min-support", "2")
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "INITECH" not in out
    code, out, err = run_cli(capsys, *args, "--min-confidence", "0.6")
    assert code == 0, err
    assert "payee: support 2 rows, confidence 67% (2 of 3 stored rows it matches)" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "/nonexistent/dir/x.yaml"], "/nonexistent/dir does not exist"),
        (["--min-confidence", "1.5"], "'--min-confidence': 1.5 is not in the range"),
        (["--min-support", "-5"], "'--min-support': -5 is not in the range"),
    ],
)
def test_suggest_refuses_bad_options_clearly(
    demo_config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, "rules", "suggest", "--config", demo_config, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in out + err


def test_doctor_and_run_refuse_an_invalid_rule_file_and_the_run_is_recorded(
    demo_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rules(demo_config.parent / "rules", BAD_REGEX, "zz_bad.yaml")
    code, out, _ = run_cli(capsys, "doctor", "--config", demo_config)
    assert code == 1
    assert "zz_bad.yaml:4: key 'rules[0].when.description.regex': not a valid regular expression" in out
    assert run_cli(capsys, "run", "--config", demo_config)[0] == 2
    con = duckdb.connect(str(demo_config.parent / "recon.duckdb"), read_only=True)
    status, error = con.execute("SELECT status, error FROM runs WHERE command = 'run'").fetchall()[0]
    con.close()
    assert status == "input_error"
    assert "zz_bad.yaml:4: key 'rules[0].when.description.regex'" in error


def test_a_rules_path_matching_no_file_is_an_error_and_deletes_nothing(
    demo_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "run", "--config", demo_config)[0] == 0
    before = _categorizations(demo_config)
    assert before
    demo_config.write_text(demo_config.read_text().replace('paths = ["rules/*.yaml"]', 'paths = ["rule/*.yaml"]'))
    expected = "recon.toml: key 'rules.paths': 'rule/*.yaml' matches no file"
    for command in (["run"], ["rules", "check"], ["rules", "test"]):
        code, _, err = run_cli(capsys, *command, "--config", demo_config)
        assert code == 2, command
        assert expected in err, command
    code, out, _ = run_cli(capsys, "doctor", "--config", demo_config)
    assert code == 1
    assert expected in out
    assert _categorizations(demo_config) == before


def test_a_rule_file_that_is_not_utf8_names_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rules:\n  - name: Café\n    when: {description: {contains: X}}\n".encode("latin-1"))
    code, _, err = run_cli(capsys, "rules", "check", path)
    assert code == 2
    assert "latin1.yaml:2: column 14: byte 0xe9 is not UTF-8" in err


def test_check_without_a_config_says_the_account_checks_were_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rules(tmp_path, "rules:\n  - name: T\n    when: {account: nowhere}\n    then: {transfer_to: nope}\n")
    code, out, _ = run_cli(capsys, "rules", "check", path, "--strict")
    assert code == 0
    assert "0 errors, 0 warnings (account names (account, transfer_to) not checked: no config" in out


def test_check_finds_a_shadowed_rule_among_many(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = [f"  - name: Vendor {i}\n    when: {{description: {{contains: 'VENDOR{i:05d}'}}}}\n"
             f"    then: {{category: 'Expenses:V{i}'}}\n" for i in range(1500)]  # fmt: skip
    rules.insert(700, "  - name: Broad\n    when: {description: {contains: 'VENDOR0100'}}\n    then: {category: B}\n")
    rules.append("  - name: Regex\n    when: {description: {regex: 'X+'}}\n    then: {category: R}\n")
    rules.append("  - name: Same regex\n    when: {description: {regex: 'X+'}, amount: {sign: negative}}\n"
                 "    then: {category: S}\n")  # fmt: skip
    path = write_rules(tmp_path, "rules:\n" + "".join(rules))
    code, out, err = run_cli(capsys, "rules", "check", path)
    assert code == 2
    unreachable = [line.split("rule '")[1].split("'")[0] for line in out.splitlines() if ": error: " in line]
    assert unreachable == [f"Vendor {i}" for i in range(1000, 1010)] + ["Same regex"]
    assert "rules check: looking for rules that can never apply (1503 rules) ..." in err
