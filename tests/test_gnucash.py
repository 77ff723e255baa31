"""GnuCash SQLite books: read as the ledger side, written back, and checked by GnuCash's own engine.

The books are made with piecash from the story of `tests.writeback_books`; what
write-back did is read back with piecash and with GnuCash itself (the Debian
bindings under the system Python, `python3-gnucash`), never with recon's reader alone.
"""

from __future__ import annotations

import gzip
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from importers import detect
from importers.gnucash_book import GnucashBook
from recon.config import Config
from recon.importing import import_file, jobs_from_config
from recon.matching import run_matching
from recon.store import open_store
from recon.writeback import NewEntry, write_back
from recon.writeback.gnucash_writer import GnucashWriter
from tests.gnucash_books import (
    book_with_gnucash,
    hold_gnucash_lock,
    make_gnucash_setup,
    piecash_module,
    read_with_gnucash,
    sql_dump,
    system_gnucash_available,
    write_gnucash_book,
)
from tests.helpers import recon
from tests.writeback_books import (
    ACCOUNT,
    OPENING,
    StoryTxn,
    bank_only_entries,
    closing_balance,
    import_and_match,
    story,
)

CLOSING = closing_balance(story())


@pytest.fixture(scope="module")
def gnucash_engine() -> None:
    if not system_gnucash_available():
        pytest.skip("GnuCash's Python bindings are not installed for /usr/bin/python3 (apt install python3-gnucash)")


def book_of(folder: Path) -> Path:
    return folder / "books" / "main.gnucash"


def bank_splits(book: Path) -> list[dict[str, Any]]:
    """The bank account's splits as piecash reads them."""
    piecash = piecash_module()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with piecash.open_book(str(book), readonly=True, open_if_lock=True) as opened:
            account = opened.accounts(fullname=ACCOUNT)
            return [
                {"date": s.transaction.post_date, "amount": s.quantity, "state": s.reconcile_state, "memo": s.memo,
                 "other": [o.account.fullname for o in s.transaction.splits if o.account != account]}
                for s in account.splits
            ]  # fmt: skip


# --- the importer ---------------------------------------------------------------------------


def test_importer_reads_every_split_with_full_account_names_signed_amounts_and_split_guids(tmp_path: Path) -> None:
    txns = story()
    book = write_gnucash_book(tmp_path / "main.gnucash", txns)
    assert detect(book, "ledger").format == "gnucash"  # type: ignore[union-attr]
    extract = GnucashBook().extract(book, currency="USD")
    assert extract.problems == []
    rows = extract.rows
    assert rows.height == 2 * (len(txns) + 1)  # two splits per transaction, every account
    bank = rows.filter(rows["ledger_account"] == ACCOUNT).sort("posted_date")
    assert bank.height == len(txns) + 1
    assert bank["amount_minor"].to_list() == [int(OPENING * 100), *(int(t.amount * 100) for t in txns)]
    assert bank["posted_date"].to_list()[1:] == [t.day for t in txns]
    assert bank["description"].to_list()[1:] == [t.payee for t in txns]
    assert bank["reference"].to_list() == [None, *(str(101 + i) for i in range(len(txns)))]
    food = rows.filter(rows["ledger_account"] == "Expenses:Food")
    assert food["amount_minor"].to_list() == [-int(t.amount * 100) for t in txns if t.counter == "Expenses:Food"]
    assert set(rows["ledger_account"]) >= {ACCOUNT, "Equity:Opening Balances", "Income:Salary"}
    with sqlite3.connect(book) as con:
        guids = {g for (g,) in con.execute("SELECT guid FROM splits")}
    assert set(rows["external_id"]) == guids


