"""1:N and N:1: one row equal to the sum of several rows on the other side."""

from __future__ import annotations

from recon.config import MatchingSettings
from recon.match import match
from recon.match.result import match_id
from tests.match_rows import bank_rows, ledger_rows, linked

SETTINGS = MatchingSettings()


def test_a_batched_deposit_becomes_one_to_n() -> None:
    result = match(
        bank_rows({"id": "dep", "day": 1, "amount": 173000, "description": "DEPOSIT BRANCH 042 MOBILE"}),
        ledger_rows(
            {"id": "hooli", "day": 0, "amount": 120000, "description": "Check received - Hooli"},
            {"id": "wayne", "day": 0, "amount": 53000, "description": "Check received - Wayne Foods"},
            {"id": "other", "day": 0, "amount": 41000, "description": "Check received - Acme"},
        ),
        settings=SETTINGS,
    )
    [found] = result.matches.rows(named=True)
    assert found["kind"] == "1:N"
    assert found["status"] == "suggested"
    assert linked(result.links) == {("dep", "hooli"), ("dep", "wayne")}
    assert result.open_items.select("row_id", "reason").rows() == [("other", "no_candidate")]


def test_a_ledger_entry_paid_in_instalments_becomes_n_to_one_and_references_make_it_auto() -> None:
    result = match(
        bank_rows(
            {"id": "p1", "day": 2, "amount": 60000, "description": "ACH CREDIT GLOBEX INV-7001 1/2"},
            {"id": "p2", "day": 5, "amount": 40000, "description": "ACH CREDIT GLOBEX INV-7001 2/2"},
        ),
        ledger_rows({"id": "inv", "day": 0, "amount": 100000, "description": "Invoice 7001", "counterparty": "Globex",
                     "reference": "INV-7001"}),
        settings=SETTINGS,
    )  # fmt: skip
    [found] = result.matches.rows(named=True)
    assert (found["kind"], found["status"]) == ("N:1", "auto")
    assert linked(result.links) == {("p1", "inv"), ("p2", "inv")}
    assert sorted(result.links["date_diff_days"]) == [2, 5]


def test_several_subsets_summing_to_the_amount_are_only_suggested_and_say_so() -> None:
    result = match(
        bank_rows({"id": "dep", "day": 0, "amount": 30000, "description": "DEPOSIT"}),
        ledger_rows(*({"id": f"r{i}", "day": 0, "amount": 10000, "description": "Receipt"} for i in range(4))),
        settings=SETTINGS,
    )
    [found] = result.matches.rows(named=True)
    assert found["status"] == "suggested"
    assert "ambiguous: 4 subsets sum to the amount" in found["reasons"]


def test_no_group_when_nothing_sums_exactly_or_the_group_would_be_too_large() -> None:
    small = MatchingSettings(group_max_size=2)
    result = match(
        bank_rows({"id": "dep", "day": 0, "amount": 60000, "description": "DEPOSIT"}),
        ledger_rows(*({"id": f"r{i}", "day": 0, "amount": 20000} for i in range(3))),
        settings=small,
    )
    assert result.matches.is_empty()


def test_instalments_that_name_nothing_are_not_grouped() -> None:
    # two bank credits that happen to sum to an invoice, without its number: a coincidence, not a plan
    result = match(
        bank_rows(
            {"id": "p1", "day": 2, "amount": 60000, "description": "ACH CREDIT GLOBEX"},
            {"id": "p2", "day": 5, "amount": 40000, "description": "ACH CREDIT GLOBEX"},
        ),
        ledger_rows({"id": "inv", "day": 0, "amount": 100000, "description": "Invoice 7001", "counterparty": "Globex",
                     "reference": "INV-7001"}),
        settings=SETTINGS,
    )  # fmt: skip
    assert result.matches.is_empty()


def test_parts_are_tried_nearest_day_first_up_to_the_cap() -> None:
    deposit = bank_rows({"id": "dep", "day": 0, "amount": 30000, "description": "DEPOSIT"})
    receipts = ledger_rows(
        {"id": "a", "day": 0, "amount": 10000, "description": "Receipt"},
        {"id": "b", "day": 0, "amount": 20000, "description": "Receipt"},
        {"id": "c", "day": -2, "amount": 12000, "description": "Receipt"},
        {"id": "d", "day": -2, "amount": 18000, "description": "Receipt"},
    )
    near = match(deposit, receipts, settings=MatchingSettings(group_max_candidates=2))
    assert linked(near.links) == {("dep", "a"), ("dep", "b")}
    assert near.matches["reasons"].str.contains("ambiguous").not_().all()
    wide = match(deposit, receipts, settings=SETTINGS)
    assert "ambiguous: 2 subsets sum to the amount" in wide.matches["reasons"][0]


def test_a_row_that_lost_a_candidate_at_its_own_amount_is_not_searched_as_a_sum() -> None:
    # two bank rows want "same"; the one left over is a 1:1 row without a partner, and "x" + "y"
    # summing to it is no reason to group them
    result = match(
        bank_rows(
            {"id": "dep1", "day": 0, "amount": 30000, "description": "DEPOSIT"},
            {"id": "dep2", "day": 0, "amount": 30000, "description": "DEPOSIT"},
        ),
        ledger_rows(
            {"id": "same", "day": -1, "amount": 30000, "description": "Deposit"},
            {"id": "x", "day": 0, "amount": 10000, "description": "Receipt"},
            {"id": "y", "day": 0, "amount": 20000, "description": "Receipt"},
        ),
        settings=SETTINGS,
    )
    assert result.matches["kind"].to_list() == ["1:1"]


def test_a_rejected_group_is_not_proposed_again_and_its_rows_stay_open() -> None:
    deposit = bank_rows({"id": "dep", "day": 1, "amount": 173000, "description": "DEPOSIT BRANCH 042 MOBILE"})
    receipts = ledger_rows(
        {"id": "hooli", "day": 0, "amount": 120000, "description": "Check received - Hooli"},
        {"id": "wayne", "day": 0, "amount": 53000, "description": "Check received - Wayne Foods"},
    )
    [proposed] = match(deposit, receipts, settings=SETTINGS).matches["match_id"]
    assert proposed == match_id(["dep"], ["hooli", "wayne"])
    again = match(deposit, receipts, settings=SETTINGS, rejected_match_ids=frozenset({proposed}))
    assert again.matches.is_empty()
    assert again.links.is_empty()
    assert sorted(again.open_items["row_id"]) == ["dep", "hooli", "wayne"]
