"""hledger and ledger-cli journals as the book side: one ledger row per posting.

The journal is read by `importers.journal_syntax` (a small parser of the common
subset both tools accept), never by running a tool, so a machine without hledger
reads the same rows. The row's description is the transaction's description, its
counterparty the payee part of `payee | note`, its reference the `(code)`.
"""

from __future__ import annotations

from pathlib import Path

from importers.base import Extract, Side, read_head
from importers.book_rows import BANK_ID_KEY, BookPosting, book_extract
from importers.journal_syntax import JournalBook, parse_journal

__all__ = ["HledgerJournal", "journal_postings"]

_SUFFIXES = (".journal", ".hledger", ".ledger", ".lgr", ".j", ".dat")


class HledgerJournal:
    format = "hledger"
    side: Side = "ledger"

    def identify(self, path: Path) -> bool:
        if path.suffix.lower() not in _SUFFIXES:
            return False
        head = read_head(path).decode("utf-8", errors="replace")
        return any(line[:4].isdigit() and line[4:5] in "-/." for line in head.splitlines())

    def extract(self, path: Path, *, currency: str) -> Extract:
        book = parse_journal(path)
        extract, _ = book_extract(journal_postings(book), main_file=path, currency=currency)
        extract.problems[:0] = book.problems
        return extract


def journal_postings(book: JournalBook) -> list[BookPosting]:
    """Every posting with an amount, in parse order (includes followed where they stand)."""
    out: list[BookPosting] = []
    for txn in book.transactions:
        payee, bar, _ = txn.description.partition("|")
        for p in txn.postings:
            if p.quantity is None or p.commodity is None:
                continue  # elided among several commodities: no amount recon can state
            if p.asserts_balance and p.quantity == 0:
                continue  # `ACCOUNT  $0 = $123.45` only asserts a balance (recon writes these): not an entry
            bank_ids = p.tags.get(BANK_ID_KEY) or txn.tags.get(BANK_ID_KEY, "")  # postings inherit tags
            out.append(
                BookPosting(
                    file=txn.file, line=txn.line, posting_line=p.line, date=txn.date, account=p.account,
                    quantity=p.quantity, commodity=p.commodity, description=txn.description,
                    counterparty=payee.strip() if bar else None, reference=txn.code or None, external_id=None,
                    bank_ids=tuple(bank_ids.split()), cleared=(p.status or txn.status) == "*",
                    raw=f"{txn.header}\n{p.text}",
                )
            )  # fmt: skip
    return out
