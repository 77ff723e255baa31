"""The local Plaid's data has Plaid's shape (checked against the spec's schemas and the corpus example),
and recon's reading of it is exact: signs, currencies, pages merged in order."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import plaid
import pytest
from pydantic import ValidationError

from recon.config import AccountSettings, Config
from recon.errors import UserError
from recon.plaid.client import RetryPolicy
from recon.plaid.items import PLAID_HOSTS, plaid_items
from recon.plaid.mapping import PENDING_OF, balance_rows, bank_rows, merge_pages
from tests import plaid_schema
from tests.plaid_server import FakeBank
from tests.plaid_setup import CHECKING, main_bank

EXAMPLE = "plaid/plaid-openapi-transactions_sync-example.json"


def _evolved() -> FakeBank:
    bank = main_bank(seed=5)
    for _ in range(4):
        bank.new_day(new=6)
    pending = bank.add(pending=True, amount=Decimal("12.00"))
    bank.post(pending, tip=Decimal("2.40"))
    return bank


def _pages(bank: FakeBank, size: int = 5) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = json.loads(json.dumps(bank.page(cursor, size, f"req{len(pages)}")))
        pages.append(page)
        if not page["has_more"]:
            return pages
        cursor = page["next_cursor"]


def test_every_generated_page_validates_against_plaids_schema() -> None:
    pages = _pages(_evolved())
    kinds = {k for p in pages for k in ("added", "modified", "removed") if p[k]}
    assert kinds == {"added", "modified", "removed"}
    assert len(pages) > 3
    assert any(t["pending_transaction_id"] for p in pages for t in p["added"])
    for page in pages:
        assert plaid_schema.errors(page) == []


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda b: b.pop("next_cursor"), "<root>: 'next_cursor' is a required property"),
        (lambda b: b["added"][0].pop("pending"), "'pending' is a required property"),
        (lambda b: b["added"][0].update(amount="72.10"), "'72.10' is not of type 'number'"),
        (lambda b: b["added"][0].update(date="2026-02-30"), "'2026-02-30' is not a 'date'"),
        (lambda b: b["removed"].append({"transaction_id": "x"}), "'account_id' is a required property"),
        (lambda b: b.update(has_more="false"), "'false' is not of type 'boolean'"),
    ],
)
def test_a_spoiled_fixture_fails_validation(spoil: Any, expected: str) -> None:
    body = _pages(_evolved(), size=1000)[0]
    assert plaid_schema.errors(body) == []
    spoil(body)
    assert any(expected in e for e in plaid_schema.errors(body))


def test_the_generated_data_has_the_fields_of_plaids_own_example(corpus: Path) -> None:
    example = json.loads((corpus / EXAMPLE).read_text(encoding="utf-8"))
    assert plaid_schema.errors(example) == []
    page = _pages(_evolved(), size=1000)[0]
    assert set(page) == set(example)
    assert list(page["added"][0]) == list(example["added"][0])
    assert set(page["accounts"][0]) == set(example["accounts"][0])
    assert set(page["accounts"][0]["balances"]) == set(example["accounts"][0]["balances"])
    assert set(page["removed"][0]) == set(example["removed"][0])


def test_plaids_own_example_maps_to_recon_rows(corpus: Path) -> None:
    example = json.loads((corpus / EXAMPLE).read_text(encoding="utf-8"))
    account = AccountSettings(id="checking", currency="USD")
    changes = merge_pages([example])
    rows, problems = bank_rows(changes.upserts, accounts={CHECKING.account_id: account}, source="plaid:X")
    assert problems == []
    by_id = {r["external_id"]: r for r in rows.iter_rows(named=True)}
    walmart = by_id["lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje"]
    assert (walmart["amount_minor"], walmart["pending"], walmart["payee"]) == (-7210, False, "Walmart")
    assert walmart[PENDING_OF] == "no86Eox18VHMvaOVL7gPUM9ap3aR1LsAVZ5nc"
    assert json.loads(walmart["raw"])["pending_transaction_id"] == walmart[PENDING_OF]
    doordash = by_id["yhnUVvtcGGcCKU0bcz8PDQr5ZUxUXebUvbKC0"]
    assert (doordash["amount_minor"], doordash["pending"], doordash[PENDING_OF]) == (-2834, True, None)
    assert changes.removed == example["removed"]
    balances, _ = balance_rows(
        example["accounts"], accounts={CHECKING.account_id: account}, as_of=date(2023, 9, 30), source="plaid:X"
    )
    assert {(b["kind"], b["amount_minor"]) for b in balances} == {("closing", 11094), ("available", 11094)}


def _txn(**fields: Any) -> dict[str, Any]:
    base = {
        "account_id": "a1", "transaction_id": "t1", "amount": 1.0, "iso_currency_code": "USD",
        "unofficial_currency_code": None, "date": date(2026, 3, 1), "pending": False, "name": "X",
    }  # fmt: skip
    return {**base, **fields}


@pytest.mark.parametrize(
    ("fields", "currency", "minor"),
    [
        ({"amount": 0.1 + 0.2 - 0.3 + 1234.56}, "USD", -123456),  # float noise that still reads back as 1234.56
        ({"amount": -2500.0}, "USD", 250000),  # a deposit
        ({"amount": 1200.0, "iso_currency_code": "JPY"}, "JPY", -1200),
        ({"amount": 1.234, "iso_currency_code": "BHD"}, "BHD", -1234),
        ({"amount": 3, "iso_currency_code": None, "unofficial_currency_code": "CNH"}, "CNH", -300),
    ],
)
def test_amounts_are_exact_and_signed_as_recon_signs(fields: dict[str, Any], currency: str, minor: int) -> None:
    accounts = {"a1": AccountSettings(id="acct", currency=currency)}
    rows, problems = bank_rows([_txn(**fields)], accounts=accounts, source="plaid:X")
    assert problems == []
    assert rows["amount_minor"].to_list() == [minor]
    assert rows["currency"].to_list() == [currency]


def test_amounts_that_would_need_rounding_are_refused() -> None:
    accounts = {"a1": AccountSettings(id="acct", currency="USD")}
    rows, problems = bank_rows(
        [_txn(amount=0.005), _txn(transaction_id="t2", iso_currency_code=None)], accounts=accounts, source="plaid:X"
    )
    assert rows.height == 0
    assert [str(p) for p in problems] == [
        "plaid:X: transaction t1: field 'amount': '0.005' has more than 2 decimals for USD",
        "plaid:X: transaction t2: field 'iso_currency_code': no currency code at all",
    ]


def test_pages_merge_in_order_later_pages_winning() -> None:
    gone_b, gone_c = {"account_id": "a1", "transaction_id": "b"}, {"account_id": "a1", "transaction_id": "c"}
    pages = [
        {"added": [_txn(transaction_id="a"), _txn(transaction_id="b")], "modified": [], "removed": []},
        {"added": [], "modified": [_txn(transaction_id="a", name="Y")], "removed": [gone_b]},
        {"added": [_txn(transaction_id="b", name="again")], "modified": [], "removed": [gone_c]},
    ]
    changes = merge_pages(pages)
    assert [(t["transaction_id"], t["name"]) for t in changes.upserts] == [("a", "Y"), ("b", "again")]
    assert [r["transaction_id"] for r in changes.removed] == ["c"]
    assert changes.modified_ids == {"a"}


def test_owed_balances_are_negative() -> None:
    card = {"account_id": "c1", "type": "credit", "balances": {"current": 410.5, "available": None,
            "iso_currency_code": "USD", "unofficial_currency_code": None}}  # fmt: skip
    rows, _ = balance_rows([card], accounts={"c1": AccountSettings(id="card", currency="USD")},
                           as_of=date(2026, 3, 1), source="plaid:X")  # fmt: skip
    assert [(r["kind"], r["amount_minor"]) for r in rows] == [("closing", -41050)]


def test_hosts_are_plaids() -> None:
    assert {"sandbox": plaid.Environment.Sandbox, "production": plaid.Environment.Production} == PLAID_HOSTS


def test_retry_settings_from_the_environment() -> None:
    assert RetryPolicy.from_environment({"RECON_PLAID_RETRY_DELAY": "0.25"}).first_delay == 0.25
    assert list(RetryPolicy(attempts=5, first_delay=1, max_delay=3).delays()) == [1, 2, 3, 3]
    with pytest.raises(UserError, match="RECON_PLAID_RETRY_ATTEMPTS: 'many' is not a number"):
        RetryPolicy.from_environment({"RECON_PLAID_RETRY_ATTEMPTS": "many"})


def _config(*sources: dict[str, Any]) -> Config:
    return Config.model_validate(
        {"accounts": [{"id": "a", "currency": "USD"}, {"id": "b", "currency": "USD"}], "sources": list(sources)}
    )


def _source(account: str, plaid_account_id: str | None = None, **more: str) -> dict[str, Any]:
    found = {"account": account, "format": "plaid", "access_token_env": "T", **more}
    return {**found, "plaid_account_id": plaid_account_id} if plaid_account_id else found


def test_sources_of_one_token_form_one_item() -> None:
    items = plaid_items(_config(_source("a", "p1", environment="sandbox"), _source("b", "p2", environment="sandbox")))
    assert [(i.key, i.host, sorted(i.accounts)) for i in items] == [("T", plaid.Environment.Sandbox, ["p1", "p2"])]


def test_contradicting_sources_of_one_item_are_refused_by_the_config() -> None:
    with pytest.raises(ValidationError, match=r"Item T is synced from https://production.plaid.com by an earlier"):
        _config(_source("a", "p1"), _source("b", "p2", environment="sandbox"))
    with pytest.raises(ValidationError, match=r"Item T: an earlier source without plaid_account_id takes all its"):
        _config(_source("a"), _source("b", "p2"))
    with pytest.raises(ValidationError, match=r"Item T: earlier sources take some of its accounts"):
        _config(_source("a", "p1"), _source("b"))
    with pytest.raises(ValidationError, match=r"Item T: an earlier source takes its account 'p1'"):
        _config(_source("a", "p1"), _source("b", "p1"))


def test_the_timeout_of_one_attempt_from_the_environment() -> None:
    assert RetryPolicy().timeout == 30
    assert RetryPolicy.from_environment({"RECON_PLAID_TIMEOUT": "2.5"}).timeout == 2.5
    with pytest.raises(UserError, match="RECON_PLAID_TIMEOUT: '0' is too small"):
        RetryPolicy.from_environment({"RECON_PLAID_TIMEOUT": "0"})
