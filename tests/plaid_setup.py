"""Building blocks of the Plaid tests: a config pointing at the local server, the environment with
the secrets, and the bank's truth next to what the store holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from recon.store import Store
from tests.plaid_server import CLIENT_ID, SECRET, FakeAccount, FakeBank, PlaidServer

TOKEN_MAIN = "access-sandbox-5e1f0c9a-main-b2d4"
TOKEN_OTHER = "access-sandbox-77aa31c0-other-e9f1"
MAIN_ENV = "PLAID_TOKEN_MAIN"
OTHER_ENV = "PLAID_TOKEN_OTHER"

CHECKING = FakeAccount("BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp", "Checking", Decimal("2500.00"))
SAVINGS = FakeAccount("dVzbVMLjrxTnLjX4G66XUp5GLklm4oiZy88yK", "Savings", Decimal("10000.00"), mask="1111")
CARD = FakeAccount("q4Zm8bKx1jFyMzl6rQ3oTnV0pA7sWc2dEh9uG", "Everyday Card", Decimal("0.00"), mask="2222")

ACCOUNT_OF = {CHECKING.account_id: "checking", SAVINGS.account_id: "savings", CARD.account_id: "card"}


def main_bank(seed: int = 11) -> FakeBank:
    return FakeBank(TOKEN_MAIN, seed, [CHECKING, SAVINGS])


def other_bank(seed: int = 23) -> FakeBank:
    return FakeBank(TOKEN_OTHER, seed, [CARD])


def write_config(folder: Path, server: PlaidServer, *, other: bool = False) -> Path:
    """recon.toml with the main Item's two accounts (and the other Item's card)."""
    text = f"""
[store]
path = "recon.duckdb"

[[accounts]]
id = "checking"
currency = "USD"
ledger_account = "Assets:Bank:Checking"

[[accounts]]
id = "savings"
currency = "USD"

[[accounts]]
id = "card"
currency = "USD"

[[sources]]
account = "checking"
format = "plaid"
access_token_env = "{MAIN_ENV}"
plaid_account_id = "{CHECKING.account_id}"
host = "{server.url}"

[[sources]]
account = "savings"
format = "plaid"
access_token_env = "{MAIN_ENV}"
plaid_account_id = "{SAVINGS.account_id}"
host = "{server.url}"
"""
    if other:
        text += f"""
[[sources]]
account = "card"
format = "plaid"
access_token_env = "{OTHER_ENV}"
host = "{server.url}"
"""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "recon.toml"
    path.write_text(text, encoding="utf-8")
    return path


def plaid_env(*, other: bool = False) -> dict[str, str]:
    env = {"PLAID_CLIENT_ID": CLIENT_ID, "PLAID_SECRET": SECRET, MAIN_ENV: TOKEN_MAIN}
    if other:
        env[OTHER_ENV] = TOKEN_OTHER
    return env


def truth(*banks: FakeBank) -> list[tuple[Any, ...]]:
    """What the store must hold: (account, transaction_id, amount_minor in recon's sign, pending, date, name)."""
    rows = []
    for bank in banks:
        for t in bank.current.values():
            cents = -int(Decimal(str(t["amount"])) * 100)
            rows.append((ACCOUNT_OF[t["account_id"]], t["transaction_id"], cents, t["pending"], t["date"], t["name"]))
    return sorted(rows)


@contextmanager
def _connection(source: Path | Store) -> Iterator[duckdb.DuckDBPyConnection]:
    """The open store's own connection, or a read-only one on a store file no process holds."""
    if isinstance(source, Store):
        yield source.con
        return
    con = duckdb.connect(str(source), read_only=True)
    try:
        yield con
    finally:
        con.close()


def stored(source: Path | Store) -> list[tuple[Any, ...]]:
    with _connection(source) as con:
        return sorted(
            con.execute(
                "SELECT account_id, external_id, amount_minor, pending, strftime(posted_date, '%Y-%m-%d'), description "
                "FROM bank_transactions"
            ).fetchall()
        )


def cursor_of(source: Path | Store, item_key: str = MAIN_ENV) -> str | None:
    with _connection(source) as con:
        row = con.execute("SELECT cursor FROM plaid_items WHERE item_key = ?", [item_key]).fetchall()
        return row[0][0] if row else None
