"""The Plaid sync against a local server that speaks Plaid's wire format, through the real plaid-python client.

Nightly syncs of evolving data end with exactly what the bank holds; pending rows give way to
their posted rows; the matches of those rows are carried over or dropped, and recorded; faults
(429, 5xx, a mutation during pagination, a response missing a field, an Item whose login expired)
are retried or reported, one Item's failure never costing the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from recon.config import Config, load_config
from recon.matching import run_matching
from recon.model import LEDGER_ENTRIES
from recon.plaid import ItemReport, failed_items_error, sync_plaid_sources
from recon.plaid.client import RetryPolicy
from recon.review import match_by_hand
from recon.store import Store, open_store
from tests import plaid_schema
from tests.plaid_server import PlaidServer
from tests.plaid_setup import (
    MAIN_ENV,
    OTHER_ENV,
    TOKEN_MAIN,
    TOKEN_OTHER,
    cursor_of,
    main_bank,
    other_bank,
    plaid_env,
    stored,
    truth,
    write_config,
)
from tests.rules_support import set_by_person

FAST = RetryPolicy(attempts=4, first_delay=0.001, max_delay=0.01)


class Feed:
    """A local Plaid with the main Item (and the other one), a config, a store."""

    def __init__(self, folder: Path, *, other: bool = False):
        self.main = main_bank()
        self.other = other_bank()
        self.server = PlaidServer([self.main, self.other], page_size=4)
        self.config: Config = load_config(write_config(folder, self.server, other=other))
        self.env = plaid_env(other=other)
        self.store: Store = open_store(self.config.store_path)
        self.nights = 0

    def sync(self) -> list[ItemReport]:
        self.nights += 1
        return sync_plaid_sources(self.store, self.config, run_id=f"night-{self.nights}", environ=self.env, retry=FAST)

    def txn_id(self, external_id: str) -> str:
        found = self.store.query("SELECT txn_id FROM bank_transactions WHERE external_id = ?", [external_id])
        assert found.height == 1, f"{external_id} stored {found.height} times"
        return str(found["txn_id"][0])

    def close(self) -> None:
        self.store.close()
        self.server.close()


@pytest.fixture
def feed(tmp_path: Path) -> Iterator[Feed]:
    f = Feed(tmp_path)
    yield f
    f.close()


@pytest.fixture
def two_items(tmp_path: Path) -> Iterator[Feed]:
    f = Feed(tmp_path, other=True)
    yield f
    f.close()


def _ok(reports: list[ItemReport]) -> ItemReport:
    assert [r.error for r in reports] == [None] * len(reports)
    return reports[0]


def test_three_nightly_syncs_end_with_exactly_what_the_bank_holds(feed: Feed) -> None:
    bank = feed.main
    bank.new_day(new=6)
    bank.new_day(new=6)
    tipped = bank.add(pending=True, amount=Decimal("42.50"))
    cancelled = bank.add(pending=True, amount=Decimal("9.99"))

    # night 1: the whole history, many pages, after two rate-limit answers
    feed.server.fail(status=429, error_type="RATE_LIMIT_EXCEEDED", error_code="TRANSACTIONS_SYNC_LIMIT", times=2)
    first = _ok(feed.sync())
    assert first.pages > 3
    assert stored(feed.store) == truth(bank)

    # night 2: a pending row posted with a tip, one cancelled; the data changes during paging; a 500
    posted = bank.post(tipped, tip=Decimal("8.50"))
    bank.remove(cancelled)
    bank.new_day(new=8)
    feed.server.fail(
        status=400, error_type="TRANSACTIONS_ERROR", error_code="TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
        page=2, then=lambda: bank.add(pending=False),
    )  # fmt: skip
    feed.server.fail(status=500, page=3)
    second = _ok(feed.sync())
    assert second.restarts == 1
    assert second.posted >= 1
    assert second.removed >= 1
    assert stored(feed.store) == truth(bank)
    rows = feed.store.query("SELECT external_id, amount_minor, pending FROM bank_transactions")
    assert tipped not in rows["external_id"]
    assert cancelled not in rows["external_id"]
    assert rows.filter(pl.col("external_id") == posted).rows() == [(posted, -5100, False)]

    # night 3: more of the same
    bank.new_day(new=7)
    _ok(feed.sync())
    assert stored(feed.store) == truth(bank)
    ids = feed.store.query("SELECT external_id FROM bank_transactions")["external_id"]
    assert ids.n_unique() == ids.len() == len(bank.current)
    # no pending row stays beside its posted row
    raw = feed.store.query("SELECT raw FROM bank_transactions WHERE NOT pending")["raw"]
    successors_of = {t["pending_transaction_id"] for t in bank.current.values() if t["pending_transaction_id"]}
    assert successors_of
    assert not successors_of & set(ids)
    assert all('"pending_transaction_id"' in r for r in raw)

    # every body the server sent has Plaid's shape
    assert len(feed.server.responses) >= 8
    for body in feed.server.responses:
        assert plaid_schema.errors(body) == []


def test_a_second_sync_without_news_changes_nothing(feed: Feed) -> None:
    feed.main.new_day(new=10)
    _ok(feed.sync())
    before = stored(feed.store)
    again = _ok(feed.sync())
    assert (again.added, again.modified, again.removed, again.pages) == (0, 0, 0, 1)
    assert stored(feed.store) == before


def test_the_mutation_restart_starts_again_from_the_stored_cursor(feed: Feed) -> None:
    feed.main.new_day(new=5)
    _ok(feed.sync())
    start = cursor_of(feed.store)
    feed.main.new_day(new=12)
    feed.server.fail(
        status=400, error_type="TRANSACTIONS_ERROR", error_code="TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION",
        page=3, then=lambda: feed.main.add(pending=True),
    )  # fmt: skip
    feed.server.requests.clear()
    report = _ok(feed.sync())
    cursors = [r.get("cursor") for r in feed.server.requests]
    assert report.restarts == 1
    assert cursors[0] == start
    assert cursors[3] == start
    assert stored(feed.store) == truth(feed.main)


def test_amounts_turn_sign_and_stay_exact(feed: Feed) -> None:
    bank = feed.main
    out = bank.add(pending=False, amount=Decimal("1234.57"))
    deposit = bank.add(pending=False, amount=Decimal("-0.10"))
    _ok(feed.sync())
    rows = dict(feed.store.query("SELECT external_id, amount_minor FROM bank_transactions").iter_rows())
    assert rows[out] == -123457  # Plaid: positive = money out
    assert rows[deposit] == 10
    balances = feed.store.query("SELECT account_id, kind, amount_minor FROM statement_balances ORDER BY ALL")
    checking = bank.balance(bank.accounts[0], with_pending=False)
    assert ("checking", "closing", int(checking * 100)) in balances.rows()


def _ledger(store: Store, *rows: tuple[str, str, int, str]) -> None:
    frame = pl.DataFrame(
        [
            {"entry_id": e, "account_id": "checking", "external_id": e, "posted_date": date.fromisoformat(d),
             "amount_minor": a, "currency": "USD", "description": text, "source_file": "gl.csv", "batch_id": "b0"}
            for e, d, a, text in rows
        ]
    )  # fmt: skip
    store.con.register("new_ledger", LEDGER_ENTRIES.conform(frame).to_arrow())
    store.con.execute("INSERT INTO ledger_entries SELECT * FROM new_ledger")
    store.con.unregister("new_ledger")


def _engine_match(store: Store, match_id: str, bank_txn_id: str, entry_id: str) -> None:
    """An engine match on a row: today's matcher leaves pending rows alone, an older store may not have."""
    store.con.execute(
        "INSERT INTO matches VALUES (?, 'checking', 'auto', '1:1', 0.95, 'same amount', 'engine', 'r0', now())",
        [match_id],
    )
    store.con.execute("INSERT INTO match_links VALUES (?, ?, ?, 0, 0)", [match_id, bank_txn_id, entry_id])


