"""The matcher's result must not depend on how Polars plans its queries.

Several of its queries read one intermediate frame from two plans collected together. Polars computes
such a frame once when it finds the common subplan, but nothing guarantees it does; computed twice, a
frame of unordered rows (a `unique()`, a hash join) can come out in two orders, and the two plans then
disagree about which row is which. Run with Polars' sharing of common subplans and subexpressions off,
the matcher must give exactly what it gives with the defaults.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from bench.scenario import generate
from recon.config import MatchingSettings
from recon.match import MatchResult, match

NOTHING_SHARED = pl.QueryOptFlags(comm_subplan_elim=False, comm_subexpr_elim=False)


def _everything(result: MatchResult) -> tuple[pl.DataFrame, pl.DataFrame]:
    links = result.links.join(result.matches, on="match_id").sort("match_id", "bank_txn_id", "ledger_entry_id")
    return links, result.open_items


def test_the_matches_do_not_depend_on_polars_sharing_common_subplans(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = generate(1_000)  # a business year in small: twins, batches, fees, late checks
    bank, ledger = scenario.bank.drop("truth"), scenario.ledger.drop("truth")
    planned_once = _everything(match(bank, ledger, settings=MatchingSettings()))

    collect, collect_all = pl.LazyFrame.collect, pl.collect_all

    def collect_apart(frame: pl.LazyFrame, **kwargs: Any) -> Any:
        return collect(frame, **{**kwargs, "optimizations": NOTHING_SHARED})

    def collect_all_apart(frames: Any, **kwargs: Any) -> Any:
        return collect_all(frames, **{**kwargs, "optimizations": NOTHING_SHARED})

    monkeypatch.setattr(pl.LazyFrame, "collect", collect_apart)
    monkeypatch.setattr(pl, "collect_all", collect_all_apart)
    planned_apart = _everything(match(bank, ledger, settings=MatchingSettings()))

    assert planned_once[0].height > 700  # most of the scenario's rows are matched
    for once, apart in zip(planned_once, planned_apart, strict=True):
        assert apart.equals(once)
