"""`recon explain` tells how a match was made; `recon undo` reverses a decision or an import batch, keeping the log."""

from __future__ import annotations

from pathlib import Path

import pytest

import recon.batch_undo
from tests.helpers import snapshot
from tests.review_rows import demo_review, query, run_cli


@pytest.fixture
def ran(demo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    config = demo / "recon.toml"
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    return config


def _decision_ids(store: Path, action: str) -> list[str]:
    return [str(r[0]) for r in query(store, "SELECT decision_id FROM review_decisions WHERE action = ?", [action])]


def test_explain_shows_score_reasons_rows_with_their_source_and_the_run(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    code, out, err = run_cli(capsys, "explain", ids.batched_suggestion, "--config", ran)
    assert code == 0, err
    assert f"match {ids.batched_suggestion}" in out
    assert "status:   suggested (made by the engine)" in out
    assert "kind:     1:N" in out
    score = query(store, "SELECT score FROM matches WHERE match_id = ?", [ids.batched_suggestion])[0][0]
    assert f"score:    {score:.4f}" in out
    assert "    - amount equal to the sum of 2 rows" in out  # each part of the reasons on its own line
    for amount, description in (("1730.00 USD", "DEPOSIT"), ("1200.00 USD", "Hooli"), ("530.00 USD", "Wayne Foods")):
        line = next(li for li in out.splitlines() if amount in li)
        assert description in line
    assert "from bank/northwind-checking_2026-07_2026-08.ofx:" in out
    assert "from ledger/gl.csv:" in out
    assert "none: no person has decided on this match" in out
    run_id = query(store, "SELECT run_id FROM matches WHERE match_id = ?", [ids.batched_suggestion])[0][0]
    assert f"{run_id}  recon run" in out


def test_explain_lists_who_decided_what_and_when(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = demo_review(ran.parent / "recon.duckdb")
    run_cli(capsys, "review", "confirm", ids.gsuite_suggestion, "--by", "ana", "--note", "same sub", "--config", ran)
    code, out, _ = run_cli(capsys, "explain", ids.gsuite_suggestion, "--config", ran)
    assert code == 0
    assert "status:   confirmed" in out
    assert "confirm by ana: same sub" in out
    decision = _decision_ids(ran.parent / "recon.duckdb", "confirm")[0]
    assert f"decision {decision}" in out


def test_undo_confirm_makes_it_a_suggestion_again_and_logs_the_undo(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    run_cli(capsys, "review", "confirm", ids.gsuite_suggestion, "--config", ran)
    confirm = _decision_ids(store, "confirm")[0]

    code, _, err = run_cli(capsys, "undo", confirm, "--by", "bo", "--note", "wrong month", "--config", ran)
    assert code == 0, err
    assert query(store, "SELECT status FROM matches WHERE match_id = ?", [ids.gsuite_suggestion]) == [("suggested",)]
    log = query(store, "SELECT decision_id, action, decided_by, note FROM review_decisions ORDER BY decided_at")
    assert log[0][:2] == (confirm, "confirm")  # the original stays
    assert log[1] == (f"undo-{confirm}", "undo", "bo", "wrong month")

    code, _, err = run_cli(capsys, "undo", confirm, "--config", ran)
    assert (code, "already undone" in err) == (2, True)
    code, _, err = run_cli(capsys, "undo", f"undo-{confirm}", "--config", ran)
    assert (code, "itself an undo" in err) == (2, True)
    code, _, err = run_cli(capsys, "undo", "no-such-decision", "--config", ran)
    assert (code, "no-such-decision" in err) == (2, True)


def test_undo_a_hand_match_opens_its_rows_and_a_reject_is_undone_only_after_what_followed_it(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    run_cli(capsys, "review", "reject", ids.batched_suggestion, "--config", ran)
    code, _, err = run_cli(
        capsys, "review", "match", "--bank", ids.deposit, "--ledger", ",".join(ids.receipts), "--config", ran
    )
    assert code == 0, err
    reject, match = _decision_ids(store, "reject")[0], _decision_ids(store, "match")[0]

    code, _, err = run_cli(capsys, "undo", reject, "--config", ran)
    assert code == 2
    assert match in err  # names the later decision to undo first

    assert run_cli(capsys, "undo", match, "--config", ran)[0] == 0
    # the hand match had the rejected suggestion's id (same rows): both are gone, the rows are open
    held = "SELECT count(*) FROM match_links WHERE bank_txn_id = ? OR list_contains(?, ledger_entry_id)"
    assert query(store, held, [ids.deposit, list(ids.receipts)]) == [(0,)]
    assert run_cli(capsys, "undo", reject, "--config", ran)[0] == 0
    assert query(store, "SELECT count(*) FROM review_decisions") == [(4,)]


def test_a_rerun_may_propose_a_pair_again_once_its_reject_is_undone(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    run_cli(capsys, "review", "reject", ids.batched_suggestion, "--config", ran)
    assert run_cli(capsys, "undo", _decision_ids(store, "reject")[0], "--config", ran)[0] == 0
    assert run_cli(capsys, "run", "--config", ran)[0] == 0
    assert query(store, "SELECT status FROM matches WHERE match_id = ?", [ids.batched_suggestion]) == [("suggested",)]


def _batch_of(store: Path, txn_id: str) -> str:
    return str(query(store, "SELECT batch_id FROM bank_transactions WHERE txn_id = ?", [txn_id])[0][0])


def test_undo_batch_removes_its_rows_and_engine_matches_and_keeps_the_logs(
    ran: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    batch = _batch_of(store, ids.deposit)
    rows = query(store, "SELECT count(*) FROM bank_transactions WHERE batch_id = ?", [batch])[0][0]
    batches_before = query(store, "SELECT count(*) FROM import_batches")

    code, out, err = run_cli(capsys, "undo", "--batch", batch, "--note", "wrong file", "--config", ran)
    assert code == 0, err
    assert f"{rows} bank rows" in out
    assert query(store, "SELECT count(*) FROM bank_transactions WHERE batch_id = ?", [batch]) == [(0,)]
    dangling = """SELECT count(*) FROM match_links l JOIN matches m USING (match_id)
                  WHERE l.bank_txn_id NOT IN (SELECT txn_id FROM bank_transactions)"""
    assert query(store, dangling) == [(0,)]
    rows_left = "(SELECT txn_id FROM bank_transactions UNION ALL SELECT entry_id FROM ledger_entries)"
    for table, column in (("open_items", "row_id"), ("categorizations", "txn_id")):
        assert query(store, f"SELECT count(*) FROM {table} WHERE {column} NOT IN {rows_left}") == [(0,)], table
    assert query(store, "SELECT count(*) FROM matches WHERE match_id = ?", [ids.batched_suggestion]) == [(0,)]
    assert query(store, "SELECT count(*) FROM import_batches") == batches_before
    logged = query(store, "SELECT action, cardinality(bank_txn_ids), note FROM review_decisions")
    assert logged[0][:2] == ("undo_batch", rows)
    assert batch in str(logged[0][2])
    assert "wrong file" in str(logged[0][2])

    code, _, err = run_cli(capsys, "undo", "--batch", "no-such-batch", "--config", ran)
    assert (code, "no-such-batch" in err) == (2, True)


def test_undo_batch_refuses_rows_people_decided_on(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    run_cli(capsys, "review", "match", "--bank", ids.deposit, "--ledger", ",".join(ids.receipts), "--config", ran)
    before = snapshot(store)
    code, _, err = run_cli(capsys, "undo", "--batch", _batch_of(store, ids.deposit), "--config", ran)
    assert code == 2
    assert "undo those decisions first" in err
    assert snapshot(store) == before


def test_undo_batch_is_one_transaction(
    ran: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ran.parent / "recon.duckdb"
    batch = _batch_of(store, demo_review(store).deposit)
    before = snapshot(store), query(store, "SELECT count(*) FROM review_decisions")

    class Clock:
        @staticmethod
        def now(tz: object = None) -> None:
            raise RuntimeError("killed while logging the undo")

    monkeypatch.setattr(recon.batch_undo, "datetime", Clock)  # fails after every delete ran
    with pytest.raises(RuntimeError):
        run_cli(capsys, "undo", "--batch", batch, "--config", ran)
    assert (snapshot(store), query(store, "SELECT count(*) FROM review_decisions")) == before


def test_undo_needs_a_decision_or_a_batch(ran: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "undo", "--config", ran)
    assert (code, "DECISION_ID or --batch" in err) == (2, True)
