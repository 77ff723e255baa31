"""Blocking: which (bank, ledger) pairs are worth scoring, and which never are."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.config import MatchingSettings
from recon.match import blocking, features
from tests.match_rows import bank_rows, ledger_rows

SETTINGS = MatchingSettings()


def _prepared(bank: pl.DataFrame, ledger: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return features.bank_features(bank), features.ledger_features(ledger)


def _pairs(bank: pl.DataFrame, ledger: pl.DataFrame, config: MatchingSettings = SETTINGS) -> pl.DataFrame:
    b, e = _prepared(bank, ledger)
    return blocking.candidate_pairs(
        b, e,
        bank_tokens=blocking.distinctive_tokens(features.exploded_tokens(b, "b_idx"), settings=config).collect(),
        ledger_tokens=blocking.distinctive_tokens(features.exploded_tokens(e, "l_idx"), settings=config).collect(),
        settings=config, rejected=pl.DataFrame(schema={"b_idx": pl.UInt32, "l_idx": pl.UInt32}),
    )  # fmt: skip


def test_reference_tokens_are_found_on_both_sides() -> None:
    b, e = _prepared(
        bank_rows(
            {"id": "b1", "day": 0, "amount": 1, "description": "ACH CREDIT ORIG CO NAME:ACME INV-10023"},
            {"id": "b2", "day": 0, "amount": 1, "description": "CHECK 1045", "check_number": "0001045"},
            {"id": "b3", "day": 0, "amount": 1, "description": "POS DEBIT XXXX1234 E2E 2026031100123456"},
        ),
        ledger_rows(
            {"id": "l1", "day": 0, "amount": 1, "reference": "INV-10023"},
            {"id": "l2", "day": 0, "amount": 1, "reference": "1045"},
        ),
    )
    tokens = dict(zip(b["txn_id"], b["tokens"].to_list(), strict=True))
    assert tokens["b1"] == ["inv10023"]
    assert tokens["b2"] == ["chk1045"]
    assert tokens["b3"] == ["n2026031100123456"]  # the card mask is not a reference
    assert e["tokens"].to_list() == [["inv10023", "rinv10023"], ["chk1045"]]


def test_same_amount_pairs_only_inside_the_asymmetric_window() -> None:
    # the bank may post 7 days after the books, 3 before
    bank = bank_rows(
        {"id": "late7", "day": 7, "amount": 500},
        {"id": "late8", "day": 8, "amount": 500},
        {"id": "early3", "day": -3, "amount": 500},
        {"id": "early4", "day": -4, "amount": 500},
    )
    pairs = _pairs(bank, ledger_rows({"id": "l", "day": 0, "amount": 500}))
    b, _ = _prepared(bank, ledger_rows({"id": "l", "day": 0, "amount": 500}))
    found = set(pairs.join(b.select("b_idx", "txn_id"), on="b_idx")["txn_id"])
    assert found == {"late7", "early3"}
    assert set(pairs["tier"]) == {"exact"}


def test_a_check_clearing_forty_days_late_is_a_candidate_by_its_number() -> None:
    pairs = _pairs(
        bank_rows({"id": "b", "day": 40, "amount": -12000, "description": "CHECK 1045", "check_number": "1045"}),
        ledger_rows({"id": "l", "day": 0, "amount": -12000, "description": "Check 1045 - City Water"}),
    )
    assert pairs.select("tier", "date_diff_days").rows() == [("reference", 40)]


def test_rows_of_other_accounts_or_currencies_are_never_paired() -> None:
    pairs = _pairs(
        bank_rows({"id": "b1", "day": 0, "amount": 500, "account": "savings"}, {"id": "b2", "day": 0, "amount": 500,
                   "currency": "EUR"}),
        ledger_rows({"id": "l", "day": 0, "amount": 500}),
    )  # fmt: skip
    assert pairs.is_empty()


def test_tolerance_band_only_for_rows_without_an_exact_candidate_and_never_across_signs() -> None:
    bank = bank_rows(
        {"id": "fee_net", "day": 1, "amount": 97060, "description": "STRIPE TRANSFER"},
        {"id": "exact", "day": 1, "amount": 5000, "description": "ACME"},
        {"id": "refund", "day": 1, "amount": -99000, "description": "STRIPE"},
    )
    ledger = ledger_rows(
        {"id": "gross", "day": 0, "amount": 100000, "counterparty": "Stripe"},
        {"id": "exact", "day": 0, "amount": 5000},
        {"id": "near", "day": 0, "amount": 5100},
    )
    pairs = _pairs(bank, ledger)
    b, e = _prepared(bank, ledger)
    named = pairs.join(b.select("b_idx", "txn_id"), on="b_idx").join(e.select("l_idx", "entry_id"), on="l_idx")
    assert set(named.select("txn_id", "entry_id", "tier").iter_rows()) == {
        ("fee_net", "gross", "tolerance"),
        ("exact", "exact", "exact"),
    }


@settings(max_examples=40, deadline=None)
@given(
    bank_days=st.lists(st.integers(-20, 20), min_size=1, max_size=12),
    ledger_days=st.lists(st.integers(-20, 20), min_size=1, max_size=12),
    amounts=st.lists(st.sampled_from([100, 200, -100]), min_size=24, max_size=24),
)
def test_exploded_window_join_equals_the_naive_join_then_filter(
    bank_days: list[int], ledger_days: list[int], amounts: list[int]
) -> None:
    bank = bank_rows(*({"id": f"b{i}", "day": d, "amount": amounts[i]} for i, d in enumerate(bank_days)))
    ledger = ledger_rows(*({"id": f"l{i}", "day": d, "amount": amounts[12 + i]} for i, d in enumerate(ledger_days)))
    b, e = _prepared(bank, ledger)
    bank_side, ledger_side = blocking.sides(b, e)
    b_idx, l_idx = blocking.split_keys(
        blocking.exact_amount_in_window(
            bank_side, ledger_side, bank_rows=np.arange(b.height), ledger_rows=np.arange(e.height), settings=SETTINGS
        )
    )
    fast = zip(b_idx.tolist(), l_idx.tolist(), (bank_side.day[b_idx] - ledger_side.day[l_idx]).tolist(), strict=True)
    naive = (
        b.join(e, on=["account_id", "currency", "amount_minor"])
        .with_columns((pl.col("posted_date") - pl.col("posted_date_right")).dt.total_days().alias("d"))
        .filter(pl.col("d").is_between(-3, 7))
    )
    assert set(fast) == set(naive.select("b_idx", "l_idx", "d").iter_rows())
