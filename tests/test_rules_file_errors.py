"""A mistake in a rule file is named by file, line and key, exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from recon.categorize.rulefile import RuleFileError, load_rule_files
from tests.rules_support import run_cli, write_rules

GOOD_RULE = """\
  - name: Fee
    when:
      description: {contains: FEE}
    then:
      category: "Expenses:Bank Fees"
"""


def problems(tmp_path: Path, text: str, **kwargs: object) -> str:
    path = write_rules(tmp_path, text)
    with pytest.raises(RuleFileError) as caught:
        load_rule_files([path], **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_bad_regex_on_line_12_exits_2_naming_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rules(
        tmp_path,
        """
        rules:
          - name: Fee
            when:
              description: {contains: FEE}
            then:
              category: "Expenses:Bank Fees"
          - name: Invoices
            when:
              amount: {sign: positive}
              description: {contains: INV}
              reference:
                regex: 'INV-(\\d+'
            then:
              memo: "Invoice {1}"
        """,
    )
    assert path.read_text().splitlines()[11].strip() == "regex: 'INV-(\\d+'"
    code, _, err = run_cli(capsys, "rules", "check", path)
    assert code == 2
    assert "Traceback" not in err
    assert f"{path.name}:12: key 'rules[1].when.reference.regex': not a valid regular expression: unclosed group" in err


def test_unknown_action_and_condition_are_named_with_a_hint(tmp_path: Path) -> None:
    message = problems(
        tmp_path,
        """
        rules:
          - name: Fee
            when:
              descripton: {contains: FEE}
            then:
              categroy: "Expenses:Bank Fees"
        """,
    )
    assert "rules.yaml:4: key 'rules[0].when.descripton': unknown condition 'descripton'" in message
    assert "did you mean 'description'?" in message
    assert "rules.yaml:6: key 'rules[0].then.categroy': unknown action 'categroy'" in message
    assert "did you mean 'category'?" in message


def test_unknown_text_test_and_missing_keys(tmp_path: Path) -> None:
    message = problems(
        tmp_path,
        """
        rules:
          - name: Fee
            when:
              description: {contain: FEE}
          - when: {amount: {sign: negative}}
            then: {category: X}
        """,
    )
    assert "rules.yaml:4: key 'rules[0].when.description.contain': unknown key 'contain'" in message
    assert "key 'rules[0].then': missing: this key is required" in message
    assert "rules.yaml:5: key 'rules[1].name': missing" in message


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ('"12,50"', "'12,50' is not an amount"),
        ('"$15.00"', "'$15.00' is not an amount"),
        ('"1.00001"', "more than 4 decimals"),
        ("[1, 2, 3]", "List should have at most 2 items"),
    ],
)
def test_bad_amounts_are_refused(tmp_path: Path, amount: str, expected: str) -> None:
    key = "between" if amount.startswith("[") else "equals"
    message = problems(
        tmp_path,
        f"""
        rules:
          - name: Fee
            when:
              amount: {{{key}: {amount}}}
            then: {{category: X}}
        """,
    )
    assert f"rules.yaml:4: key 'rules[0].when.amount.{key}" in message
    assert expected in message


def test_unquoted_amounts_are_read_exactly_not_as_floats(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
        rules:
          - name: Odd amount
            when: {amount: {equals: 0.1, at_least: -15.00}}
            then: {category: X}
        """,
    )
    rule = load_rule_files([path]).rules[0].rule
    assert rule.when.amount is not None
    assert rule.when.amount.equals == [1000]  # 0.1 in 1/10,000 units, exactly
    assert rule.when.amount.at_least == -150000


def test_several_actions_that_place_the_row_are_refused(tmp_path: Path) -> None:
    message = problems(
        tmp_path,
        """
        rules:
          - name: Both
            when: {description: {contains: X}}
            then: {category: A, transfer_to: savings}
        """,
    )
    assert "key 'rules[0].then': category and transfer_to say different things" in message