def test_matches_of_pending_rows_are_carried_or_dropped_and_recorded(feed: Feed) -> None:
    bank = feed.main
    checking = bank.accounts[0]
    by_person = bank.add(pending=True, amount=Decimal("42.50"), account=checking)
    by_engine = bank.add(pending=True, amount=Decimal("19.99"), account=checking)
    cancelled = bank.add(pending=True, amount=Decimal("7.00"), account=checking)
    _ok(feed.sync())
    day = bank.day.isoformat()
    _ledger(
        feed.store,
        ("L1", day, -4250, "Doordash dinner"), ("L2", day, -1999, "Amazon order"), ("L3", day, -700, "Coffee"),
    )  # fmt: skip
    person_match = match_by_hand(feed.store, [feed.txn_id(by_person)], ["L1"], by="alice").match_id
    match_by_hand(feed.store, [feed.txn_id(cancelled)], ["L3"], by="alice")
    _engine_match(feed.store, "m-engine", feed.txn_id(by_engine), "L2")

    posted_person = bank.post(by_person, tip=Decimal("8.50"))
    posted_engine = bank.post(by_engine)
    bank.remove(cancelled)
    report = _ok(feed.sync())
    assert (report.posted, report.removed) == (2, 1)

    # the person's match now holds the posted row, its difference showing the tip
    links = feed.store.query(
        "SELECT bank_txn_id, ledger_entry_id, amount_diff_minor FROM match_links WHERE match_id = ?", [person_match]
    )
    assert links.rows() == [(feed.txn_id(posted_person), "L1", -850)]
    status = feed.store.query("SELECT status FROM matches WHERE match_id = ?", [person_match])["status"].to_list()
    assert status == ["confirmed"]
    # the engine's match and the cancelled row's match are gone: their ledger rows are open again
    assert feed.store.query("SELECT * FROM matches WHERE match_id = 'm-engine'").is_empty()
    held = set(feed.store.query("SELECT ledger_entry_id FROM match_links")["ledger_entry_id"])
    assert held == {"L1"}
    events = feed.store.query(
        "SELECT event, external_id, successor_external_id, old_amount_minor, new_amount_minor, match_action, "
        "ledger_entry_ids FROM plaid_row_events WHERE match_id IS NOT NULL ORDER BY external_id"
    )
    assert sorted(events.rows()) == sorted(
        [
            ("posted", by_person, posted_person, -4250, -5100, "carried", ["L1"]),
            ("posted", by_engine, posted_engine, -1999, -1999, "dropped", ["L2"]),
            ("removed", cancelled, None, -700, None, "dropped", ["L3"]),
        ]
    )
    # the next match run matches the posted row the engine had matched as pending
    run_matching(feed.store, settings=feed.config.matching, run_id="after-sync")
    rematched = feed.store.query(
        "SELECT m.status FROM matches m JOIN match_links l USING (match_id) WHERE l.bank_txn_id = ? "
        "AND l.ledger_entry_id = 'L2'",
        [feed.txn_id(posted_engine)],
    )
    assert rematched["status"].to_list() in (["auto"], ["suggested"])