def test_importer_leaves_out_voided_splits_and_scheduled_templates(tmp_path: Path) -> None:
    book = write_gnucash_book(tmp_path / "main.gnucash", story())
    con = sqlite3.connect(book)
    with con:
        (template_root,) = con.execute("SELECT root_template_guid FROM books").fetchone()
        (usd,) = con.execute("SELECT guid FROM commodities WHERE mnemonic = 'USD'").fetchone()
        con.execute("INSERT INTO accounts (guid, name, account_type, commodity_guid, commodity_scu, non_std_scu, "
                    "parent_guid, hidden, placeholder) VALUES ('t1', 'tmpl', 'BANK', ?, 100, 0, ?, 0, 0)",
                    (usd, template_root))  # fmt: skip
        (tx,) = con.execute("SELECT tx_guid FROM splits WHERE memo = 'March' LIMIT 1").fetchone()
        con.execute("INSERT INTO splits VALUES ('s1', ?, 't1', '', '', 'n', NULL, 500, 100, 500, 100, NULL)", (tx,))
        con.execute("UPDATE splits SET reconcile_state = 'v' WHERE tx_guid = ?", (tx,))
    con.close()
    rows = GnucashBook().extract(book, currency="USD").rows
    assert rows.height == 2 * len(story())  # the voided transaction's two splits and the template split are gone
    assert "s1" not in set(rows["external_id"])


def test_importer_refuses_a_gnucash_xml_book_saying_save_it_as_sqlite(tmp_path: Path) -> None:
    book = tmp_path / "main.gnucash"
    with gzip.open(book, "wb") as fh:
        fh.write(b'<?xml version="1.0" encoding="utf-8" ?>\n<gnc-v2\n xmlns:gnc="http://www.gnucash.org/XML/gnc">\n')
    assert detect(book, "ledger").format == "gnucash"  # type: ignore[union-attr]
    (problem,) = GnucashBook().extract(book, currency="USD").problems
    assert problem.path == str(book)
    assert "GnuCash XML book" in problem.message
    assert "save it as SQLite" in problem.message


