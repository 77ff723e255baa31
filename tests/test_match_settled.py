"""A match run with nothing new to match changes nothing, though a rerun of the matcher alone could.

Rows in auto matches are not scored again, so a second run sees a row's rival gone. Two equal
payments five days apart, each booked: the first run matches the later pair for sure and leaves
the earlier one a suggestion, its rival (the later bank row) being a close second; the matcher
alone, on the rows left, would now make that suggestion auto.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from recon.config import MatchingSettings
from recon.match import match
from recon.matching import run_matching
from recon.store import Store, open_store
from tests.match_rows import bank_rows, ledger_rows

SETTINGS = MatchingSettings()
BANK = bank_rows(
    {"id": "B1", "day": 2, "amount": -742954, "description": "ACME SUPPLY"},
    {"id": "B2", "day": 7, "amount": -742954, "description": "ACME SUPPLY"},
)
LEDGER = ledger_rows(
    {"id": "L1", "day": 0, "amount": -742954, "description": "Acme Supply", "counterparty": "Acme"},
    {"id": "L2", "day": 7, "amount": -742954, "description": "Acme Supply", "counterparty": "Acme"},
)


def _stored(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return {
        table: store.con.execute(f"SELECT * EXCLUDE (run_id) FROM {table} ORDER BY ALL").fetchall()
        for table in ("matches", "open_items")
    } | {"match_links": store.con.execute("SELECT * FROM match_links ORDER BY ALL").fetchall()}


def test_the_matcher_alone_would_decide_the_rows_left_differently() -> None:
    first = match(BANK, LEDGER, settings=SETTINGS)
    statuses = dict(first.matches.join(first.links, on="match_id").select("bank_txn_id", "status").iter_rows())
    assert statuses == {"B1": "suggested", "B2": "auto"}
    again = match(BANK.filter(pl.col("txn_id") == "B1"), LEDGER.filter(pl.col("entry_id") == "L1"), settings=SETTINGS)
    assert again.matches["status"].to_list() == ["auto"]  # what a naive rerun would store


def test_a_second_run_with_nothing_new_changes_nothing_and_new_input_is_matched(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.duckdb") as store:
        store.con.register("b", BANK.to_arrow())
        store.con.register("l", LEDGER.to_arrow())
        store.con.execute("INSERT INTO bank_transactions SELECT * FROM b")
        store.con.execute("INSERT INTO ledger_entries SELECT * FROM l")
        first = run_matching(store, settings=SETTINGS, run_id="r1")
        after_first = _stored(store)
        second = run_matching(store, settings=SETTINGS, run_id="r2")
        assert _stored(store) == after_first
        assert (first.auto, first.suggested, second.auto, second.suggested) == (1, 1, 0, 1)

        # anything the result depends on changed: the run matches again
        store.con.execute("UPDATE ledger_entries SET description = 'Acme Supply Co' WHERE entry_id = 'L1'")
        third = run_matching(store, settings=SETTINGS, run_id="r3")
        assert third.auto == 1
        assert store.con.execute("SELECT count(*) FROM matches WHERE status = 'suggested'").fetchall() == [(0,)]