def test_a_persons_category_of_a_pending_row_moves_to_the_posted_row(feed: Feed) -> None:
    bank = feed.main
    checking = bank.accounts[0]
    dinner = bank.add(pending=True, amount=Decimal("42.50"), account=checking)
    cancelled = bank.add(pending=True, amount=Decimal("7.00"), account=checking)
    _ok(feed.sync())
    set_by_person(feed.store, feed.txn_id(dinner), category="Expenses:Meals", payee="Doordash")
    set_by_person(feed.store, feed.txn_id(cancelled), category="Expenses:Coffee")

    posted = bank.post(dinner, tip=Decimal("8.50"))
    bank.remove(cancelled)
    _ok(feed.sync())

    categorized = feed.store.query("SELECT txn_id, origin, category, payee FROM categorizations")
    assert categorized.rows() == [(feed.txn_id(posted), "person", "Expenses:Meals", "Doordash")]


def test_an_item_that_fails_does_not_stop_the_others(two_items: Feed) -> None:
    two_items.main.new_day(new=5)
    two_items.other.new_day(new=5)
    two_items.server.fail(
        token=TOKEN_OTHER, status=400, error_type="ITEM_ERROR", error_code="ITEM_LOGIN_REQUIRED",
        message="the login details of this item have changed (credentials, MFA, or required user action) and a "
        "user login is required to update this information",
    )  # fmt: skip
    reports = two_items.sync()
    by_item = {r.item: r for r in reports}
    assert by_item[MAIN_ENV].error is None
    assert by_item[MAIN_ENV].added > 0
    other = by_item[OTHER_ENV]
    assert other.error_code == "ITEM_LOGIN_REQUIRED"
    assert other.user_fixable
    assert "Plaid Link in update mode" in (other.error or "")
    assert stored(two_items.store) == truth(two_items.main)
    assert cursor_of(two_items.store, OTHER_ENV) is None
    error = failed_items_error(reports)
    assert error is not None
    assert error.exit_code == 2
    assert OTHER_ENV in str(error)
    # fixed: the next sync brings the other Item in too
    reports = two_items.sync()
    assert failed_items_error(reports) is None
    assert stored(two_items.store) == truth(two_items.main, two_items.other)


def test_server_errors_are_retried_with_backoff_then_reported(feed: Feed) -> None:
    feed.main.new_day(new=3)
    feed.server.fail(status=503, error_code="INSTITUTION_DOWN", error_type="INSTITUTION_ERROR", times=10)
    waits: list[float] = []
    reports = sync_plaid_sources(
        feed.store, feed.config, run_id="r", environ=feed.env,
        retry=RetryPolicy(attempts=3, first_delay=0.5, max_delay=10), sleep=waits.append,
    )  # fmt: skip
    assert waits == [0.5, 1.0]
    assert len(feed.server.requests) == 3
    report = reports[0]
    assert report.error_code == "INSTITUTION_DOWN"
    assert not report.user_fixable
    assert "HTTP 503" in (report.error or "")
    assert "failed 3 attempts" in (report.error or "")
    assert stored(feed.store) == []
    failure = feed.store.query("SELECT cursor, last_status, last_error FROM plaid_items").rows()
    assert failure == [(None, "failed", report.error)]
    assert failed_items_error(reports).exit_code == 1  # type: ignore[union-attr]


