"""`recon review categorize`: a person says where a bank row is booked; no rule changes it, write-back books it,
`recon undo` gives the row back to the rules."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from tests.review_rows import demo_review, query, run_cli
from tests.writeback_books import make_setup, story, tool


@pytest.fixture
def ran(demo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    config = demo / "recon.toml"
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    return config


def _category_in_report(config: Path, txn_id: str) -> str:
    with (config.parent / "out" / "exceptions.csv").open() as fh:
        return next(r["category"] for r in csv.DictReader(fh) if r["row_id"] == txn_id)


def _categorization(store: Path, txn_id: str) -> list[tuple[object, ...]]:
    sql = "SELECT origin, category, payee, memo FROM categorizations WHERE txn_id = ?"
    return query(store, sql, [txn_id])


def test_a_person_categorizes_a_row_a_rerun_keeps_it_and_undo_gives_it_back_to_the_rules(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    fee = demo_review(store).fee
    assert _categorization(store, fee) == [("engine", "Expenses:Bank Fees", "Bank", None)]

    code, out, err = run_cli(
        capsys, "review", "categorize", fee, "--category", "Expenses:Bank Fees:Waived", "--payee", "First Bank",
        "--memo", "refunded in October", "--note", "the branch waives it", "--config", ran, "--by", "ana",
    )  # fmt: skip
    assert code == 0, err
    [(decision_id, action, rows, note, by)] = query(
        store, "SELECT decision_id, action, bank_txn_ids, note, decided_by FROM review_decisions"
    )
    assert (action, rows, note, by) == ("categorize", [fee], "the branch waives it", "ana")
    assert f"1 bank row(s) booked to Expenses:Bank Fees:Waived (decision {decision_id})" in out

    # the nightly run: the rule that says "Expenses:Bank Fees" does not override the person
    code, _, err = run_cli(capsys, "run", "--config", ran)
    assert code == 0, err
    person = ("person", "Expenses:Bank Fees:Waived", "First Bank", "refunded in October")
    assert _categorization(store, fee) == [person]
    assert _category_in_report(ran, fee) == "Expenses:Bank Fees:Waived"
    # what people categorized is what `rules suggest` learns from
    assert query(store, "SELECT count(*) FROM categorizations WHERE origin = 'person'") == [(1,)]

    code, out, err = run_cli(capsys, "undo", decision_id, "--config", ran, "--by", "ana")
    assert code == 0, err
    assert "the rules categorize its rows again on the next run" in out
    assert _categorization(store, fee) == []
    code, _, err = run_cli(capsys, "run", "--config", ran)
    assert code == 0, err
    assert _categorization(store, fee) == [("engine", "Expenses:Bank Fees", "Bank", None)]
    assert _category_in_report(ran, fee) == "Expenses:Bank Fees"

    code, _, err = run_cli(capsys, "undo", decision_id, "--config", ran)
    assert code == 2
    assert "already undone" in err


def test_rows_that_cannot_be_categorized_are_refused_with_what_to_do(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    [(matched, match_id)] = query(
        store,
        "SELECT l.bank_txn_id, m.match_id FROM match_links l JOIN matches m USING (match_id) "
        "WHERE m.status = 'auto' ORDER BY m.match_id LIMIT 1",
    )
    [(other_fee,)] = query(
        store,
        "SELECT txn_id FROM bank_transactions WHERE description = 'MONTHLY SERVICE FEE' AND txn_id <> ? "
        "ORDER BY posted_date LIMIT 1",
        [ids.fee],
    )
    before = query(store, "SELECT txn_id, origin, category FROM categorizations ORDER BY txn_id")

    def refused(*args: str, expect: str) -> None:
        code, out, err = run_cli(capsys, "review", "categorize", *args, "--config", ran)
        assert code == 2, out
        assert expect in err
        assert "Traceback" not in err

    refused(ids.fee, "no-such-row", "--category", "Expenses:X", expect="unknown bank rows: no-such-row")
    held = f"already matched to the books, they need no category: {matched} (auto match {match_id})"
    refused(str(matched), "--category", "Expenses:X", expect=held)
    refused(ids.fee, "--category", "  ", expect="--category: give the GL account the row is booked to")
    own = "'Assets:Bank:Checking' names the row's own bank account 'checking' (or its GL account)"
    refused(ids.fee, "--category", "Assets:Bank:Checking", expect=own)
    ran.write_text(
        ran.read_text() + '\n[[accounts]]\nid = "savings"\ncurrency = "USD"\nledger_account = "Assets:Savings"\n'
    )
    assert run_cli(capsys, "run", "--config", ran)[0] == 0
    transfer = "is bank account 'savings' of the config: money between two of your accounts is a transfer"
    for savings in ("savings", "Assets:Savings"):
        refused(ids.fee, "--category", savings, expect=transfer)
    refused(ids.fee, "--category", "Expenses:Line\nBreak", expect="holds a control character")
    refused(ids.fee, "--category", "Expenses:Office  Supplies", expect="two spaces in a row or ';'")

    con = duckdb.connect(str(store))
    con.execute(
        "INSERT INTO duplicates VALUES ('bank', ?, ?, 'checking', 'same date and amount as x.csv:3', 'flagged', 'r')",
        [other_fee, ids.fee],
    )
    con.close()
    duplicate = f"flagged as possible duplicates: {other_fee} (repeats {ids.fee}); if the row is real, dismiss"
    refused(other_fee, "--category", "Expenses:X", expect=duplicate)
    assert query(store, "SELECT count(*) FROM review_decisions") == [(0,)]
    assert query(store, "SELECT txn_id, origin, category FROM categorizations ORDER BY txn_id") == before

    assert run_cli(capsys, "review", "categorize", ids.fee, "--category", "Expenses:A", "--config", ran)[0] == 0
    refused(ids.fee, "--category", "Expenses:B", expect=f"already categorized by a person: {ids.fee} (decision ")


def test_a_row_in_a_suggested_match_is_categorized_and_the_reply_says_it_waits(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = demo_review(ran.parent / "recon.duckdb")
    code, out, err = run_cli(capsys, "review", "categorize", ids.deposit, "--category", "Income:Sales", "--config", ran)
    assert code == 0, err
    assert f"still in a suggested match, so not written to a book until it is rejected: {ids.deposit}" in out
    assert ids.batched_suggestion in out


def test_write_back_books_a_persons_categorization_and_then_it_cannot_be_undone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if tool("bean-check") is None:
        pytest.skip("bean-check is not installed (pip install 'beancount>=3')")
    make_setup(tmp_path, fmt="beancount", txns=story())
    config, store = tmp_path / "recon.toml", tmp_path / "recon.duckdb"
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    [(fee,)] = query(store, "SELECT txn_id FROM bank_transactions WHERE description LIKE 'MONTHLY SERVICE FEE%'")
    added = tmp_path / "books" / "recon.beancount"
    assert "MONTHLY SERVICE FEE" not in (added.read_text() if added.exists() else "")  # no rule: nothing booked

    # beancount cannot write a name without one of its five roots: refused now, not at write-back
    code, _, err = run_cli(capsys, "review", "categorize", fee, "--category", "Bank Fees", "--config", config)
    assert code == 2
    assert "cannot be written to a beancount book" in err

    code, _, err = run_cli(capsys, "review", "categorize", fee, "--category", "Expenses:Bank Fees", "--config", config)
    assert code == 0, err
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    book = added.read_text()
    assert "Expenses:Bank-Fees" in book
    assert "-12.00 USD" in book
    written = "SELECT count(*) FROM writeback_log WHERE action = 'add' AND status = 'done' AND bank_txn_id = ?"
    assert query(store, written, [fee]) == [(1,)]

    [(decision_id,)] = query(store, "SELECT decision_id FROM review_decisions WHERE action = 'categorize'")
    code, _, err = run_cli(capsys, "undo", decision_id, "--config", config)
    assert code == 2
    assert "already written back to a book" in err
    assert "edit the book by hand" in err
    code, _, err = run_cli(capsys, "review", "categorize", fee, "--category", "Expenses:Other", "--config", config)
    assert code == 2
    assert "already written back to a book by their categorization" in err
    assert _categorization(store, fee) == [("person", "Expenses:Bank Fees", None, None)]
