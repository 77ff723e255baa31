"""Hand-built bank and ledger frames for the matching tests: say only what the test is about."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES

DAY0 = date(2026, 3, 2)


def day(n: int) -> date:
    return DAY0 + timedelta(days=n)


def bank_rows(*rows: dict[str, object]) -> pl.DataFrame:
    """Bank rows; each dict needs id, day, amount (minor units) and may give description, check_number..."""
    full = [
        {
            "txn_id": r["id"], "account_id": r.get("account", "chk"), "posted_date": day(int(r["day"])),  # type: ignore[call-overload]
            "amount_minor": r["amount"], "currency": r.get("currency", "USD"),
            "description": r.get("description", ""), "payee": r.get("payee"), "reference": r.get("reference"),
            "check_number": r.get("check_number"), "pending": False, "source_file": "bank.ofx",
            "batch_id": "b1",
        }
        for r in rows
    ]  # fmt: skip
    return BANK_TRANSACTIONS.conform(pl.DataFrame(full, schema_overrides={"posted_date": pl.Date}))


def ledger_rows(*rows: dict[str, object]) -> pl.DataFrame:
    """Ledger rows; each dict needs id, day, amount and may give description, counterparty, reference."""
    full = [
        {
            "entry_id": r["id"], "account_id": r.get("account", "chk"), "posted_date": day(int(r["day"])),  # type: ignore[call-overload]
            "amount_minor": r["amount"], "currency": r.get("currency", "USD"),
            "description": r.get("description", ""), "counterparty": r.get("counterparty"),
            "reference": r.get("reference"), "source_file": "gl.csv", "batch_id": "l1",
        }
        for r in rows
    ]  # fmt: skip
    return LEDGER_ENTRIES.conform(pl.DataFrame(full, schema_overrides={"posted_date": pl.Date}))


def linked(result_links: pl.DataFrame) -> set[tuple[str, str]]:
    """The (bank id, ledger id) pairs of a result's links."""
    return set(result_links.select("bank_txn_id", "ledger_entry_id").iter_rows())


def status_of(result: object, bank_id: str, ledger_id: str) -> str | None:
    """Status of the match linking the two rows in a MatchResult, None when not linked."""
    links = result.links  # type: ignore[attr-defined]
    matches = result.matches  # type: ignore[attr-defined]
    hit = links.filter((pl.col("bank_txn_id") == bank_id) & (pl.col("ledger_entry_id") == ledger_id))
    if hit.is_empty():
        return None
    return str(matches.filter(pl.col("match_id") == hit["match_id"][0])["status"][0])


def match_of(result: object, bank_id: str, ledger_id: str) -> dict[str, object]:
    links = result.links  # type: ignore[attr-defined]
    matches = result.matches  # type: ignore[attr-defined]
    hit = links.filter((pl.col("bank_txn_id") == bank_id) & (pl.col("ledger_entry_id") == ledger_id))
    return matches.filter(pl.col("match_id") == hit["match_id"][0]).row(0, named=True)
