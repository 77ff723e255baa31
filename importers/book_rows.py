"""Postings of a text book (beancount, hledger/ledger journals) as normalized ledger rows.

Both book importers read their format into `BookPosting`s, one per posting of any
account; this module turns them into the `LEDGER_EXTRACT` frame. The import
service keeps the rows of the bank's GL account (`ledger_account`) and drops the
rest, so a posting of another account never refuses a book: an amount that does
not fit the minor unit is a Problem only in the account's own currency (money),
never for a stock or another commodity.

Identity: a book has no id of its own for most entries, so `external_id` is left
empty (the import service then hashes date, amount, description and the count of
earlier identical rows) unless the format gives a durable one (a beancount link).
Line numbers, cleared marks and the `bank-id` metadata that write-back adds are
never part of the identity: write-back must not turn a known entry into a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from importers.base import Extract
from recon.errors import Problem
from recon.model import LEDGER_EXTRACT
from recon.money import AmountError, to_minor

__all__ = ["BANK_ID_KEY", "BookPosting", "book_extract", "currency_of"]

BANK_ID_KEY = "bank-id"
"""Metadata key / tag write-back puts on a posting: the bank ids it was matched or written for."""

_SYMBOLS = {"€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "CHF": "CHF"}


@dataclass(frozen=True, slots=True)
class BookPosting:
    """One posting of a book, with where it is written.

    Attributes:
      file: the file the posting is written in (an included file, maybe).
      line: 1-based line of its transaction's first line in `file`.
      posting_line: 1-based line of the posting itself.
      date: the transaction's date.
      account: the posting's account.
      quantity: its amount, exact.
      commodity: its commodity as written ('$', 'USD', 'HOOL').
      description: payee and narration / the description.
      counterparty: the payee, where the format keeps it apart.
      reference: a check number or code.
      external_id: a durable id the book gives the entry, if any.
      bank_ids: bank ids write-back recorded on the posting (`bank-id`), space-separated in the book.
      cleared: whether the book marks it cleared.
      raw: the transaction's first line and the posting's line, for audit.
    """

    file: Path
    line: int
    posting_line: int
    date: date
    account: str
    quantity: Decimal
    commodity: str
    description: str
    counterparty: str | None
    reference: str | None
    external_id: str | None
    bank_ids: tuple[str, ...]
    cleared: bool
    raw: str


def currency_of(commodity: str, account_currency: str) -> str:
    """ISO code of a commodity as written: '$' is the account's dollar, '€' EUR; codes stay as they are."""
    if commodity == "$":
        return account_currency if account_currency.endswith("D") else "USD"
    return _SYMBOLS.get(commodity, commodity)


def book_extract(postings: list[BookPosting], *, main_file: Path, currency: str) -> tuple[Extract, list[BookPosting]]:
    """The ledger rows of `postings`, and the postings kept, aligned with the rows."""
    rows: list[dict[str, object]] = []
    kept: list[BookPosting] = []
    problems: list[Problem] = []
    for p in postings:
        row_currency = currency_of(p.commodity, currency)
        try:
            amount = to_minor(p.quantity, row_currency)
        except AmountError as exc:
            if row_currency == currency:
                problems.append(Problem(str(p.file), p.posting_line, "amount", str(exc)))
            continue  # a stock or fund quantity: not money of a bank account
        included = None if p.file == main_file else f"included file {p.file.name}"
        rows.append(
            {
                "external_id": p.external_id, "posted_date": p.date, "amount_minor": amount,
                "currency": row_currency, "description": p.description, "counterparty": p.counterparty,
                "reference": p.reference, "ledger_account": p.account, "source_file": str(p.file),
                "source_line": p.line, "source_element": included, "raw": p.raw,
            }
        )  # fmt: skip
        kept.append(p)
    frame = pl.DataFrame(rows, schema=LEDGER_EXTRACT.polars_schema) if rows else LEDGER_EXTRACT.empty_frame()
    return Extract(frame, problems), kept