@pytest.mark.parametrize(
    ("split", "expected"),
    [
        ('[{category: A, percent: "60"}, {category: B, percent: "30"}]', "add up to 90, not 100"),
        ('[{category: A, amount: "10.00"}, {category: B, percent: "30"}]', "needs one part with remainder"),
        ("[{category: A, remainder: true}, {category: B, remainder: true}]", "only one part may be the remainder"),
        ('[{category: A, percent: "60", amount: "1.00"}, {category: B, remainder: true}]', "exactly one of"),
        ('[{category: A, percent: "160"}, {category: B, remainder: true}]', "at most 100"),
    ],
)
def test_inconsistent_splits_are_refused(tmp_path: Path, split: str, expected: str) -> None:
    message = problems(
        tmp_path,
        f"""
        rules:
          - name: Split
            when: {{description: {{contains: X}}}}
            then: {{split: {split}}}
        """,
    )
    assert "rules.yaml:4: key 'rules[0].then" in message
    assert expected in message


def test_captures_must_exist(tmp_path: Path) -> None:
    message = problems(
        tmp_path,
        """
        rules:
          - name: No regex
            when: {description: {contains: INV}}
            then: {memo: "Invoice {1}"}
          - name: Too few groups
            when: {description: {regex: 'INV-(\\d+)'}}
            then: {memo: "Invoice {2}"}
          - name: Unknown name
            when: {description: {regex: 'INV-(?P<number>\\d+)'}}
            then: {memo: "Invoice {invoice}"}
        """,
    )
    assert "rules.yaml:2: key 'rules[0]': then.memo uses {1} but the rule has no regex test" in message
    assert "key 'rules[1]': then.memo uses {2} but the regex has 1 group(s)" in message
    assert "key 'rules[2]': then.memo uses {invoice} but no regex has a group (?P<invoice>...)" in message


def test_duplicate_yaml_key_and_bad_yaml_name_the_line(tmp_path: Path) -> None:
    message = problems(
        tmp_path,
        """
        rules:
          - name: Fee
            name: Fee again
            when: {description: {contains: FEE}}
            then: {category: X}
        """,
    )
    assert "rules.yaml:3: key 'name': key written twice (first on line 2)" in message
    broken = problems(tmp_path, "rules:\n  - name: [unclosed\n")
    assert "rules.yaml:3: not valid YAML" in broken


def test_names_accounts_and_sources_are_checked_across_files(tmp_path: Path) -> None:
    first = write_rules(tmp_path, "rules:\n" + GOOD_RULE, "a.yaml")
    second = write_rules(
        tmp_path,
        """
        rules:
          - name: Fee
            when: {account: savngs, source: ofxx, description: {contains: X}}
            then: {transfer_to: brokerage}
        """,
        "b.yaml",
    )
    with pytest.raises(RuleFileError) as caught:
        load_rule_files([second, first], accounts=["checking", "savings"])
    message = str(caught.value)
    assert "b.yaml:2: key 'rules[0].name': a rule named 'Fee' is already defined at" in message
    assert "a.yaml:2" in message
    assert (
        "b.yaml:3: key 'rules[0].when.account': unknown account 'savngs' (defined in the config: checking, savings)"
        in message
    )
    assert "key 'rules[0].when.source': unknown source 'ofxx'" in message
    assert "b.yaml:4: key 'rules[0].then.transfer_to': unknown account 'brokerage'" in message


def test_empty_file_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "the file is empty" in problems(tmp_path, "# nothing yet\n")
    assert "rules.yaml:1: the file does not start with 'rules:'" in problems(tmp_path, "- name: Fee\n")
    code, _, err = run_cli(capsys, "rules", "check", tmp_path / "nope.yaml")
    assert code == 2
    assert "rule file not found" in err


def test_config_rules_are_checked_by_recon_run_path_too(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (demo / "rules" / "zz_broken.yaml").write_text("rules:\n  - name: X\n    when: {amount: {sign: minus}}\n")
    code, _, err = run_cli(capsys, "rules", "test", "--config", demo / "recon.toml")
    assert code == 2
    assert "zz_broken.yaml:3: key 'rules[0].when.amount.sign': Input should be 'negative', 'positive' or 'zero'" in err


def test_aliases_that_expand_without_end_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recon.categorize import yamlmarks

    monkeypatch.setattr(yamlmarks, "MAX_NODES", 50)
    message = problems(
        tmp_path, 'a: &a ["x", "x", "x", "x", "x", "x", "x", "x"]\nb: [*a, *a, *a, *a, *a, *a, *a, *a]\n'
    )
    assert "rules.yaml: more than 50 values (with aliases expanded)" in message
