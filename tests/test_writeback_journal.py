"""Write-back into hledger / ledger-cli journals, checked by both tools when they are installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from recon.config import load_config
from recon.store import open_store
from recon.writeback import write_back
from recon.writeback.base import BookError, WritebackRequest
from recon.writeback.book_check import UNCHECKED_NOTE
from recon.writeback.journal_sink import JournalSink
from tests.helpers import recon
from tests.writeback_books import (
    ACCOUNT,
    BANK_ONLY,
    bank_only_entries,
    closing_balance,
    import_and_match,
    make_setup,
    only_marks_added,
    run_tool,
    story,
    tool,
)


def hledger(*args: str) -> subprocess.CompletedProcess[str]:
    command = tool("hledger")
    if command is None:
        pytest.skip("hledger is not installed (Debian: apt-get install hledger)")
    return run_tool(command, *args)


def ledger(*args: str) -> subprocess.CompletedProcess[str]:
    command = tool("ledger")
    if command is None:
        pytest.skip("ledger is not installed (Debian: apt-get install ledger)")
    return run_tool(command, *args)


def written_journal(tmp_path: Path) -> Path:
    config = make_setup(tmp_path, fmt="hledger", txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    return tmp_path / "books" / "main.journal"


def test_hledger_confirms_cleared_items_new_entries_and_closing_balance(tmp_path: Path) -> None:
    txns = story()
    config = make_setup(tmp_path, fmt="hledger", txns=txns)
    book = tmp_path / "books" / "main.journal"
    book_before = book.read_text()
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    assert summary.as_dict()["written"] == len(txns) + 3
    assert only_marks_added(book_before, book.read_text())

    check = hledger("-f", str(book), "check")  # parses, balances, and checks the balance assertion
    assert check.returncode == 0, check.stderr
    cleared = hledger("-f", str(book), "bal", ACCOUNT, "--cleared", "-N")
    assert cleared.stdout.split()[0] == f"${closing_balance(txns)}"
    tagged = hledger("-f", str(book), "reg", "tag:bank-id", ACCOUNT, "-O", "csv")
    assert len(tagged.stdout.strip().splitlines()) - 1 == len(txns) + 2
    pending = hledger("-f", str(book), "reg", ACCOUNT, "--pending", "--unmarked")
    assert pending.stdout.strip() == ""  # every entry of the account is cleared now
    fee = hledger("-f", str(book), "reg", "tag:bank-id=FIT90", ACCOUNT, "-O", "csv")
    assert '"$-12.00"' in fee.stdout


def test_ledger_confirms_the_cleared_balance_and_the_assertion(tmp_path: Path) -> None:
    book = written_journal(tmp_path)
    result = ledger("-f", str(book), "bal", ACCOUNT, "--cleared")
    assert result.returncode == 0, result.stderr  # ledger checks the balance assertion while reading
    assert result.stdout.split()[0] == f"${closing_balance(story())}"
    tagged = ledger("-f", str(book), "reg", ACCOUNT, "and", "%bank-id")
    assert len(tagged.stdout.strip().splitlines()) == len(story()) + 2


def test_a_wrong_balance_assertion_fails_in_both_tools(tmp_path: Path) -> None:
    book = written_journal(tmp_path)
    recon_file = book.parent / "recon.journal"
    recon_file.write_text(re.sub(r"= \$[\d.]+", "= $999.99", recon_file.read_text()))
    assert hledger("-f", str(book), "check").returncode != 0
    assert ledger("-f", str(book), "bal").returncode != 0


def test_second_write_back_leaves_the_journal_byte_identical_even_without_the_log(tmp_path: Path) -> None:
    config = make_setup(tmp_path, fmt="hledger", txns=story())
    books = tmp_path / "books"
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        write_back(store, config, run_id="r1", new_entries=entries)
        first = {p.name: p.read_bytes() for p in books.iterdir()}
        store.con.execute("DELETE FROM writeback_log")
        again = write_back(store, config, run_id="r2", new_entries=entries)
    assert again.as_dict()["written"] == 0
    assert {p.name: p.read_bytes() for p in books.iterdir()} == first


def test_failure_after_the_replace_then_rerun_doubles_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import recon.writeback.service as service

    config = make_setup(tmp_path, fmt="hledger", txns=story())
    book = tmp_path / "books" / "main.journal"

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed after the journal was replaced")

    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        with monkeypatch.context() as patched:
            patched.setattr(service, "_commit_outcome", killed)
            with pytest.raises(KeyboardInterrupt):
                write_back(store, config, run_id="r1", new_entries=entries)
        write_back(store, config, run_id="r2", new_entries=entries)
        statuses = store.con.execute("SELECT DISTINCT status FROM writeback_log").fetchall()
    assert statuses == [("done",)]
    text = book.read_text()
    assert sorted(re.findall(r"bank-id: (\S+)", text)) == sorted(t.fitid for t in story())
    assert (book.parent / "recon.journal").read_text().count("bank-id") == 2
    assert text.count("include recon.journal") == 1


def test_a_killed_write_that_left_the_recon_file_unincluded_is_completed(tmp_path: Path) -> None:
    """The recon file is replaced before the main file: a kill in between leaves it written but not included."""
    config = make_setup(tmp_path, fmt="hledger", txns=story())
    book = tmp_path / "books" / "main.journal"
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        entries = bank_only_entries(store)
        write_back(store, config, run_id="r1", new_entries=entries)
        text = book.read_text()
        book.write_text(text.replace("\ninclude recon.journal\n", ""))  # as if killed before the main file
        store.con.execute("DELETE FROM writeback_log")
        write_back(store, config, run_id="r2", new_entries=entries)
    assert book.read_text() == text
    assert (book.parent / "recon.journal").read_text().count("bank-id") == 2


def test_ledger_file_order_blocks_an_assertion_before_later_entries(tmp_path: Path) -> None:
    txns = story()
    config = make_setup(tmp_path, fmt="hledger", txns=txns)
    book = tmp_path / "books" / "main.journal"
    with book.open("a") as fh:
        fh.write(f"\n2024/04/03 Rent for April\n    {ACCOUNT}    -$900.00\n    Expenses:Rent\n")
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    (balance,) = [i for i in summary.targets[0].items if i.action == "balance"]
    assert balance.status == "skipped"
    assert "file order" in str(balance.note)
    assert ledger("-f", str(book), "bal").returncode == 0


def test_cli_dry_run_prints_the_diff_and_writes_nothing(tmp_path: Path) -> None:
    make_setup(tmp_path, fmt="hledger", txns=story())
    config = load_config(tmp_path / "recon.toml")
    with open_store(config.store_path) as store:
        import_and_match(store, config)
    book = tmp_path / "books" / "main.journal"
    before = book.read_bytes()
    dry = recon("writeback", "--config", tmp_path / "recon.toml", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would write: 14 cleared" in dry.stdout
    assert "+      ; bank-id: FIT1000" in dry.stdout
    assert "skipped balance checking@2024-03-31: the books say" in dry.stdout
    assert book.read_bytes() == before
    real = recon("writeback", "--config", tmp_path / "recon.toml")
    assert real.returncode == 0, real.stderr
    assert "written: 14 cleared" in real.stdout
    assert book.read_bytes() != before


def test_cli_refuses_a_book_format_it_cannot_write_with_exit_2(tmp_path: Path) -> None:
    make_setup(tmp_path, fmt="hledger", txns=story())
    config_file = tmp_path / "recon.toml"
    config_file.write_text(config_file.read_text().replace('format = "hledger"', 'format = "csv"'))
    result = recon("writeback", "--config", config_file)
    assert result.returncode == 2
    assert "a csv export cannot be written back" in result.stderr


def test_corpus_ledger_autosync_journal_with_its_ofx(corpus: Path, tmp_path: Path) -> None:
    """The real pair: ledger-autosync's checking.lgr and ofxparse's checking.ofx (copied to tmp, never changed)."""
    (tmp_path / "books").mkdir()
    (tmp_path / "bank").mkdir()
    shutil.copy(corpus / "ledger" / "ledger-autosync-checking.lgr", tmp_path / "books" / "checking.lgr")
    shutil.copy(corpus / "ofx" / "ofxparse-checking.ofx", tmp_path / "bank" / "checking.ofx")
    (tmp_path / "recon.toml").write_text(
        '[[accounts]]\nid = "chk"\ncurrency = "USD"\nledger_account = "Assets:Foo"\n\n'
        '[[sources]]\naccount = "chk"\nformat = "ofx"\npaths = ["bank/*.ofx"]\n\n'
        '[[ledgers]]\naccount = "chk"\nformat = "hledger"\npaths = ["books/checking.lgr"]\nwriteback = true\n'
    )
    config = load_config(tmp_path / "recon.toml")
    book = tmp_path / "books" / "checking.lgr"
    before = book.read_text()
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1")
    items = summary.targets[0].items
    assert [i.status for i in items if i.action == "clear"] == ["change"] * 3  # dividend, electric bill, fee
    (balance,) = [i for i in items if i.action == "balance"]
    assert balance.status == "skipped"  # the statement (2013-05-25: $100.99) is not what this small book says
    assert only_marks_added(before, book.read_text())
    assert "2011/03/31 * DIVIDEND EARNED" in book.read_text()
    assert hledger("-f", str(book), "check").returncode == 0
    cleared = ledger("-f", str(book), "bal", "Assets:Foo", "--cleared")
    assert cleared.stdout.split()[0] == "$-59.50"  # 0.01 - 34.51 - 25.00


def test_reimport_after_write_back_keeps_every_entry_id_and_assertions_are_not_rows(tmp_path: Path) -> None:
    from recon.importing import import_file, jobs_from_config
    from recon.matching import run_matching

    config = make_setup(tmp_path, fmt="hledger", txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
        (ledger_job,) = [j for j in jobs_from_config(config)[0] if j.side == "ledger"]
        report = import_file(store, ledger_job, run_id="r2")
        assert report.problems == []
        assert report.rows_new == 2  # the fee and the interest; not the balance assertion, not a marked entry
        run_matching(store, settings=config.matching, run_id="r3")
        still_open = store.con.execute("SELECT side, count(*) FROM open_items GROUP BY side ORDER BY 1").fetchall()
    assert still_open == [("ledger", 1)]  # the opening balance, which no bank row books


def _books_bytes(tmp_path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (tmp_path / "books").iterdir()}


def _only_tools_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """PATH holds only the named real tools (symlinked), so write-back sees just those installed."""
    folder = tmp_path / "path-bin"
    folder.mkdir()
    for name in names:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"{name} is not installed")
        (folder / name).symlink_to(found)
    monkeypatch.setenv("PATH", str(folder))


def test_a_write_that_breaks_the_users_own_assertion_is_put_back_byte_identical(tmp_path: Path) -> None:
    if shutil.which("hledger") is None and shutil.which("ledger") is None:
        pytest.skip("neither hledger nor ledger is installed")
    txns = story()
    config = make_setup(tmp_path, fmt="hledger", txns=txns)
    book = tmp_path / "books" / "main.journal"
    # the user asserted the month-end balance before the bank's fee and interest were booked
    without_bank_only = closing_balance(txns) - sum((a for _, a in BANK_ONLY), Decimal(0))
    book.write_text(book.read_text() + f"\n2024/03/31 month end\n    {ACCOUNT}    $0 = ${without_bank_only}\n")
    before = _books_bytes(tmp_path)
    assert hledger("-f", str(book), "check").returncode == 0  # the book is fine as it is
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
        log = store.con.execute("SELECT DISTINCT status, error FROM writeback_log").fetchall()
    [failed] = summary.failed
    assert failed.error is not None
    assert "refused the book as recon would write it, so nothing was written" in failed.error
    assert "assertion" in failed.error.lower()
    assert failed.error_exit_code == 2  # a BookError: the book's own tool refused it
    assert _books_bytes(tmp_path) == before  # main.journal byte-identical, no recon.journal left behind
    assert {status for status, _ in log} == {"failed"}
    assert all("refused" in (error or "") for _, error in log)


def test_apply_raises_book_error_and_restores_every_file(tmp_path: Path) -> None:
    if shutil.which("hledger") is None and shutil.which("ledger") is None:
        pytest.skip("neither hledger nor ledger is installed")
    txns = story()
    config = make_setup(tmp_path, fmt="hledger", txns=txns)
    book = tmp_path / "books" / "main.journal"
    book.write_text(book.read_text() + f"\n2024/03/31 month end\n    {ACCOUNT}    $0 = $1.00\n")
    before = _books_bytes(tmp_path)
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        sink = JournalSink(book, target="books/main.journal")
        request = WritebackRequest("checking", ACCOUNT, "USD", new_entries=tuple(bank_only_entries(store)))
    plan = sink.plan(request)
    assert plan.file_changes
    with pytest.raises(BookError, match="refuses the book without recon's changes too"):
        sink.apply(plan)  # the book was wrong before: the message says it is not recon's doing
    assert _books_bytes(tmp_path) == before


def test_with_only_ledger_installed_ledger_checks_the_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger_path = shutil.which("ledger")
    _only_tools_on_path(tmp_path, monkeypatch, "ledger")
    txns = story()
    config = make_setup(tmp_path, fmt="hledger", txns=txns)
    book = tmp_path / "books" / "main.journal"
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        summary = write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
    assert not summary.failed
    assert UNCHECKED_NOTE not in summary.targets[0].preview
    assert ledger_path is not None
    cleared = run_tool(ledger_path, "-f", str(book), "bal", ACCOUNT, "--cleared")
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.split()[0] == f"${closing_balance(txns)}"


def test_without_hledger_and_ledger_the_plan_and_the_log_say_it_is_unchecked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _only_tools_on_path(tmp_path, monkeypatch)
    config = make_setup(tmp_path, fmt="hledger", txns=story())
    with open_store(config.store_path) as store:
        import_and_match(store, config)
        preview = write_back(store, config, run_id="r0", dry_run=True, new_entries=bank_only_entries(store))
        summary = write_back(store, config, run_id="r1", new_entries=bank_only_entries(store))
        notes = store.con.execute("SELECT error FROM writeback_log WHERE error IS NOT NULL").fetchall()
    assert preview.targets[0].preview.startswith(f"; {UNCHECKED_NOTE}\n")
    assert preview.targets[0].preview.count(UNCHECKED_NOTE) == 1
    assert not summary.failed
    assert notes == [(UNCHECKED_NOTE,)]  # said once in the log, on the first written item
