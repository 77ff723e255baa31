"""Match ids are stable: the fast path for 1:1 matches gives the ids `match_id` defines."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recon.match.result import match_id, pair_match_ids

ids = st.text(min_size=1, max_size=20)


@given(st.lists(st.tuples(ids, ids), max_size=20))
def test_pair_ids_equal_the_match_id_of_one_bank_and_one_ledger_row(pairs: list[tuple[str, str]]) -> None:
    bank, ledger = [b for b, _ in pairs], [e for _, e in pairs]
    ids = pair_match_ids(pl.Series(bank, dtype=pl.String), pl.Series(ledger, dtype=pl.String))
    assert ids.to_list() == [match_id([b], [e]) for b, e in pairs]
