"""Scoring and deciding: what becomes auto, what is only suggested, and why rows stay open."""

from __future__ import annotations

import polars as pl

from recon.config import MatchingSettings
from recon.match import match
from tests.match_rows import bank_rows, ledger_rows, match_of, status_of

SETTINGS = MatchingSettings()


def test_a_clear_pair_is_auto_and_explained() -> None:
    result = match(
        bank_rows({"id": "b", "day": 2, "amount": 452000,
                   "description": "ACH CREDIT ACME CORP ORIG CO NAME:ACME CORP INV-10023"}),
        ledger_rows({"id": "l", "day": 0, "amount": 452000, "description": "Payment received - Acme Corp",
                     "counterparty": "Acme Corp", "reference": "INV-10023"}),
        settings=SETTINGS,
    )  # fmt: skip
    found = match_of(result, "b", "l")
    assert found["status"] == "auto"
    assert found["reasons"] == "amount equal, 2 days apart, reference inv10023 on both sides, description 1.0"


def test_a_look_alike_pair_with_nothing_else_in_common_is_not_auto() -> None:
    result = match(
        bank_rows({"id": "b", "day": 1, "amount": -12000, "description": "POS DEBIT SHELL OIL 5521"}),
        ledger_rows({"id": "l", "day": 0, "amount": -12000, "description": "Office chairs", "counterparty": "IKEA"}),
        settings=SETTINGS,
    )
    assert status_of(result, "b", "l") == "suggested"


def test_two_different_invoice_numbers_are_never_auto() -> None:
    result = match(
        bank_rows({"id": "b", "day": 0, "amount": 90000, "description": "ACH CREDIT HOOLI INV-501"}),
        ledger_rows({"id": "l", "day": 0, "amount": 90000, "description": "Payment Hooli", "counterparty": "Hooli",
                     "reference": "INV-502"}),
        settings=SETTINGS,
    )  # fmt: skip
    found = match_of(result, "b", "l")
    assert found["status"] == "suggested"
    assert "references differ" in str(found["reasons"])


def test_a_fee_difference_is_suggested_never_auto() -> None:
    result = match(
        bank_rows({"id": "b", "day": 1, "amount": 97060, "description": "STRIPE TRANSFER ST-88121"}),
        ledger_rows({"id": "l", "day": 0, "amount": 100000, "description": "Stripe payout", "counterparty": "Stripe"}),
        settings=SETTINGS,
    )
    found = match_of(result, "b", "l")
    assert found["status"] == "suggested"
    assert str(found["reasons"]).startswith("amount differs by -29.40 USD")
    assert result.links["amount_diff_minor"].to_list() == [-2940]


def test_a_fee_difference_without_textual_evidence_stays_open_as_amount_differs() -> None:
    result = match(
        bank_rows({"id": "b", "day": 1, "amount": 97060, "description": "DEPOSIT"}),
        ledger_rows({"id": "l", "day": 0, "amount": 100000, "description": "Consulting", "counterparty": "Globex"}),
        settings=SETTINGS,
    )
    assert result.matches.is_empty()
    assert set(result.open_items["reason"]) == {"amount_differs"}


def test_a_close_rival_makes_a_high_score_ambiguous() -> None:
    result = match(
        bank_rows({"id": "b", "day": 1, "amount": -5000, "description": "AMAZON MKTPLACE"}),
        ledger_rows(
            {"id": "l1", "day": 0, "amount": -5000, "description": "Amazon", "counterparty": "Amazon"},
            {"id": "l2", "day": 1, "amount": -5000, "description": "Amazon order", "counterparty": "Amazon"},
        ),
        settings=SETTINGS,
    )
    [found] = result.matches.rows(named=True)
    assert found["status"] == "suggested"
    assert "ambiguous: another candidate scores" in found["reasons"]


def test_true_twins_are_auto_and_say_any_pairing_gives_the_same_books() -> None:
    coffee = {"day": 0, "amount": -475, "description": "POS DEBIT BLUE BOTTLE COFFEE"}
    book = {"day": 0, "amount": -475, "description": "Client meeting coffee", "counterparty": "Blue Bottle"}
    result = match(
        bank_rows({"id": "b1", **coffee}, {"id": "b2", **coffee}),
        ledger_rows({"id": "l1", **book}, {"id": "l2", **book}),
        settings=SETTINGS,
    )
    assert result.matches["status"].to_list() == ["auto", "auto"]
    assert all("any pairing gives the same books" in r for r in result.matches["reasons"])
    assert result.links.height == 2
    assert len(set(result.links["bank_txn_id"])) == len(set(result.links["ledger_entry_id"])) == 2


