"""Each kind of action, and the order rules apply in: first match wins, stop: false, priority."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.categorize.rulefile import load_rule_files
from tests.rules_support import outcome, ruleset, write_rules


def test_category_payee_tags_and_memo_with_captures(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        r"""
        rules:
          - name: Stripe payout
            when: {description: {regex: 'STRIPE TRANSFER (ST-\w+)'}}
            then:
              category: "Assets:Clearing:Stripe"
              payee: Stripe
              memo: "Payout {1} ({{batch}})"
              tags: [card, payout]
          - name: Invoice
            when:
              description: {regex: 'ACH CREDIT (?P<customer>[A-Z ]+?) INV-(?P<invoice>\d+)'}
              memo: {regex: 'ORDER (\d+)'}
            then: {payee: "{customer}", memo: "Invoice {invoice}"}
        """,
    )
    stripe, invoice, neither = outcome(
        rules,
        {"description": "stripe transfer st-377846"},
        {"description": "ACH CREDIT ACME CORP INV-10022", "memo": "ORDER 5"},
        {"description": "ACH CREDIT ACME CORP"},
    )
    assert stripe["rule"] == "Stripe payout"
    assert stripe["category"] == "Assets:Clearing:Stripe"
    assert stripe["payee"] == "Stripe"
    assert stripe["memo"] == "Payout st-377846 ({batch})"  # captured text keeps the row's case
    assert stripe["tags"] == ["card", "payout"]
    assert (invoice["payee"], invoice["memo"], invoice["category"]) == ("ACME CORP", "Invoice 10022", None)
    assert neither["rule"] is None


def test_a_group_that_did_not_take_part_leaves_the_memo_trimmed(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: Wire
            when: {description: {regex: 'WIRE FEE(?: (IN|OUT))?'}}
            then: {memo: "Wire fee {1}"}
        """,
    )
    rows = outcome(rules, {"description": "WIRE FEE OUT"}, {"description": "WIRE FEE"})
    assert [r["memo"] for r in rows] == ["Wire fee OUT", "Wire fee"]


def splits_of(row: dict[str, object]) -> list[tuple[str, int]]:
    assert isinstance(row["splits"], str)
    return [(p["category"], p["amount_minor"]) for p in json.loads(row["splits"])]


