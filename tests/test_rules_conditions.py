"""Each kind of condition, on rows made here: which rows a rule matches."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.rules_support import outcome, ruleset


def matched(tmp_path: Path, when: str, *rows: dict[str, object]) -> list[bool]:
    rules = ruleset(
        tmp_path,
        f"""
        rules:
          - name: Under test
            when: {when}
            then: {{category: X}}
        """,
    )
    return [r["rule"] == "Under test" for r in outcome(rules, *rows)]


@pytest.mark.parametrize(
    ("test", "expected"),
    [
        ("{contains: service fee}", [True, True, False, False]),
        ("{contains: [WIRE, SERVICE]}", [True, True, True, False]),
        ("{starts_with: MONTHLY}", [True, False, False, False]),
        ("{ends_with: 'FEE'}", [True, True, True, False]),
        ("{equals: monthly service fee}", [True, False, False, False]),
        ("{regex: '^(MONTHLY|ACCOUNT) SERVICE'}", [True, True, False, False]),
        ("{is_empty: true}", [False, False, False, True]),
        ("{is_empty: false, contains: fee}", [True, True, True, False]),
    ],
)
def test_text_tests_ignore_case_and_spaces(tmp_path: Path, test: str, expected: list[bool]) -> None:
    rows = [
        {"description": "MONTHLY   SERVICE FEE"},
        {"description": "Account service fee"},
        {"description": "WIRE TRANSFER FEE"},
        {"description": ""},
    ]
    assert matched(tmp_path, f"{{description: {test}}}", *rows) == expected


def test_payee_memo_and_reference_are_separate_fields(tmp_path: Path) -> None:
    rows = [
        {"description": "ACH", "payee": "Acme Corp", "memo": "INV-1", "reference": "E2E-77"},
        {"description": "ACH Acme Corp INV-1 E2E-77"},
    ]
    assert matched(tmp_path, "{payee: {contains: acme}}", *rows) == [True, False]
    assert matched(tmp_path, "{memo: {regex: 'INV-\\d'}}", *rows) == [True, False]
    assert matched(tmp_path, "{reference: {starts_with: E2E}}", *rows) == [True, False]


def test_fuzzy_similarity_above_a_threshold(tmp_path: Path) -> None:
    rows = [{"description": "NOTION LABS, INC."}, {"description": "NOTON LABS INC"}, {"description": "NOTARY LABS"}]
    assert matched(tmp_path, "{description: {similar_to: notion labs inc}}", *rows) == [True, True, False]
    strict = "{description: {similar_to: notion labs inc, min_similarity: 100}}"
    assert matched(tmp_path, strict, *rows) == [True, False, False]


def test_amount_tests_are_exact_and_signed(tmp_path: Path) -> None:
    rows = [{"amount_minor": -1500}, {"amount_minor": -1501}, {"amount_minor": 1500}, {"amount_minor": 0}]
    assert matched(tmp_path, '{amount: {equals: "-15.00"}}', *rows) == [True, False, False, False]
    assert matched(tmp_path, '{amount: {equals: ["-15.00", "15.00"]}}', *rows) == [True, False, True, False]
    assert matched(tmp_path, '{amount: {between: ["-15.00", "-20.00"]}}', *rows) == [True, True, False, False]
    assert matched(tmp_path, '{amount: {at_least: "-15.00"}}', *rows) == [True, False, True, True]
    assert matched(tmp_path, '{amount: {at_most: "0"}}', *rows) == [True, True, False, True]
    assert matched(tmp_path, "{amount: {sign: negative}}", *rows) == [True, True, False, False]
    assert matched(tmp_path, "{amount: {sign: positive}}", *rows) == [False, False, True, False]
    assert matched(tmp_path, "{amount: {sign: zero}}", *rows) == [False, False, False, True]


def test_amounts_compare_in_each_rows_currency(tmp_path: Path) -> None:
    rows = [
        {"amount_minor": -1500, "currency": "JPY"},  # 1500 yen
        {"amount_minor": -1500, "currency": "USD"},  # 15 dollars
        {"amount_minor": -1500, "currency": "BHD"},  # 1.500 dinars
    ]
    assert matched(tmp_path, '{amount: {equals: "-1500"}}', *rows) == [True, False, False]
    assert matched(tmp_path, '{amount: {equals: "-15"}}', *rows) == [False, True, False]
    assert matched(tmp_path, '{amount: {equals: "-1.5"}}', *rows) == [False, False, True]


def test_account_currency_and_source(tmp_path: Path) -> None:
    rows = [
        {"account_id": "checking", "currency": "USD", "source": "ofx"},
        {"account_id": "savings", "currency": "EUR", "source": "camt053"},
    ]
    assert matched(tmp_path, "{account: savings}", *rows) == [False, True]
    assert matched(tmp_path, "{account: [checking, savings]}", *rows) == [True, True]
    assert matched(tmp_path, "{currency: eur}", *rows) == [False, True]
    assert matched(tmp_path, "{source: [plaid, ofx]}", *rows) == [True, False]


def test_date_tests(tmp_path: Path) -> None:
    rows = [
        {"posted_date": date(2026, 6, 30)},  # Tuesday, last day of June
        {"posted_date": date(2026, 7, 1)},  # Wednesday
        {"posted_date": date(2026, 7, 31)},  # Friday, last day of July
        {"posted_date": None},
    ]
    assert matched(tmp_path, "{date: {day_of_month: last}}", *rows) == [True, False, True, False]
    assert matched(tmp_path, "{date: {day_of_month: [1, 30]}}", *rows) == [True, True, False, False]
    assert matched(tmp_path, "{date: {weekday: [wed, friday]}}", *rows) == [False, True, True, False]
    assert matched(tmp_path, "{date: {from: 2026-07-01, to: 2026-07-31}}", *rows) == [False, True, True, False]
    # a test on a missing date is false, so `not` of it is true
    assert matched(tmp_path, "{not: {date: {from: 2026-07-01}}}", *rows) == [True, False, False, True]


def test_all_any_not(tmp_path: Path) -> None:
    rows = [
        {"description": "STRIPE TRANSFER", "amount_minor": 100},
        {"description": "STRIPE FEE", "amount_minor": -100},
        {"description": "SQUARE INC", "amount_minor": 100},
    ]
    either = "{any: [{description: {contains: stripe}}, {description: {contains: square}}]}"
    assert matched(tmp_path, either, *rows) == [True, True, True]
    both = "{all: [{description: {contains: stripe}}, {amount: {sign: positive}}]}"
    assert matched(tmp_path, both, *rows) == [True, False, False]
    assert matched(tmp_path, "{not: {description: {contains: fee}}}", *rows) == [True, False, True]
    nested = "{description: {contains: stripe}, not: {any: [{amount: {sign: negative}}, {account: savings}]}}"
    assert matched(tmp_path, nested, *rows) == [True, False, False]