def test_open_rows_get_a_reason_code() -> None:
    result = match(
        bank_rows(
            {"id": "fee", "day": 0, "amount": -1500, "description": "MONTHLY SERVICE FEE"},
            {"id": "late", "day": 30, "amount": 77700, "description": "WIRE IN"},
        ),
        ledger_rows({"id": "early", "day": 0, "amount": 77700, "description": "Receipt"}),
        settings=SETTINGS,
    )
    reasons = dict(zip(result.open_items["row_id"], result.open_items["reason"], strict=True))
    assert reasons == {"fee": "no_candidate", "late": "outside_date_window", "early": "outside_date_window"}


def test_a_check_clearing_forty_days_late_matches_by_number() -> None:
    result = match(
        bank_rows({"id": "b", "day": 40, "amount": -12000, "description": "CHECK 1045", "check_number": "1045"}),
        ledger_rows({"id": "l", "day": 0, "amount": -12000, "description": "Check 1045 - City Water",
                     "counterparty": "City Water", "reference": "1045"}),
        settings=SETTINGS,
    )  # fmt: skip
    found = match_of(result, "b", "l")
    assert found["status"] == "auto"
    assert "40 days apart, reference chk1045 on both sides" in str(found["reasons"])


def test_rejected_pairs_are_never_proposed_again() -> None:
    rejected = pl.DataFrame({"bank_txn_id": ["b"], "ledger_entry_id": ["l"]})
    result = match(
        bank_rows({"id": "b", "day": 0, "amount": 500, "description": "ACME"}),
        ledger_rows({"id": "l", "day": 0, "amount": 500, "counterparty": "Acme"}),
        settings=SETTINGS,
        rejected=rejected,
    )
    assert result.matches.is_empty()


def test_identical_bank_rows_for_several_payroll_entries_are_auto_when_the_counts_agree() -> None:
    pay = {"day": 1, "amount": -210000, "description": "GUSTO PAYROLL NET PAY"}
    entries = [{"id": f"l{name}", "day": 0, "amount": -210000, "description": f"Net pay - {name}",
                "counterparty": "Gusto"} for name in ("Ana", "Bo")]  # fmt: skip
    result = match(bank_rows({"id": "b1", **pay}, {"id": "b2", **pay}), ledger_rows(*entries), settings=SETTINGS)
    assert result.matches["status"].to_list() == ["auto", "auto"]
    assert all("any pairing gives the same books" in r for r in result.matches["reasons"])


def test_identical_bank_rows_for_more_payroll_entries_than_rows_are_only_suggested() -> None:
    # one paycheck has not cleared: which entry stays open is a guess, so nothing is auto
    pay = {"day": 1, "amount": -210000, "description": "GUSTO PAYROLL NET PAY"}
    entries = [{"id": f"l{name}", "day": 0, "amount": -210000, "description": f"Net pay - {name}",
                "counterparty": "Gusto"} for name in ("Ana", "Bo", "Cy")]  # fmt: skip
    result = match(bank_rows({"id": "b1", **pay}, {"id": "b2", **pay}), ledger_rows(*entries), settings=SETTINGS)
    assert result.matches["status"].to_list() == ["suggested", "suggested"]
    assert result.open_items.select("side", "reason").rows() == [("ledger", "ambiguous")]


def test_a_member_number_on_both_sides_picks_the_right_payer_among_identical_dues() -> None:
    dues = {"day": 0, "amount": 5000, "description": "Membership dues", "counterparty": "Member"}
    result = match(
        bank_rows({"id": "b", "day": 1, "amount": 5000, "description": "DEPOSIT DUES MBR 10000123"}),
        ledger_rows({"id": "l1", **dues, "reference": "10000122"}, {"id": "l2", **dues, "reference": "10000123"},
                    {"id": "l3", **dues, "reference": "10000124"}),
        settings=SETTINGS,
    )  # fmt: skip
    assert status_of(result, "b", "l2") == "auto"
    assert result.links.height == 1