def test_split_by_percent_rounds_toward_zero_and_the_remainder_takes_the_rest(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: Thirds
            when: {description: {contains: THIRDS}}
            then:
              split:
                - {category: A, percent: "33.33"}
                - {category: B, percent: "33.33"}
                - {category: C, percent: "33.34"}
          - name: Phone
            when: {description: {contains: PHONE}}
            then:
              split:
                - {category: Personal, amount: "25.00"}
                - {category: Phone, remainder: true}
                - {category: Tax, percent: "10"}
        """,
    )
    thirds, small, phone, too_small = outcome(
        rules,
        {"description": "THIRDS", "amount_minor": -10000},
        {"description": "THIRDS", "amount_minor": 2},
        {"description": "PHONE", "amount_minor": -8999},
        {"description": "PHONE", "amount_minor": -2400},
    )
    # 33.33% of 100.00 is 33.33; the last part (no remainder marked) takes 33.34
    assert splits_of(thirds) == [("A", -3333), ("B", -3333), ("C", -3334)]
    # 33.33% of 0.02 rounds toward zero to 0.00: the remainder part gets both cents
    assert splits_of(small) == [("A", 0), ("B", 0), ("C", 2)]
    # fixed 25.00, 10% = 8.99 (8.999 toward zero), remainder 89.99 - 25.00 - 8.99 = 56.00
    assert splits_of(phone) == [("Personal", -2500), ("Phone", -5600), ("Tax", -899)]
    parts = json.loads(str(phone["splits"]))
    assert [p["amount"] for p in parts] == ["-25.00", "-56.00", "-8.99"]
    # smaller than its fixed part: the rule does not match, the row is left for later rules
    assert too_small["rule"] is None


@settings(max_examples=60, deadline=None)
@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12),
    percents=st.lists(st.integers(min_value=1, max_value=2500), min_size=1, max_size=4),  # at most 100%
    fixed=st.integers(min_value=0, max_value=5000),
    currency=st.sampled_from(["USD", "JPY", "BHD"]),
)
def test_split_parts_always_sum_exactly_to_the_row(
    tmp_path_factory: pytest.TempPathFactory, amount: int, percents: list[int], fixed: int, currency: str
) -> None:
    parts = [f'{{category: P{i}, percent: "{p // 100}.{p % 100:02d}"}}' for i, p in enumerate(percents)]
    if fixed:
        parts.append(f'{{category: Fixed, amount: "{fixed}"}}')
    parts.append("{category: Rest, remainder: true}")
    folder = tmp_path_factory.mktemp("split")
    rule = f"  - name: S\n    when: {{currency: {currency}}}\n    then: {{split: [{', '.join(parts)}]}}\n"
    path = write_rules(folder, "rules:\n" + rule)
    (row,) = outcome(load_rule_files([path]), {"amount_minor": amount, "currency": currency})
    fixed_minor = fixed * {"USD": 100, "JPY": 1, "BHD": 1000}[currency]
    taken = fixed_minor + sum(abs(amount) * p // 10000 for p in percents)
    if row["rule"] is None:  # only when the fixed part and the percents leave less than nothing
        assert taken > abs(amount)
        return
    assert taken <= abs(amount)
    split = splits_of(row)
    assert sum(a for _, a in split) == amount
    assert all(a == 0 or (a < 0) == (amount < 0) for _, a in split)


def test_transfer_ignore_and_book_difference(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: To savings
            when: {description: {contains: TRANSFER TO SAV}}
            then: {transfer_to: savings}
          - name: Card authorization
            when: {description: {starts_with: AUTH HOLD}}
            then: {ignore: true}
          - name: Stripe
            when: {description: {contains: STRIPE}}
            then:
              category: "Assets:Clearing:Stripe"
              book_difference: {account: "Expenses:Merchant Fees", max_amount: "50.00", max_percent: "2.9"}
        """,
        accounts=["checking", "savings"],
    )
    transfer, hold, stripe = outcome(
        rules,
        {"description": "ONLINE TRANSFER TO SAV 1234"},
        {"description": "AUTH HOLD HOTEL"},
        {"description": "STRIPE TRANSFER", "currency": "JPY"},
    )
    assert (transfer["transfer_account"], transfer["category"], transfer["ignored"]) == ("savings", None, False)
    assert hold["ignored"] is True
    assert stripe["difference_account"] == "Expenses:Merchant Fees"
    assert stripe["difference_max_minor"] == 50  # 50 yen: JPY has no minor unit
    assert stripe["difference_max_bp"] == 290


def test_first_match_wins_unless_stop_is_false(tmp_path: Path) -> None:
    rules = ruleset(
        tmp_path,
        """
        rules:
          - name: Tag card rows
            stop: false
            when: {description: {starts_with: POS}}
            then: {tags: [card], payee: Card merchant}
          - name: Adobe
            when: {description: {contains: ADOBE}}
            then: {category: Software, payee: Adobe, tags: [saas]}
          - name: Anything Adobe later
            when: {description: {contains: ADOBE}}
            then: {category: Never, tags: [never]}
        """,
    )
    adobe, other, plain = outcome(
        rules, {"description": "POS ADOBE"}, {"description": "POS COFFEE"}, {"description": "ADOBE INVOICE"}
    )
    # the first applied rule sets payee; the later Adobe rule only fills what is still empty; tags add up
    assert (adobe["rule"], adobe["category"], adobe["payee"]) == ("Tag card rows", "Software", "Card merchant")
    assert adobe["tags"] == ["card", "saas"]
    assert adobe["applied_orders"] == [0, 1]
    assert (other["rule"], other["category"], other["tags"]) == ("Tag card rows", None, ["card"])
    assert (plain["rule"], plain["category"], plain["applied_orders"]) == ("Adobe", "Software", [1])


def test_priority_runs_before_file_order_and_files_in_sorted_order(tmp_path: Path) -> None:
    late = write_rules(
        tmp_path, "rules:\n  - name: B general\n    when: {description: {contains: FEE}}\n    then: {category: B}\n",
        "b.yaml",
    )  # fmt: skip
    early = write_rules(
        tmp_path,
        """
        rules:
          - name: A general
            when: {description: {contains: FEE}}
            then: {category: A}
          - name: A urgent
            priority: 10
            when: {description: {contains: WIRE FEE}}
            then: {category: Wires}
        """,
        "a.yaml",
    )
    rules = load_rule_files([late, early])
    assert [r.name for r in rules.rules] == ["A urgent", "A general", "B general"]
    wire, fee = outcome(rules, {"description": "WIRE FEE"}, {"description": "SERVICE FEE"})
    assert (wire["category"], fee["category"]) == ("Wires", "A")
