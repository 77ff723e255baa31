"""1:N and N:1: one row equal to the sum of several rows on the other side."""

from __future__ import annotations

from recon.config import MatchingSettings
from recon.match import match
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