def test_a_response_missing_a_required_field_is_refused_and_nothing_stored(feed: Feed) -> None:
    feed.main.new_day(new=3)
    _ok(feed.sync())
    before, cursor = stored(feed.store), cursor_of(feed.store)
    feed.main.new_day(new=9)
    feed.server.fail(page=2, drop_field="next_cursor")
    report = feed.sync()[0]
    assert report.error_code == "UNREADABLE_RESPONSE"
    assert "required field is missing: 'next_cursor'" in (report.error or "")
    assert stored(feed.store) == before
    assert cursor_of(feed.store) == cursor
    _ok(feed.sync())
    assert stored(feed.store) == truth(feed.main)


def test_missing_environment_variables_are_named(feed: Feed) -> None:
    feed.env.pop("PLAID_SECRET")
    report = feed.sync()[0]
    assert report.user_fixable
    assert report.error == "environment variable PLAID_SECRET is not set"
    feed.env["PLAID_SECRET"] = "x"
    feed.env.pop(MAIN_ENV)
    report = feed.sync()[0]
    assert report.user_fixable
    assert f"environment variable {MAIN_ENV}" in (report.error or "")


def test_a_transaction_in_another_currency_refuses_the_item(feed: Feed, tmp_path: Path) -> None:
    txn = feed.main.current[feed.main.add(pending=False, account=feed.main.accounts[0])]
    feed.main.modify(txn["transaction_id"], iso_currency_code="EUR")
    report = feed.sync()[0]
    assert report.user_fixable
    assert "'EUR' differs from the currency of account 'checking'" in (report.error or "")
    assert stored(feed.store) == []


def test_tokens_never_reach_the_reports_or_logs_even_when_plaid_echoes_them(
    feed: Feed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # plaid's and urllib3's loggers included
    secret = feed.env["PLAID_SECRET"]
    feed.server.fail(
        status=400, error_type="INVALID_INPUT", error_code="INVALID_ACCESS_TOKEN",
        message=f"provided token {TOKEN_MAIN} is not valid for client secret {secret}",
    )  # fmt: skip
    report = feed.sync()[0]
    assert report.error_code == "INVALID_ACCESS_TOKEN"
    assert "***" in (report.error or "")
    feed.main.new_day(new=3)
    _ok(feed.sync())
    seen = (report.error or "") + caplog.text + repr(report) + str(feed.store.query("SELECT * FROM plaid_items").rows())
    assert TOKEN_MAIN not in seen
    assert secret not in seen


def test_a_changed_amount_drops_engine_matches_and_keeps_a_persons(feed: Feed) -> None:
    bank = feed.main
    checking = bank.accounts[0]
    pending = bank.add(pending=True, amount=Decimal("20.00"), account=checking)
    posted = bank.add(pending=False, amount=Decimal("30.00"), account=checking)
    _ok(feed.sync())
    day = bank.day.isoformat()
    _ledger(feed.store, ("L1", day, -2000, "Lunch"), ("L2", day, -3000, "Fuel"))
    person_match = match_by_hand(feed.store, [feed.txn_id(pending)], ["L1"], by="bob").match_id
    _engine_match(feed.store, "m-engine", feed.txn_id(posted), "L2")
    set_by_person(feed.store, feed.txn_id(posted), category="Expenses:Fuel")
    bank.modify(pending, amount=22.0)
    bank.modify(posted, amount=31.0)
    report = _ok(feed.sync())
    assert (report.modified, report.matches_dropped, report.matches_carried) == (2, 1, 1)
    # a modified row is the same row: what a person said of it stays
    category = feed.store.query("SELECT category FROM categorizations WHERE txn_id = ?", [feed.txn_id(posted)])
    assert category.rows() == [("Expenses:Fuel",)]
    diff = feed.store.query("SELECT amount_diff_minor FROM match_links WHERE match_id = ?", [person_match])
    assert diff.rows() == [(-200,)]
    assert feed.store.query("SELECT * FROM matches WHERE match_id = 'm-engine'").is_empty()
    events = feed.store.query(
        "SELECT external_id, old_amount_minor, new_amount_minor, match_action FROM plaid_row_events ORDER BY 1"
    )
    assert sorted(events.rows()) == sorted([(pending, -2000, -2200, "kept"), (posted, -3000, -3100, "dropped")])
