"""Matching works account by account: nothing pairs across accounts, and an account
with rows on one side only leaves them open with a reason."""

from __future__ import annotations

from recon.config import MatchingSettings
from recon.match import match
from tests.match_rows import bank_rows, ledger_rows

SETTINGS = MatchingSettings()


def test_rows_of_an_account_without_counterparts_stay_open_and_never_pair_elsewhere() -> None:
    bank = bank_rows(
        {"id": "b1", "day": 3, "amount": -4_200, "description": "ACME SUPPLY", "account": "checking"},
        {"id": "b2", "day": 3, "amount": -4_200, "description": "ACME SUPPLY", "account": "card"},
    )
    ledger = ledger_rows(
        {"id": "e1", "day": 3, "amount": -4_200, "description": "Acme Supply", "account": "checking"},
        {"id": "e2", "day": 3, "amount": -4_200, "description": "Acme Supply", "account": "savings"},
    )
    result = match(bank, ledger, settings=SETTINGS)
    assert result.links.select("bank_txn_id", "ledger_entry_id").rows() == [("b1", "e1")]
    assert result.matches["status"].to_list() == ["auto"]
    reasons = dict(zip(result.open_items["row_id"], result.open_items["reason"], strict=True))
    assert reasons == {"b2": "no_candidate", "e2": "no_candidate"}


def test_nothing_open_gives_an_empty_result() -> None:
    bank = bank_rows({"id": "b1", "day": 1, "amount": 100}).clear()
    ledger = ledger_rows({"id": "e1", "day": 1, "amount": 100}).clear()
    result = match(bank, ledger, settings=SETTINGS)
    assert (result.matches.height, result.links.height, result.open_items.height, result.candidate_pairs) == (
        0,
        0,
        0,
        0,
    )
