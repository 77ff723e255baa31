"""Invariants of the matcher on random books: no row in two matches, the same input gives the same result."""

from __future__ import annotations

from unittest import mock

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.config import MatchingSettings
from recon.match import match, pipeline
from tests.match_rows import bank_rows, ledger_rows

SETTINGS = MatchingSettings()
AMOUNTS = [-5499, -2100, 10000, 20000, 30000, 50000, 97000, 100000]
WORDS = ["ACME", "HOOLI", "STRIPE", "DEPOSIT", "ADOBE", "INV-1001", "INV-1002"]

row = st.tuples(st.integers(0, 15), st.sampled_from(AMOUNTS), st.lists(st.sampled_from(WORDS), max_size=3))


def _frames(bank: list[tuple[int, int, list[str]]], ledger: list[tuple[int, int, list[str]]]) -> tuple:
    b = bank_rows(*({"id": f"b{i:02d}", "day": d, "amount": a, "description": " ".join(w)}
                    for i, (d, a, w) in enumerate(bank)))  # fmt: skip
    e = ledger_rows(*({"id": f"l{i:02d}", "day": d, "amount": a, "description": " ".join(w),
                       "counterparty": w[0] if w else None} for i, (d, a, w) in enumerate(ledger)))  # fmt: skip
    return b, e


@settings(max_examples=60, deadline=None)
@given(bank=st.lists(row, min_size=1, max_size=14), ledger=st.lists(row, min_size=1, max_size=14))
def test_no_row_is_in_two_matches_and_every_row_is_matched_or_open(
    bank: list[tuple[int, int, list[str]]], ledger: list[tuple[int, int, list[str]]]
) -> None:
    b, e = _frames(bank, ledger)
    result = match(b, e, settings=SETTINGS)
    per_bank = result.links.group_by("bank_txn_id").agg(pl.col("match_id").n_unique())
    per_ledger = result.links.group_by("ledger_entry_id").agg(pl.col("match_id").n_unique())
    assert per_bank["match_id"].max() in (None, 1)
    assert per_ledger["match_id"].max() in (None, 1)
    matched = set(result.links["bank_txn_id"]) | set(result.links["ledger_entry_id"])
    open_rows = set(result.open_items["row_id"])
    assert not matched & open_rows
    assert matched | open_rows == set(b["txn_id"]) | set(e["entry_id"])
    auto = result.matches.filter(pl.col("status") == "auto")["match_id"]
    assert (result.links.filter(pl.col("match_id").is_in(auto.implode()))["amount_diff_minor"] == 0).all()


@settings(max_examples=30, deadline=None)
@given(
    bank=st.lists(row, min_size=1, max_size=12), ledger=st.lists(row, min_size=1, max_size=12), seed=st.integers(0, 99)
)
def test_the_result_does_not_depend_on_row_order(
    bank: list[tuple[int, int, list[str]]], ledger: list[tuple[int, int, list[str]]], seed: int
) -> None:
    b, e = _frames(bank, ledger)
    first = match(b, e, settings=SETTINGS)
    again = match(b.sample(fraction=1.0, shuffle=True, seed=seed), e.sample(fraction=1.0, shuffle=True, seed=seed),
                  settings=SETTINGS)  # fmt: skip
    assert first.matches.equals(again.matches)
    assert first.links.equals(again.links)
    assert first.open_items.equals(again.open_items)


account_row = st.tuples(st.sampled_from(["checking", "card", "savings"]), row)


@settings(max_examples=40, deadline=None)
@given(bank=st.lists(account_row, min_size=1, max_size=16), ledger=st.lists(account_row, min_size=1, max_size=16))
def test_matching_account_by_account_gives_what_one_run_over_all_accounts_gives(
    bank: list[tuple[str, tuple[int, int, list[str]]]], ledger: list[tuple[str, tuple[int, int, list[str]]]]
) -> None:
    b, e = _frames([r for _, r in bank], [r for _, r in ledger])
    b = b.with_columns(pl.Series("account_id", [account for account, _ in bank]))
    e = e.with_columns(pl.Series("account_id", [account for account, _ in ledger]))
    one_run = pipeline._match_account(b, e, settings=SETTINGS, rejected=None, rejected_match_ids=frozenset())
    with mock.patch.object(pipeline, "ROWS_WORTH_SPLITTING", 0):
        split = match(b, e, settings=SETTINGS)
    assert split.matches.equals(one_run.matches)
    assert split.links.equals(one_run.links)
    assert split.open_items.equals(one_run.open_items)
    assert split.candidate_pairs == one_run.candidate_pairs
