"""`recon review confirm|reject|match|book`: decisions from scripts go to review_decisions and outlive reruns."""

from __future__ import annotations

import csv
import getpass
from pathlib import Path

import duckdb
import pytest

from recon.errors import UserError
from recon.review_web.actions import perform
from recon.store import open_store
from tests.helpers import recon
from tests.review_rows import demo_review, query, run_cli


@pytest.fixture
def ran(demo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The demo after one `recon run`: the config path."""
    config = demo / "recon.toml"
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    return config


def _status(store: Path, match_id: str) -> str | None:
    rows = query(store, "SELECT status FROM matches WHERE match_id = ?", [match_id])
    return str(rows[0][0]) if rows else None


@pytest.mark.slow
def test_decisions_made_with_the_real_cli_stand_after_a_rerun(demo: Path) -> None:
    config, store = demo / "recon.toml", demo / "recon.duckdb"
    assert recon("run", "--config", config).returncode == 0
    ids = demo_review(store)

    done = recon("review", "confirm", ids.gsuite_suggestion, "--config", config, "--by", "ana", "--note", "same sub")
    assert done.returncode == 0, done.stderr
    done = recon("review", "reject", ids.initech_suggestion, "--config", config, "--by", "ana", "--note", "short-paid")
    assert done.returncode == 0, done.stderr
    done = recon(
        "review", "match", "--bank", ids.deposit, "--ledger", ids.receipts[0], "--ledger", ids.receipts[1],
        "--config", config, "--by", "ana", "--note", "two checks, one deposit",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    hand_match = done.stdout.split()[1]

    assert recon("run", "--config", config).returncode == 0

    assert _status(store, ids.gsuite_suggestion) == "confirmed"
    assert _status(store, ids.initech_suggestion) == "rejected"
    assert query(store, "SELECT status, origin, kind FROM matches WHERE match_id = ?", [hand_match]) == [
        ("confirmed", "person", "1:N")
    ]
    links = query(
        store, "SELECT bank_txn_id, ledger_entry_id FROM match_links WHERE match_id = ? ORDER BY 2", [hand_match]
    )
    assert links == sorted([(ids.deposit, r) for r in ids.receipts], key=lambda p: p[1])
    # the rejected pair is not proposed again, in any status
    pair = query(
        store,
        """SELECT m.match_id FROM matches m JOIN match_links l USING (match_id)
           JOIN match_links l2 ON l2.match_id = m.match_id
           WHERE m.status <> 'rejected' AND l.bank_txn_id = (SELECT bank_txn_id FROM match_links WHERE match_id = ?)
           AND l2.ledger_entry_id = (SELECT ledger_entry_id FROM match_links WHERE match_id = ?)""",
        [ids.initech_suggestion, ids.initech_suggestion],
    )
    assert pair == []
    decisions = query(store, "SELECT action, decided_by, note, decided_at IS NOT NULL FROM review_decisions ORDER BY 1")
    assert decisions == [
        ("confirm", "ana", "same sub", True),
        ("match", "ana", "two checks, one deposit", True),
        ("reject", "ana", "short-paid", True),
    ]
    # the exceptions report no longer lists the decided rows as open or suggested
    with (demo / "out" / "exceptions.csv").open() as fh:
        report = list(csv.DictReader(fh))
    listed = {r["match_id"] for r in report} | {i for r in report for i in r["row_id"].split(" / ")}
    assert not listed & {ids.gsuite_suggestion, ids.initech_suggestion, ids.deposit, *ids.receipts}


def test_an_unknown_match_id_exits_2_and_names_it(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("confirm", "reject"):
        code, _, err = run_cli(capsys, "review", command, "no-such-match", "--config", ran)
        assert code == 2
        assert "no-such-match" in err
    code, _, err = run_cli(capsys, "explain", "no-such-match", "--config", ran)
    assert (code, "no-such-match" in err) == (2, True)
    assert query(ran.parent / "recon.duckdb", "SELECT count(*) FROM review_decisions") == [(0,)]


def test_by_defaults_to_the_os_user_and_options_may_come_before_the_command(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = demo_review(ran.parent / "recon.duckdb")
    code, out, err = run_cli(capsys, "review", "--config", ran, "confirm", ids.gsuite_suggestion)
    assert code == 0, err
    assert "confirmed" in out
    code, _, err = run_cli(capsys, "review", "--config", ran, "--by", "zoe", "reject", ids.initech_suggestion)
    assert code == 0, err
    rows = query(
        ran.parent / "recon.duckdb", "SELECT decided_by, action, match_id, note FROM review_decisions ORDER BY action"
    )
    assert rows == [
        (getpass.getuser(), "confirm", ids.gsuite_suggestion, None),
        ("zoe", "reject", ids.initech_suggestion, None),
    ]


def test_a_hand_match_whose_totals_differ_is_refused_unless_allowed(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    code, _, err = run_cli(
        capsys, "review", "match", "--bank", ids.deposit, "--ledger", ids.receipts[0], "--config", ran
    )
    assert code == 2
    assert "530.00 USD" in err  # what is missing, exactly
    assert query(store, "SELECT count(*) FROM review_decisions") == [(0,)]

    code, out, err = run_cli(
        capsys, "review", "match", "--bank", ids.deposit, "--ledger", ids.receipts[0],
        "--allow-difference", "--note", "rest later", "--config", ran,
    )  # fmt: skip
    assert code == 0, err
    match_id = out.split()[1]
    assert query(store, "SELECT DISTINCT amount_diff_minor FROM match_links WHERE match_id = ?", [match_id]) == [
        (53000,)
    ]


def _accepted_links(store: Path, bank_txn_id: str) -> list[tuple[object, ...]]:
    return query(
        store,
        "SELECT m.match_id, m.status FROM matches m JOIN match_links l USING (match_id) "
        "WHERE l.bank_txn_id = ? AND m.status IN ('auto', 'suggested', 'confirmed') ORDER BY ALL",
        [bank_txn_id],
    )


def test_a_rejected_match_confirmed_later_never_puts_a_row_in_two_matches(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    ((linked,),) = query(store, "SELECT bank_txn_id FROM match_links WHERE match_id = ?", [ids.gsuite_suggestion])
    bank_row = str(linked)
    assert run_cli(capsys, "review", "reject", ids.gsuite_suggestion, "--config", ran)[0] == 0
    code, out, err = run_cli(
        capsys, "review", "match", "--bank", bank_row, "--ledger", ids.open_ledger, "--allow-difference",
        "--config", ran,
    )  # fmt: skip
    assert code == 0, err
    by_hand = out.split()[1]

    code, _, err = run_cli(capsys, "review", "confirm", ids.gsuite_suggestion, "--config", ran)
    assert code == 2
    assert f"rows already in confirmed match(es) {by_hand}; reject first" in err
    assert _status(store, ids.gsuite_suggestion) == "rejected"
    assert _accepted_links(store, bank_row) == [(by_hand, "confirmed")]

    # the engine matched the row elsewhere meanwhile: a person's confirmation wins over it
    ((hand_decision,),) = query(store, "SELECT decision_id FROM review_decisions WHERE match_id = ?", [by_hand])
    assert run_cli(capsys, "undo", str(hand_decision), "--config", ran)[0] == 0
    con = duckdb.connect(str(store))
    con.execute("INSERT INTO matches SELECT * REPLACE ('engine-elsewhere' AS match_id, 'auto' AS status) "
                "FROM matches WHERE match_id = ?", [ids.gsuite_suggestion])  # fmt: skip
    con.execute("INSERT INTO match_links SELECT * REPLACE ('engine-elsewhere' AS match_id) FROM match_links "
                "WHERE match_id = ?", [ids.gsuite_suggestion])  # fmt: skip
    con.close()
    code, out, err = run_cli(capsys, "review", "confirm", ids.gsuite_suggestion, "--config", ran)
    assert code == 0, err
    assert "it replaced engine match(es) engine-elsewhere (auto)" in out
    assert _accepted_links(store, bank_row) == [(ids.gsuite_suggestion, "confirmed")]


def test_comma_separated_ids_and_unknown_rows(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = demo_review(ran.parent / "recon.duckdb")
    code, _, err = run_cli(
        capsys, "review", "match", "--bank", ids.deposit, "--ledger", f"{ids.receipts[0]},nope", "--config", ran
    )
    assert code == 2
    assert "nope" in err
    code, _, err = run_cli(
        capsys, "review", "match", "--bank", ids.deposit, "--ledger", ",".join(ids.receipts), "--config", ran
    )
    assert code == 0, err


def test_book_marks_an_open_bank_row_once(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    code, _, err = run_cli(capsys, "review", "book", ids.fee, "--note", "bank fee rule", "--config", ran)
    assert code == 0, err
    assert query(store, "SELECT action, bank_txn_ids, ledger_entry_ids, note FROM review_decisions") == [
        ("book", [ids.fee], [], "bank fee rule")
    ]
    code, _, err = run_cli(capsys, "review", "book", ids.fee, "--config", ran)
    assert code == 2
    assert "already marked" in err
    auto_row = query(
        store, "SELECT bank_txn_id FROM match_links JOIN matches USING (match_id) WHERE status = 'auto' LIMIT 1"
    )[0][0]
    code, _, err = run_cli(capsys, "review", "book", str(auto_row), "--config", ran)
    assert code == 2
    assert "already matched" in err
    # a rerun keeps the mark
    assert run_cli(capsys, "run", "--config", ran)[0] == 0
    assert query(store, "SELECT count(*) FROM review_decisions WHERE action = 'book'") == [(1,)]


def test_review_commands_need_a_store(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "review", "confirm", "abc", "--config", demo / "recon.toml")
    assert code == 2
    assert "no store yet" in err
    assert not (demo / "recon.duckdb").exists()


def test_a_hand_match_names_the_engine_matches_it_replaces(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    ((auto_match, auto_row),) = query(
        store, "SELECT match_id, bank_txn_id FROM match_links JOIN matches USING (match_id) "
        "WHERE status = 'auto' AND kind = '1:1' ORDER BY match_id LIMIT 1",
    )  # fmt: skip
    code, out, err = run_cli(
        capsys, "review", "match", "--bank", str(auto_row), "--ledger", ids.open_ledger, "--allow-difference",
        "--config", ran,
    )  # fmt: skip
    assert code == 0, err
    assert f"it replaced engine match(es) {auto_match} (auto)" in out
    # the page's reply too; here the person's match holds exactly the rows of the engine's suggestion
    with open_store(store) as opened:
        message = perform(
            opened, "match", {"bank_ids": [ids.deposit], "ledger_ids": list(ids.receipts)}, by="ana"
        )  # fmt: skip
    assert f"it replaced engine match(es) {ids.batched_suggestion} (suggested)" in message


def test_confirming_or_rejecting_twice_records_one_decision(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    assert run_cli(capsys, "review", "confirm", ids.gsuite_suggestion, "--config", ran)[0] == 0
    code, out, err = run_cli(capsys, "review", "confirm", ids.gsuite_suggestion, "--config", ran)
    assert code == 0, err
    assert f"match {ids.gsuite_suggestion} was already confirmed; nothing changed" in out
    assert run_cli(capsys, "review", "reject", ids.initech_suggestion, "--config", ran)[0] == 0
    code, out, err = run_cli(capsys, "review", "reject", ids.initech_suggestion, "--config", ran)
    assert code == 0, err
    assert f"match {ids.initech_suggestion} was already rejected; nothing changed" in out
    with open_store(store) as opened:  # a second click on the page
        again = perform(opened, "confirm", {"match_id": ids.gsuite_suggestion}, by="ana")
        assert again == f"match {ids.gsuite_suggestion} was already confirmed; nothing changed"
        again = perform(opened, "reject", {"match_id": ids.initech_suggestion}, by="ana")
        assert again == f"match {ids.initech_suggestion} was already rejected; nothing changed"
    assert query(store, "SELECT action, match_id FROM review_decisions ORDER BY action") == [
        ("confirm", ids.gsuite_suggestion), ("reject", ids.initech_suggestion)
    ]  # fmt: skip


def test_a_hand_match_of_a_confirmed_matchs_own_rows_is_refused(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    ((bank_row, ledger_row),) = query(
        store, "SELECT bank_txn_id, ledger_entry_id FROM match_links WHERE match_id = ?", [ids.gsuite_suggestion]
    )
    assert run_cli(capsys, "review", "confirm", ids.gsuite_suggestion, "--by", "ana", "--config", ran)[0] == 0
    code, _, err = run_cli(
        capsys, "review", "match", "--bank", str(bank_row), "--ledger", str(ledger_row), "--by", "bob", "--config", ran
    )
    assert code == 2
    assert f"these rows already are confirmed match {ids.gsuite_suggestion}" in err
    assert query(store, "SELECT origin, status FROM matches WHERE match_id = ?", [ids.gsuite_suggestion]) == [
        ("engine", "confirmed")
    ]


def test_book_refuses_a_row_no_rule_categorizes(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)  # the 1730.00 deposit: no rule matches it
    assert query(store, "SELECT count(*) FROM categorizations WHERE txn_id = ?", [ids.deposit]) == [(0,)]
    code, _, err = run_cli(capsys, "review", "book", ids.deposit, "--config", ran)
    assert code == 2
    assert f"no rule categorizes bank row(s) {ids.deposit}: write or fix a rule first" in err
    assert "Traceback" not in err
    with open_store(store) as opened, pytest.raises(UserError, match="no rule categorizes"):
        perform(opened, "book", {"bank_ids": [ids.deposit]}, by="ana")
    assert query(store, "SELECT count(*) FROM review_decisions") == [(0,)]