def test_importer_refuses_a_sqlite_file_that_is_not_a_gnucash_book_and_the_cli_exits_2(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    book.unlink()
    with sqlite3.connect(book) as con:
        con.execute("CREATE TABLE notes (body TEXT)")
    con.close()
    assert not GnucashBook().identify(book)
    (problem,) = GnucashBook().extract(book, currency="USD").problems
    assert "not a GnuCash book" in problem.message
    result = recon("import", "--config", config.base_dir / "recon.toml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "not a GnuCash book" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_import_keeps_the_bank_account_rows_and_a_second_import_adds_nothing(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        rows = store.con.execute("SELECT count(*), sum(amount_minor) FROM ledger_entries").fetchall()
        auto = store.con.execute("SELECT count(*) FROM matches WHERE status = 'auto'").fetchall()
        (ledger_job,) = [j for j in jobs_from_config(config)[0] if j.side == "ledger"]
        again = import_file(store, ledger_job, run_id="again")
    assert rows == [(len(story()) + 1, int((CLOSING - Decimal("-11.63")) * 100))]  # the book lacks fee + interest
    assert auto == [(len(story()),)]
    assert (again.rows_new, again.rows_known) == (0, len(story()) + 1)


# --- write-back -----------------------------------------------------------------------------


def test_write_back_clears_matches_adds_entries_reconciles_and_gnucash_agrees(
    tmp_path: Path, gnucash_engine: None
) -> None:
    txns = story()
    config = make_gnucash_setup(tmp_path, txns=txns)
    book = book_of(tmp_path)
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
    assert summary.as_dict()["written"] == len(txns) + 2 + 1
    assert not summary.failed

    engine = read_with_gnucash(book)
    assert Decimal(engine["balance"]) == CLOSING
    assert Decimal(engine["reconciled"]) == CLOSING  # every split through the statement date is reconciled
    memos = {s["memo"].rsplit("bank-id: ", 1)[-1]: s for s in engine["splits"] if "bank-id:" in s["memo"]}
    assert set(memos) == {t.fitid for t in txns} | {"FIT90", "FIT91"}
    assert all(s["state"] == "y" and s["reconciled_on"] == "2024-03-31" for s in memos.values())
    assert memos["FIT1000"]["memo"] == "March; bank-id: FIT1000"  # the user's memo stays in front
    assert memos["FIT90"]["other"] == ["Expenses:Bank:Fees"]
    assert Decimal(memos["FIT90"]["amount"]) == Decimal("-12.00")
    assert memos["FIT91"]["other"] == ["Income:Interest"]
    assert len(engine["splits"]) == len(txns) + 3  # the opening, the story, the two new entries: none doubled

    by_piecash = bank_splits(book)
    assert sorted(s["state"] for s in by_piecash) == ["y"] * (len(txns) + 3)
    assert sum((s["amount"] for s in by_piecash), Decimal(0)) == CLOSING


def test_a_book_gnucash_itself_created_reads_like_the_piecash_one_and_takes_the_write_back(
    tmp_path: Path, gnucash_engine: None
) -> None:
    txns = story()
    config = make_gnucash_setup(tmp_path, txns=txns, by_gnucash=True)
    by_piecash = write_gnucash_book(tmp_path / "piecash.gnucash", txns)
    columns = ["posted_date", "amount_minor", "description", "reference", "ledger_account", "currency"]
    engine_rows = GnucashBook().extract(book_of(tmp_path), currency="USD").rows.select(columns).sort(columns)
    assert engine_rows.equals(GnucashBook().extract(by_piecash, currency="USD").rows.select(columns).sort(columns))
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    assert summary.as_dict()["written"] == len(txns) + 2 + 1, summary.targets[0].error
    engine = read_with_gnucash(book_of(tmp_path))
    assert Decimal(engine["reconciled"]) == Decimal(engine["balance"]) == CLOSING
    assert len([s for s in engine["splits"] if "bank-id:" in s["memo"]]) == len(txns) + 2


def test_an_entry_booked_in_gnucash_itself_is_matched_cleared_and_read_back_by_gnucash(
    tmp_path: Path, gnucash_engine: None
) -> None:
    txns = story()
    config = make_gnucash_setup(tmp_path, txns=txns)
    book = book_of(tmp_path)
    book_with_gnucash(book, description="Monthly service fee", day=date(2024, 3, 30), amount=Decimal("-12.00"),
                      counter="Expenses:Food")  # fmt: skip
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        assert [e.bank_id for e in entries] == ["FIT91"]  # the fee is in the book now: only the interest is new
        summary = write_back(store, config, run_id="r1", new_entries=entries)
    assert summary.as_dict()["written"] == len(txns) + 1 + 1 + 1  # the story, the fee, the interest, the balance
    engine = read_with_gnucash(book)
    (fee,) = [s for s in engine["splits"] if s["description"] == "Monthly service fee"]
    assert (fee["state"], fee["memo"], fee["date"]) == ("y", "bank-id: FIT90", "2024-03-30")
    assert Decimal(engine["reconciled"]) == CLOSING


def test_nightly_run_categorizes_books_and_reconciles_and_a_second_night_leaves_the_book_byte_identical(
    tmp_path: Path, gnucash_engine: None
) -> None:
    from tests.test_nightly_books import RULES

    make_gnucash_setup(tmp_path, txns=story())
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bank.yaml").write_text(RULES)
    config = tmp_path / "recon.toml"
    config.write_text(config.read_text() + '\n[rules]\npaths = ["rules/*.yaml"]\n')
    book = book_of(tmp_path)

    first = recon("run", "--config", config)
    assert first.returncode == 0, first.stdout + first.stderr
    engine = read_with_gnucash(book)
    assert Decimal(engine["reconciled"]) == Decimal(engine["balance"]) == CLOSING
    others = {s["memo"]: s["other"] for s in engine["splits"]}
    assert others["bank-id: FIT90"] == ["Expenses:Bank:Fees"]
    assert others["bank-id: FIT91"] == ["Income:Interest"]

    before = book.read_bytes()
    second = recon("run", "--config", config)
    assert second.returncode == 0, second.stdout + second.stderr
    assert book.read_bytes() == before


def test_a_new_entry_for_a_placeholder_account_is_skipped_saying_why_and_the_rest_is_written(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        fee, interest = sorted(bank_only_entries(store), key=lambda e: e.amount_minor)
        entries = [replace(fee, counter_account="Expenses"), interest]
        summary = write_back(store, config, run_id="r1", new_entries=entries)
    (target,) = summary.targets
    (skipped,) = [i for i in target.items if i.action == "add" and i.status == "skipped"]
    assert skipped.key == fee.bank_txn_id
    assert "Expenses is a placeholder account" in str(skipped.note)
    memos = [s["memo"] for s in bank_splits(book_of(tmp_path))]
    assert "bank-id: FIT91" in memos
    assert "bank-id: FIT90" not in memos


def test_balance_the_book_disagrees_with_is_skipped_with_the_difference_and_matches_stay_cleared(
    tmp_path: Path, gnucash_engine: None
) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1")  # no new entries: the fee and the interest are missing
        logged = store.con.execute("SELECT status, error FROM writeback_log WHERE action = 'balance'").fetchall()
    (target,) = summary.targets
    (skipped,) = [i for i in target.items if i.status == "skipped"]
    assert skipped.action == "balance"
    assert "difference -11.63" in str(skipped.note)
    assert logged == [("skipped", skipped.note)]
    engine = read_with_gnucash(book_of(tmp_path))
    story_splits = [s for s in engine["splits"] if "bank-id:" in s["memo"]]
    assert len(story_splits) == len(story())
    assert {s["state"] for s in story_splits} == {"c"}  # cleared, not reconciled: the balance does not tie
    assert Decimal(engine["reconciled"]) == OPENING


def test_second_write_back_leaves_the_book_byte_identical_even_without_the_log(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        write_back(store, config, run_id="r1", new_entries=entries)
        first, dump = book.read_bytes(), sql_dump(book)
        again = write_back(store, config, run_id="r2", new_entries=entries)
        store.con.execute("DELETE FROM writeback_log")  # idempotent by the book's content, not only by the log
        by_content = write_back(store, config, run_id="r3", new_entries=entries)
    assert again.as_dict()["written"] == 0
    assert by_content.as_dict()["written"] == 0
    assert by_content.as_dict()["already_present"] == len(story()) + 3
    assert book.read_bytes() == first
    assert sql_dump(book) == dump
    assert sorted(p.name for p in book.parent.iterdir()) == ["main.gnucash"]  # no backup, no journal left


def test_write_back_touches_only_the_split_rows_and_adds_only_the_new_entries(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    before = set(sql_dump(book))
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    after = set(sql_dump(book))
    removed = sorted(before - after)
    assert {line.split('"')[1] for line in removed} == {"splits", "sqlite_sequence"}  # changed splits, nothing else
    added = sorted(after - before)
    assert {line.split('"')[1] for line in added} == {"splits", "transactions", "accounts", "slots", "sqlite_sequence"}
    new_accounts = [line.split("'")[3] for line in added if line.startswith('INSERT INTO "accounts"')]
    assert sorted(new_accounts) == ["Bank", "Fees", "Interest"]  # Expenses:Bank:Fees and Income:Interest
    assert len([line for line in added if line.startswith('INSERT INTO "transactions"')]) == 2


def test_dry_run_works_without_writing_and_shows_each_change(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    before = book.read_bytes()
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", dry_run=True, new_entries=bank_only_entries(store))
        logged = store.con.execute("SELECT count(*) FROM writeback_log").fetchall()[0][0]
    (target,) = summary.targets
    assert "memo + 'bank-id: FIT1000'" in target.preview
    assert "Expenses:Bank:Fees (new account)" in target.preview
    assert "-> [y] reconciled 2024-03-31" in target.preview
    assert book.read_bytes() == before
    assert logged == 0


def test_reimport_after_write_back_keeps_every_entry_id_and_the_new_entries_match(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        ids_before = {r[0] for r in store.con.execute("SELECT entry_id FROM ledger_entries").fetchall()}
        write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
        (ledger_job,) = [j for j in jobs_from_config(config)[0] if j.side == "ledger"]
        report = import_file(store, ledger_job, run_id="r2")
        assert report.problems == []
        assert report.rows_new == 2  # the two entries recon added; every cleared split is still known
        ids_after = {r[0] for r in store.con.execute("SELECT entry_id FROM ledger_entries").fetchall()}
        run_matching(store, settings=config.matching, run_id="r3")
        open_bank = store.con.execute("SELECT count(*) FROM open_items WHERE side = 'bank'").fetchall()[0][0]
    assert ids_before < ids_after
    assert open_bank == 0


def test_lock_held_by_gnucash_refuses_with_exit_2_and_leaves_the_book_unchanged(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    with open_store(config.store_path) as store:
        import_and_match(store, config)
    hold_gnucash_lock(book, host="desk-7", pid=4242)
    locked = book.read_bytes()
    dry = recon("writeback", "--config", tmp_path / "recon.toml", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "GnuCash has the book open: close it, or the write will be refused" in dry.stdout
    result = recon("writeback", "--config", tmp_path / "recon.toml")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "GnuCash has the book open (lock held by host desk-7, pid 4242); close GnuCash and run again" in (
        result.stdout + result.stderr
    )
    assert str(book) in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "written:" not in result.stdout  # nothing was
    assert f"failed, not all written, planned: {len(story())} cleared" in result.stdout
    assert book.read_bytes() == locked
    with sqlite3.connect(book) as con:
        con.execute("DELETE FROM gnclock")
    con.close()
    retried = recon("writeback", "--config", tmp_path / "recon.toml")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert f"written: {len(story())} cleared" in retried.stdout


def test_lock_taken_between_plan_and_write_is_seen_inside_the_write_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    original = GnucashWriter.write

    def gnucash_opens_the_book_meanwhile(self: GnucashWriter, operations: list[object]) -> None:
        hold_gnucash_lock(book, host="laptop", pid=7)  # another connection, before recon's first write
        original(self, operations)

    with open_store(config.store_path) as store:
        import_and_match(store, config)
        monkeypatch.setattr(GnucashWriter, "write", gnucash_opens_the_book_meanwhile)
        summary = write_back(store, config, run_id="r1")
    (failed,) = summary.failed
    assert "lock held by host laptop" in str(failed.error)
    assert failed.error_exit_code == 2
    assert all(s["state"] != "c" or s["memo"] == "March" for s in bank_splits(book))
    assert not any("bank-id" in s["memo"] for s in bank_splits(book))


def test_book_lacking_the_ledger_account_is_refused_naming_it(tmp_path: Path) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    toml = tmp_path / "recon.toml"
    toml.write_text(toml.read_text().replace(f'ledger_account = "{ACCOUNT}"', 'ledger_account = "Assets:Checking"'))
    with open_store(config.store_path) as store:
        import_and_match(store, config)
    result = recon("writeback", "--config", toml)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "the book has no account 'Assets:Checking'" in result.stdout + result.stderr
    assert f"(it has {ACCOUNT})" in result.stdout + result.stderr


def test_a_failure_inside_the_write_leaves_the_book_as_it_was_and_the_rerun_writes_each_entry_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    before = book.read_bytes()

    def disk_fails_after_the_clears_and_adds(self: GnucashWriter, op: object) -> None:
        self.book.session.flush()  # the clears and the new transactions are in the database transaction now
        raise sqlite3.OperationalError("disk I/O error")

    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        with monkeypatch.context() as patched:
            patched.setattr(GnucashWriter, "reconcile", disk_fails_after_the_clears_and_adds)
            failed = write_back(store, config, run_id="r1", new_entries=entries)
        assert "disk I/O error" in str(failed.targets[0].error)
        assert book.read_bytes() == before
        rerun = write_back(store, config, run_id="r2", new_entries=entries)
        statuses = store.con.execute("SELECT DISTINCT status FROM writeback_log").fetchall()
    assert not rerun.failed
    assert statuses == [("done",)]
    tagged = [s["memo"].rsplit("bank-id: ", 1)[-1] for s in bank_splits(book) if "bank-id" in s["memo"]]
    assert sorted(tagged) == sorted([t.fitid for t in story()] + ["FIT90", "FIT91"])


def test_missing_piecash_is_a_clear_message_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_gnucash_setup(tmp_path, txns=story())
    book = book_of(tmp_path)
    before = book.read_bytes()
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        monkeypatch.setitem(sys.modules, "piecash", None)  # as if `recon[gnucash]` were not installed
        dry = write_back(store, config, run_id="dry", dry_run=True)  # planning reads the book with sqlite3 alone
        summary = write_back(store, config, run_id="r1")
    assert not dry.failed
    assert dry.targets[0].count("change", "clear") == len(story())
    (failed,) = summary.failed
    assert "GnuCash write-back needs `pip install 'recon[gnucash]'`" in str(failed.error)
    assert failed.error_exit_code == 2
    assert book.read_bytes() == before


def _matched_book(tmp_path: Path) -> tuple[list[StoryTxn], Config, Path, list[NewEntry]]:
    """The story's book, imported and matched: (its transactions, the config, the book file, the new entries)."""
    txns = story()
    config = make_gnucash_setup(tmp_path, txns=txns)
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
    return txns, config, book_of(tmp_path), entries


def _bank_ids(engine: dict[str, Any]) -> list[str]:
    """The bank ids write-back put in the memos of the book's splits, sorted (a repeat shows twice)."""
    return sorted(s["memo"].rsplit("bank-id: ", 1)[-1] for s in engine["splits"] if "bank-id" in s["memo"])


KILLED_INSIDE_THE_WRITE = """
import os, runpy, signal, sys
from sqlalchemy import text
from recon.writeback import gnucash_writer

write = gnucash_writer.GnucashWriter.write

def write_then_die(self, operations):
    self.book.session.execute(text("PRAGMA cache_size = 1"))  # changed pages spill into the book file itself
    write(self, operations)
    self.book.session.flush()
    os.kill(os.getpid(), signal.SIGKILL)  # before the commit: the book file holds half a write, the journal the rest

gnucash_writer.GnucashWriter.write = write_then_die
sys.argv = ["recon", "writeback", "--config", sys.argv[1]]
runpy.run_module("recon", run_name="__main__")
"""


@pytest.mark.slow
def test_write_back_killed_after_half_the_pages_are_written_is_rolled_back_and_the_rerun_writes_each_once(
    tmp_path: Path, gnucash_engine: None
) -> None:
    txns, config, book, entries = _matched_book(tmp_path)
    journal = book.with_name(book.name + "-journal")
    before, pristine = sql_dump(book), book.read_bytes()
    killed = subprocess.run([sys.executable, "-c", KILLED_INSIDE_THE_WRITE, str(tmp_path / "recon.toml")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert journal.exists()  # a hot journal: the book as the killed process left it is not the committed one
    assert book.read_bytes() != pristine  # half a write is in the book file itself
    (ledger_job,) = [j for j in jobs_from_config(config)[0] if j.side == "ledger"]
    with open_store(config.store_path) as store:
        report = import_file(store, ledger_job, run_id="next-night")  # the next night imports the book first
        assert report.problems == []
        assert report.rows_new == 0
        assert sql_dump(book) == before  # the interrupted write is rolled back, nothing of it half there
        rerun = write_back(store, config, run_id="rerun", new_entries=entries)
    assert not rerun.failed
    engine = read_with_gnucash(book)
    assert _bank_ids(engine) == sorted([t.fitid for t in txns] + ["FIT90", "FIT91"])  # each once
    assert Decimal(engine["reconciled"]) == CLOSING


@pytest.mark.slow
def test_write_back_killed_with_sigkill_while_writing_then_rerun_doubles_nothing_and_loses_nothing(
    tmp_path: Path, gnucash_engine: None
) -> None:
    txns, config, book, entries = _matched_book(tmp_path)
    journal = book.with_name(book.name + "-journal")
    process = subprocess.Popen(
        [sys.executable, "-m", "recon", "writeback", "--config", str(tmp_path / "recon.toml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    pristine = book.read_bytes()
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if journal.exists() or book.read_bytes() != pristine:
            break  # the write transaction has begun: kill it inside
        time.sleep(0.0005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with open_store(config.store_path) as store:
        rerun = write_back(store, config, run_id="rerun", new_entries=entries)
        statuses = store.con.execute("SELECT DISTINCT status FROM writeback_log ORDER BY 1").fetchall()
    assert not rerun.failed
    assert statuses == [("done",)]
    engine = read_with_gnucash(book)
    assert _bank_ids(engine) == sorted([t.fitid for t in txns] + ["FIT90", "FIT91"])  # each once
    assert len(engine["splits"]) == len(txns) + 3
    assert Decimal(engine["balance"]) == CLOSING
    assert Decimal(engine["reconciled"]) == CLOSING
