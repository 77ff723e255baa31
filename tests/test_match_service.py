"""The match service on the generated demo, through the store: results, people's decisions, reruns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from recon.config import load_config
from recon.errors import UserError
from recon.importing import import_file, jobs_from_config
from recon.matching import run_matching
from recon.review import confirm, match_by_hand, reject
from recon.runlog import sync_accounts
from recon.store import Store, open_store

LINKS_SQL = """
SELECT m.match_id, m.status, m.kind, m.origin, b.description AS bank, b.amount_minor AS bank_amount,
       e.description AS book, e.amount_minor AS book_amount, l.bank_txn_id, l.ledger_entry_id
FROM matches m JOIN match_links l USING (match_id)
JOIN bank_transactions b ON b.txn_id = l.bank_txn_id JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
"""


@pytest.fixture
def store(demo: Path) -> Iterator[Store]:
    config = load_config(demo / "recon.toml")
    jobs, _ = jobs_from_config(config)
    with open_store(config.store_path) as opened:
        sync_accounts(opened, config)
        for job in jobs:
            import_file(opened, job, run_id="import")
        yield opened


def _rerun(store: Store, run_id: str = "again") -> None:
    run_matching(store, settings=load_config(store.path.parent / "recon.toml").matching, run_id=run_id)


def test_the_demo_matches_sensibly(store: Store) -> None:
    summary = run_matching(store, settings=load_config(store.path.parent / "recon.toml").matching, run_id="r1")
    links = store.query(LINKS_SQL)
    # every auto match has equal amounts on both sides
    auto_1to1 = links.filter((pl.col("status") == "auto") & (pl.col("kind") == "1:1"))
    assert (auto_1to1["bank_amount"] == auto_1to1["book_amount"]).all()
    assert summary.auto >= 50
    # the batched deposit: 1730.00 = 1200.00 + 530.00
    deposit = links.filter(pl.col("bank_amount") == 173000)
    assert deposit["kind"].unique().to_list() == ["1:N"]
    assert sorted(deposit["book_amount"]) == [53000, 120000]
    # the typo 1845.00 / 1854.00 is only suggested
    typo = links.filter(pl.col("bank_amount") == 184500)
    assert typo.select("status", "book_amount").rows() == [("suggested", 185400)]
    # bank fees and interest stay open with a reason; the deposit in transit too
    open_items = store.query("SELECT side, reason FROM open_items")
    assert open_items.filter(pl.col("side") == "bank").height == 7
    assert set(open_items["reason"]) == {"no_candidate"}


def test_a_rerun_changes_nothing(store: Store) -> None:
    _rerun(store, "r1")
    before = store.query("SELECT match_id, status, score, reasons FROM matches ORDER BY match_id")
    summary = run_matching(store, settings=load_config(store.path.parent / "recon.toml").matching, run_id="r2")
    after = store.query("SELECT match_id, status, score, reasons FROM matches ORDER BY match_id")
    assert before.equals(after)
    assert summary.auto == 0  # already-matched rows are not rescored


def test_confirmed_and_rejected_suggestions_survive_a_rerun(store: Store) -> None:
    _rerun(store, "r1")
    suggested = store.query(LINKS_SQL).filter((pl.col("status") == "suggested") & (pl.col("kind") == "1:1"))
    kept, dropped = suggested["match_id"][0], suggested["match_id"][1]
    confirm(store, kept, by="ana", note="checked the invoice")
    reject(store, dropped, by="ana")
    _rerun(store)
    statuses = dict(store.query("SELECT match_id, status FROM matches").iter_rows())
    assert statuses[kept] == "confirmed"
    assert statuses[dropped] == "rejected"
    rejected_rows = suggested.filter(pl.col("match_id") == dropped).select("bank_txn_id", "ledger_entry_id").row(0)
    again = store.query(LINKS_SQL).filter(
        (pl.col("bank_txn_id") == rejected_rows[0]) & (pl.col("ledger_entry_id") == rejected_rows[1])
    )
    assert again["status"].to_list() == ["rejected"]  # never proposed again
    decisions = store.query("SELECT action, decided_by, note FROM review_decisions ORDER BY action").rows()
    assert decisions == [("confirm", "ana", "checked the invoice"), ("reject", "ana", None)]


def test_a_match_by_hand_holds_its_rows_over_reruns(store: Store) -> None:
    _rerun(store, "r1")
    fee = store.query("SELECT txn_id FROM bank_transactions WHERE description LIKE 'WIRE TRANSFER FEE%'")["txn_id"][0]
    coffee = store.query(LINKS_SQL).filter(pl.col("book") == "Client meeting coffee")
    entry = coffee["ledger_entry_id"][0]
    made = match_by_hand(
        store, [fee], [entry], by="bo", note="booked the wire fee on the coffee line by mistake"
    ).match_id
    _rerun(store)
    links = store.query(LINKS_SQL)
    mine = links.filter(pl.col("match_id") == made)
    assert mine.select("status", "origin", "bank_txn_id", "ledger_entry_id").rows() == [
        ("confirmed", "person", fee, entry)
    ]
    # the coffee line is no longer in the engine's auto match; no row is in two live matches
    live = links.filter(pl.col("status").is_in(["auto", "suggested", "confirmed"]))
    assert live.group_by("ledger_entry_id").agg(pl.col("match_id").n_unique())["match_id"].max() == 1
    assert live.group_by("bank_txn_id").agg(pl.col("match_id").n_unique())["match_id"].max() == 1


def test_a_rejected_auto_match_reopens_its_rows_and_is_never_proposed_again(store: Store) -> None:
    _rerun(store, "r1")
    auto = store.query(LINKS_SQL).filter((pl.col("status") == "auto") & (pl.col("kind") == "1:1"))
    wrong = auto.row(0, named=True)
    reject(store, wrong["match_id"], by="ana", note="not this one")
    _rerun(store)
    links = store.query(LINKS_SQL)
    same_pair = links.filter(
        (pl.col("bank_txn_id") == wrong["bank_txn_id"]) & (pl.col("ledger_entry_id") == wrong["ledger_entry_id"])
    )
    assert same_pair["status"].to_list() == ["rejected"]
    reopened = store.query("SELECT row_id FROM open_items")["row_id"].to_list()
    in_new_matches = set(links.filter(pl.col("status") != "rejected")["bank_txn_id"])
    assert wrong["bank_txn_id"] in reopened or wrong["bank_txn_id"] in in_new_matches


def test_a_rejected_batched_deposit_is_not_proposed_again(store: Store) -> None:
    _rerun(store, "r1")
    group = store.query(LINKS_SQL).filter(pl.col("kind") == "1:N")["match_id"].unique().to_list()
    assert len(group) == 1
    reject(store, group[0], by="ana")
    _rerun(store)
    assert store.query("SELECT status FROM matches WHERE kind = '1:N'")["status"].to_list() == ["rejected"]


def test_match_by_hand_refuses_unknown_rows_and_rows_a_person_already_confirmed(store: Store) -> None:
    _rerun(store, "r1")
    auto = store.query(LINKS_SQL).filter((pl.col("status") == "auto") & (pl.col("kind") == "1:1")).row(0, named=True)
    with pytest.raises(UserError, match="unknown rows: nope"):
        match_by_hand(store, ["nope"], [auto["ledger_entry_id"]], by="bo")
    confirm(store, auto["match_id"], by="bo")
    other_entry = store.query("SELECT row_id FROM open_items WHERE side = 'ledger'")["row_id"][0]
    with pytest.raises(UserError, match="confirmed match"):
        match_by_hand(store, [auto["bank_txn_id"]], [other_entry], by="bo")
    assert store.query("SELECT count(*) AS n FROM review_decisions")["n"][0] == 1  # refused calls log nothing
