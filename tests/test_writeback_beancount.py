"""Write-back into beancount books, checked by beancount itself (loader and bean-check)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recon.config import load_config
from recon.importing import import_file, jobs_from_config
from recon.matching import run_matching
from recon.store import open_store
from recon.writeback import write_back
from tests.writeback_books import (
    ACCOUNT,
    bank_only_entries,
    closing_balance,
    import_and_match,
    make_setup,
    only_marks_added,
    run_tool,
    story,
    tool,
)


def bean_check(path: Path) -> subprocess.CompletedProcess[str]:
    command = tool("bean-check")
    if command is None:
        pytest.skip("bean-check is not installed (pip install 'beancount>=3')")
    return run_tool(command, str(path))


def load(path: Path) -> tuple[list[object], list[object]]:
    from beancount import loader

    entries, errors, _ = loader.load_file(str(path))
    return entries, errors


def test_matched_entries_cleared_new_entries_and_balance_written_and_beancount_agrees(tmp_path: Path) -> None:
    txns = story()
    config = make_setup(tmp_path, fmt="beancount", txns=txns)
    book = tmp_path / "books" / "main.beancount"
    before = book.read_text()
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        assert len(entries) == 2
        summary = write_back(store, config, run_id="r1", new_entries=entries)
    assert summary.as_dict()["written"] == len(txns) + 2 + 1
    assert bean_check(book).returncode == 0

    from beancount.core import data

    loaded, errors = load(book)
    assert errors == []
    txn_entries = [e for e in loaded if isinstance(e, data.Transaction)]
    bank_postings = [(e, p) for e in txn_entries for p in e.postings if p.account == ACCOUNT]
    tagged = {p.meta["bank-id"]: e for e, p in bank_postings if "bank-id" in (p.meta or {})}
    assert set(tagged) == {t.fitid for t in txns} | {"FIT90", "FIT91"}
    assert all(e.flag == "*" for e in tagged.values())
    assert {tuple(e.links) for e in tagged.values() if e.links} == {("bank-FIT90",), ("bank-FIT91",)}
    balances = [e for e in loaded if isinstance(e, data.Balance)]
    assert [(str(b.date), b.amount.number) for b in balances] == [("2024-04-01", closing_balance(txns))]
    assert only_marks_added(before, book.read_text())


def test_a_wrong_balance_makes_bean_check_fail(tmp_path: Path) -> None:
    config = make_setup(tmp_path, fmt="beancount", txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    recon_file = tmp_path / "books" / "recon.beancount"
    assert bean_check(tmp_path / "books" / "main.beancount").returncode == 0
    text = recon_file.read_text()
    recon_file.write_text(re.sub(r"(balance \S+ +)(-?\d+\.\d\d)", lambda m: m.group(1) + "999.99", text))
    failed = bean_check(tmp_path / "books" / "main.beancount")
    assert failed.returncode != 0
    assert "Balance failed" in failed.stdout + failed.stderr


def test_balance_the_books_disagree_with_is_not_written_and_says_why(tmp_path: Path) -> None:
    config = make_setup(tmp_path, fmt="beancount", txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1")  # no new entries: the fee and the interest are missing
        logged = store.con.execute("SELECT status, error FROM writeback_log WHERE action = 'balance'").fetchall()
    (target,) = summary.targets
    (skipped,) = [i for i in target.items if i.status == "skipped"]
    assert skipped.action == "balance"
    assert "difference -11.63" in str(skipped.note)
    assert logged == [("skipped", skipped.note)]
    assert not (tmp_path / "books" / "recon.beancount").exists()  # nothing to append: no file made
    assert bean_check(tmp_path / "books" / "main.beancount").returncode == 0


def test_second_write_back_leaves_the_book_byte_identical_even_without_the_log(tmp_path: Path) -> None:
    config = make_setup(tmp_path, fmt="beancount", txns=story())
    books = tmp_path / "books"
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        write_back(store, config, run_id="r1", new_entries=entries)
        first = {p.name: p.read_bytes() for p in books.iterdir()}
        again = write_back(store, config, run_id="r2", new_entries=entries)
        assert again.as_dict()["written"] == 0
        store.con.execute("DELETE FROM writeback_log")  # idempotent by the book's content, not only by the log
        by_content = write_back(store, config, run_id="r3", new_entries=entries)
    assert by_content.as_dict()["written"] == 0
    assert by_content.as_dict()["already_present"] == len(story()) + 3
    assert {p.name: p.read_bytes() for p in books.iterdir()} == first


def test_reimport_after_write_back_keeps_every_entry_id(tmp_path: Path) -> None:
    config = make_setup(tmp_path, fmt="beancount", txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        ids_before = {r[0] for r in store.con.execute("SELECT entry_id FROM ledger_entries").fetchall()}
        write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
        (ledger_job,) = [j for j in jobs_from_config(config)[0] if j.side == "ledger"]
        report = import_file(store, ledger_job, run_id="r2")
        assert report.problems == []
        assert report.rows_new == 2  # the two entries recon added; every marked entry is still known
        ids_after = {r[0] for r in store.con.execute("SELECT entry_id FROM ledger_entries").fetchall()}
        assert ids_before < ids_after
        run_matching(store, settings=config.matching, run_id="r3")
        open_bank = store.con.execute("SELECT count(*) FROM open_items WHERE side = 'bank'").fetchall()[0][0]
    assert open_bank == 0  # the added entries match their bank rows


def test_dry_run_shows_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    config = make_setup(tmp_path, fmt="beancount", txns=story())
    book = tmp_path / "books" / "main.beancount"
    before = book.read_bytes()
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", dry_run=True, new_entries=bank_only_entries(store))
        logged = store.con.execute("SELECT count(*) FROM writeback_log").fetchall()[0][0]
    (target,) = summary.targets
    assert "--- a/books/main.beancount" in target.preview
    assert '+    bank-id: "FIT1000"' in target.preview
    assert "+++ b/books/recon.beancount" in target.preview
    assert book.read_bytes() == before
    assert not (tmp_path / "books" / "recon.beancount").exists()
    assert logged == 0


def test_failure_between_file_replace_and_log_commit_is_finished_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recon.writeback.service as service

    config = make_setup(tmp_path, fmt="beancount", txns=story())
    book = tmp_path / "books" / "main.beancount"

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed after the book was replaced")

    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        with monkeypatch.context() as patched:
            patched.setattr(service, "_commit_outcome", killed)
            with pytest.raises(KeyboardInterrupt):
                write_back(store, config, run_id="r1", new_entries=entries)
        statuses = store.con.execute("SELECT DISTINCT status FROM writeback_log").fetchall()
        assert statuses == [("pending",)]
        written_once = book.read_bytes(), (tmp_path / "books" / "recon.beancount").read_bytes()
        rerun = write_back(store, config, run_id="r2", new_entries=entries)
        statuses = store.con.execute("SELECT DISTINCT status FROM writeback_log").fetchall()
    assert rerun.as_dict()["written"] == 0
    assert statuses == [("done",)]
    assert (book.read_bytes(), (tmp_path / "books" / "recon.beancount").read_bytes()) == written_once
    assert bean_check(book).returncode == 0


def test_a_failed_replace_leaves_the_book_unchanged_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_setup(tmp_path, fmt="beancount", txns=story())
    book = tmp_path / "books" / "main.beancount"
    before = book.read_bytes()
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        with monkeypatch.context() as patched:
            patched.setattr(os, "replace", _disk_full)
            failed = write_back(store, config, run_id="r1")
        assert failed.failed
        assert "No space left" in str(failed.targets[0].error)
        assert book.read_bytes() == before
        assert [p.name for p in book.parent.iterdir()] == ["main.beancount"]  # no temporary file left behind
        logged = store.con.execute("SELECT DISTINCT status, attempts FROM writeback_log").fetchall()
        assert logged == [("failed", 1)]
        retried = write_back(store, config, run_id="r2")
        logged = store.con.execute(
            "SELECT DISTINCT status, attempts FROM writeback_log WHERE action = 'clear'"
        ).fetchall()
    assert not retried.failed
    assert logged == [("done", 2)]
    assert book.read_text().count("bank-id") == len(story())


def _disk_full(src: object, dst: object) -> None:
    raise OSError(28, "No space left on device")


@pytest.mark.slow
def test_write_back_killed_with_sigkill_while_writing_then_rerun_doubles_nothing_and_loses_nothing(
    tmp_path: Path,
) -> None:
    txns = story()
    config = make_setup(tmp_path, fmt="beancount", txns=txns)
    books = tmp_path / "books"
    book = books / "main.beancount"
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
    # `recon writeback` alone writes no new entries; the closing balance needs them, so it is skipped there
    process = subprocess.Popen(
        [sys.executable, "-m", "recon", "writeback", "--config", str(tmp_path / "recon.toml")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    pristine = book.read_bytes()
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if book.read_bytes() != pristine or any(p.name.endswith(".recon-tmp") for p in books.iterdir()):
            break  # the write has begun: kill it now, between the file replace and the log commit at best
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait()
    with open_store(config.store_path) as store:
        write_back(store, config, run_id="rerun", new_entries=entries)
        statuses = store.con.execute("SELECT DISTINCT status FROM writeback_log ORDER BY 1").fetchall()
    text = book.read_text()
    assert sorted(re.findall(r'bank-id: "([^"]+)"', text)) == sorted(t.fitid for t in txns)
    assert (books / "recon.beancount").read_text().count("bank-id") == 2
    assert statuses == [("done",)]
    assert bean_check(book).returncode == 0
    assert len([p for p in books.iterdir() if p.name.endswith(".recon-tmp")]) <= 1  # never a half book


def test_corpus_beangulp_book_against_its_ofx_files(corpus: Path, tmp_path: Path) -> None:
    """The real pair: the beangulp example book and the two AMEX downloads (copied to tmp, never changed)."""
    (tmp_path / "books").mkdir()
    (tmp_path / "bank").mkdir()
    shutil.copy(corpus / "ledger" / "beangulp-ledger.beancount", tmp_path / "books" / "ledger.beancount")
    for name in ("beangulp-ofxdownload.ofx", "beangulp-2013-12-03.bofa.ofx"):
        shutil.copy(corpus / "ofx" / name, tmp_path / "bank" / name)
    (tmp_path / "recon.toml").write_text(
        '[[accounts]]\nid = "amex"\ncurrency = "USD"\nledger_account = "Liabilities:US:CreditCard"\n\n'
        '[[sources]]\naccount = "amex"\nformat = "ofx"\npaths = ["bank/*.ofx"]\n\n'
        '[[ledgers]]\naccount = "amex"\nformat = "beancount"\npaths = ["books/ledger.beancount"]\nwriteback = true\n'
    )
    config = load_config(tmp_path / "recon.toml")
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        auto = store.con.execute("SELECT count(*) FROM matches WHERE status = 'auto'").fetchall()[0][0]
        entries = bank_only_entries(store)
        summary = write_back(store, config, run_id="r1", new_entries=entries)
    assert auto == 27  # every card posting of the book (lines 31-135) matches its OFX row
    assert len(entries) == 9  # bank rows after the book's last entry (2013-12-02)
    assert summary.as_dict()["written"] == 27 + 9 + 1
    book = tmp_path / "books" / "ledger.beancount"
    assert bean_check(book).returncode == 0
    assert "2013-12-19 balance Liabilities:US:CreditCard  -2356.38 USD" in (book.parent / "recon.beancount").read_text()


def test_a_book_beancount_refuses_is_not_written_and_the_cli_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    from tests.helpers import recon

    config = make_setup(tmp_path, fmt="beancount", txns=story())
    book = tmp_path / "books" / "main.beancount"
    with open_store(config.store_path) as store:
        import_and_match(store, config)
    with book.open("a") as fh:
        fh.write('\n2024-03-30 * "Typo"\n  Assets:Bank:Chequing  -1.00 USD\n  Expenses:Food\n')
    broken = book.read_bytes()
    result = recon("writeback", "--config", tmp_path / "recon.toml")
    assert result.returncode == 2, result.stderr
    assert f"{book}:" in result.stderr
    assert "Assets:Bank:Chequing" in result.stderr
    assert book.read_bytes() == broken
    with open_store(config.store_path) as store:
        logged = store.con.execute("SELECT DISTINCT status FROM writeback_log").fetchall()
    assert logged == [("failed",)]


def test_a_write_beancount_would_refuse_is_put_back_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recon.writeback.beancount_sink import BeancountSink

    txns = story()
    config = make_setup(tmp_path, fmt="beancount", txns=txns)
    book = tmp_path / "books" / "main.beancount"
    before = book.read_bytes()

    def broken_entry(self: BeancountSink, entry: object, request: object, state: object) -> list[str]:
        return ['2024-03-31 * "broken"', "  Assets:Bank:Checking  1.00 USD", "  NotAnAccount  -1.00 USD"]

    monkeypatch.setattr(BeancountSink, "entry_lines", broken_entry)
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    assert [t.error for t in summary.failed if "beancount refused the book as recon would write it" in str(t.error)]
    assert book.read_bytes() == before
    assert not (tmp_path / "books" / "recon.beancount").exists()


def test_rejecting_a_match_already_written_back_tells_where_the_book_says_cleared(tmp_path: Path) -> None:
    from tests.helpers import recon

    config = make_setup(tmp_path, fmt="beancount", txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        write_back(store, config, run_id="r1", new_entries=[])
        ((match_id, bank_id),) = store.con.execute(
            "SELECT m.match_id, w.bank_id FROM matches m JOIN match_links l USING (match_id) "
            "JOIN writeback_log w ON w.item_key = l.ledger_entry_id AND w.action = 'clear' AND w.status = 'done' "
            "ORDER BY m.match_id LIMIT 1"
        ).fetchall()
        ((not_written,),) = store.con.execute(
            "SELECT match_id FROM matches WHERE match_id <> ? ORDER BY match_id LIMIT 1", [match_id]
        ).fetchall()
        store.con.execute("DELETE FROM writeback_log WHERE item_key IN "
                          "(SELECT ledger_entry_id FROM match_links WHERE match_id = ?)", [not_written])  # fmt: skip

    rejected = recon("review", "reject", match_id, "--config", tmp_path / "recon.toml")
    assert rejected.returncode == 0, rejected.stderr
    assert f"match {match_id} rejected" in rejected.stdout
    assert re.search(rf"already written back, marked cleared at books/main\.beancount:\d+ \(bank-id {bank_id}\)",
                     rejected.stderr), rejected.stderr  # fmt: skip
    assert "edit the book by hand" in rejected.stderr
    quiet = recon("review", "reject", not_written, "--config", tmp_path / "recon.toml")
    assert quiet.returncode == 0, quiet.stderr
    assert "written back" not in quiet.stderr
