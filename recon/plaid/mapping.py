"""Plaid's transactions and balances in recon's terms: the BANK_EXTRACT row, recon's sign, exact money.

Plaid says a positive amount is money out of the account; recon says money in is positive,
so every amount changes sign. Amounts arrive as JSON numbers: they are read back exactly with
`Decimal(str(x))` (the shortest text that gives the same number, i.e. what Plaid wrote) and
refused, never rounded, when they have more decimals than the currency. The currency is
`iso_currency_code`, else `unofficial_currency_code`.

A row's `external_id` is Plaid's `transaction_id`; `raw` keeps the whole transaction as Plaid
sent it, `pending_transaction_id` included. Nothing here touches the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl

from recon.config import AccountSettings
from recon.errors import Problem
from recon.model import BANK_EXTRACT
from recon.money import AmountError, to_minor

__all__ = ["PENDING_OF", "SyncChanges", "balance_rows", "bank_rows", "merge_pages"]

PENDING_OF = "pending_of"
"""Extra column of `bank_rows`: the `pending_transaction_id` of a posted row (dropped before storing)."""

# Balances of these account types are what the holder owes: negative from the account's point of view.
_OWED_TYPES = {"credit", "loan"}


@dataclass(frozen=True, slots=True)
class SyncChanges:
    """What a whole sync (every page) says changed; a later page wins over an earlier one.

    Attributes:
      upserts: added or modified transactions, each once, in its latest state.
      removed: `{"account_id", "transaction_id"}` of the transactions to delete.
      accounts: the accounts of the last page that named them, with their balances.
      modified_ids: transaction ids Plaid reported as modified.
    """

    upserts: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    modified_ids: frozenset[str]


def merge_pages(pages: list[dict[str, Any]]) -> SyncChanges:
    latest: dict[str, dict[str, Any]] = {}
    removed: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}
    modified: set[str] = set()
    for page in pages:
        for account in page.get("accounts") or []:
            accounts[account["account_id"]] = account
        for kind in ("added", "modified"):
            for txn in page.get(kind) or []:
                removed.pop(txn["transaction_id"], None)
                latest.pop(txn["transaction_id"], None)  # re-insert: keep the order of the last change
                latest[txn["transaction_id"]] = txn
                if kind == "modified":
                    modified.add(txn["transaction_id"])
        for gone in page.get("removed") or []:
            latest.pop(gone["transaction_id"], None)
            removed[gone["transaction_id"]] = gone
    return SyncChanges(list(latest.values()), list(removed.values()), list(accounts.values()), frozenset(modified))


def _jsonable(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _currency(body: Mapping[str, Any]) -> str | None:
    return body.get("iso_currency_code") or body.get("unofficial_currency_code")


def _exact_minor(value: object, currency: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise AmountError(f"'{value}' is not a number")
    try:
        return to_minor(Decimal(str(value)), currency)
    except InvalidOperation:
        raise AmountError(f"'{value}' is not a finite number") from None


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _payee(txn: Mapping[str, Any]) -> str | None:
    if txn.get("merchant_name"):
        return str(txn["merchant_name"])
    names = [c.get("name") for c in txn.get("counterparties") or [] if c.get("name")]
    return str(names[0]) if names else None


def bank_rows(
    transactions: list[dict[str, Any]], *, accounts: Mapping[str, AccountSettings], source: str
) -> tuple[pl.DataFrame, list[Problem]]:
    """BANK_EXTRACT rows plus `account_id` and `pending_of`, for the transactions of known accounts.

    `accounts` maps Plaid account ids to recon accounts; transactions of other Plaid accounts of
    the Item are left out. Every transaction that cannot be taken exactly is a `Problem`.
    """
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for txn in transactions:
        account = accounts.get(txn["account_id"])
        if account is None:
            continue
        where = f"transaction {txn['transaction_id']}"
        currency = _currency(txn)
        if currency is None:
            problems.append(Problem(source, None, "iso_currency_code", "no currency code at all", where))
            continue
        if currency != account.currency:
            problems.append(
                Problem(
                    source, None, "iso_currency_code",
                    f"'{currency}' differs from the currency of account '{account.id}' ({account.currency})", where,
                )
            )  # fmt: skip
            continue
        try:
            amount_minor = -_exact_minor(txn["amount"], currency)  # Plaid: positive = money out
        except AmountError as exc:
            problems.append(Problem(source, None, "amount", str(exc), where))
            continue
        meta = txn.get("payment_meta") or {}
        rows.append(
            {
                "account_id": account.id,
                "external_id": txn["transaction_id"],
                "posted_date": _as_date(txn["date"]),
                "amount_minor": amount_minor,
                "currency": currency,
                "description": txn.get("name") or txn.get("merchant_name") or txn.get("original_description") or "",
                "payee": _payee(txn),
                "reference": meta.get("reference_number"),
                "check_number": txn.get("check_number"),
                "transaction_type": txn.get("transaction_code") or txn.get("payment_channel"),
                "pending": bool(txn["pending"]),
                "source_file": source,
                "source_element": where,
                "raw": json.dumps(txn, default=_jsonable),
                PENDING_OF: None if txn["pending"] else txn.get("pending_transaction_id"),
            }
        )
    schema = {**BANK_EXTRACT.polars_schema, "account_id": pl.String(), PENDING_OF: pl.String()}
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return frame, problems


def balance_rows(
    plaid_accounts: list[dict[str, Any]], *, accounts: Mapping[str, AccountSettings], as_of: date, source: str
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """The balances of known accounts as statement balances: `current` is the closing balance of
    `as_of` (posted rows only, as Plaid computes it), `available` the available one."""
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for body in plaid_accounts:
        account = accounts.get(body["account_id"])
        balances = body.get("balances") or {}
        if account is None:
            continue
        currency = _currency(balances) or account.currency
        sign = -1 if str(body.get("type")) in _OWED_TYPES else 1
        for kind, key in (("closing", "current"), ("available", "available")):
            if balances.get(key) is None:
                continue
            try:
                amount_minor = sign * _exact_minor(balances[key], currency)
            except AmountError as exc:
                problems.append(Problem(source, None, f"balances.{key}", str(exc), f"account {body['account_id']}"))
                continue
            rows.append(
                {
                    "account_id": account.id, "as_of": as_of, "kind": kind, "amount_minor": amount_minor,
                    "currency": currency, "source_file": source,
                }
            )  # fmt: skip
    return rows, problems
