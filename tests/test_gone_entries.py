"""Entries a book no longer has leave the store, their matches with them; an emptied book is refused."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from tests.helpers import recon
from tests.writeback_books import beancount_book, make_setup, story


def _query(store: Path, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _matched_bank_ids(store: Path) -> dict[str, str]:
    """bank external id (FITID) -> the ledger entry's date, for the auto and confirmed matches."""
    rows = _query(store, "SELECT b.external_id, CAST(e.posted_date AS VARCHAR) FROM matches m "
                         "JOIN match_links l USING (match_id) JOIN bank_transactions b ON b.txn_id = l.bank_txn_id "
                         "JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id "
                         "WHERE m.status IN ('auto', 'confirmed')")  # fmt: skip
    return {str(fitid): str(day) for fitid, day in rows}


def test_an_entry_deleted_or_moved_in_the_book_leaves_the_store_and_its_match(tmp_path: Path) -> None:
    txns = story()
    make_setup(tmp_path, fmt="beancount", txns=txns)
    config, store, book = tmp_path / "recon.toml", tmp_path / "recon.duckdb", tmp_path / "books" / "main.beancount"
    first = recon("run", "--config", config)
    assert first.returncode == 0, first.stderr
    deleted, moved = txns[1], txns[2]
    assert {deleted.fitid, moved.fitid} <= _matched_bank_ids(store).keys()
    ((entries,),) = _query(store, "SELECT count(*) FROM ledger_entries")

    kept = [t for t in txns if t is not deleted]
    text = beancount_book(kept).replace(f"{moved.day.isoformat()} ", f"{moved.day.replace(day=moved.day.day + 1)} ", 1)
    book.write_text(text)
    second = recon("run", "--config", config)
    assert second.returncode == 0, second.stderr
    assert re.search(r"\d+ rows: 1 new, \d+ already known, 2 gone from the book", second.stderr)  # the moved one
    assert "entries are gone from the book since the last import, removed:" in second.stderr
    matched = _matched_bank_ids(store)
    assert deleted.fitid not in matched  # its entry is gone: the bank row is open again
    assert matched[moved.fitid] == str(moved.day.replace(day=moved.day.day + 1))  # matched to the entry as it is now
    # one deleted, the moved one stored under its new id (a beancount entry's id is a hash of its content)
    assert _query(store, "SELECT count(*) FROM ledger_entries") == [(entries - 1,)]
    assert _query(store, "SELECT event, changes FROM ledger_row_events ORDER BY ALL") == [
        ("gone", "gone from the book"),
        ("gone", "gone from the book"),
    ]
    open_bank = _query(store, "SELECT b.external_id FROM open_items o JOIN bank_transactions b ON b.txn_id = o.row_id")
    assert (deleted.fitid,) in open_bank

    again = recon("run", "--config", config)
    assert again.returncode == 0, again.stderr
    assert "gone from the book" not in again.stderr


def test_a_book_that_has_none_of_its_entries_any_more_is_refused(tmp_path: Path) -> None:
    make_setup(tmp_path, fmt="beancount", txns=story())
    config, store, book = tmp_path / "recon.toml", tmp_path / "recon.duckdb", tmp_path / "books" / "main.beancount"
    assert recon("run", "--config", config).returncode == 0
    before = _query(store, "SELECT count(*) FROM ledger_entries")
    book.write_text(";; cut short\n")
    refused = recon("import", "--config", config)
    assert refused.returncode == 2
    assert "the book has none of the" in refused.stderr
    assert _query(store, "SELECT count(*) FROM ledger_entries") == before
