"""Write-back into a beancount book.

- A matched posting is marked cleared: its transaction's flag `!` becomes `*` (a
  posting's own `!` too), and the posting gets `bank-id: "ID"` metadata on a new
  line below it (several ids, space-separated, for an N:1 match). Nothing else on
  those lines moves.
- New entries are appended to `recon.beancount` beside the main file, each with a
  link `^bank-ID` and the `bank-id` metadata on the bank posting, and one posting
  per other side (several for a split); accounts they use that the book does not
  open get an `open` (dated like the bank account's).
- The closing balance becomes `DATE balance ACCOUNT AMOUNT CUR`, dated the day
  after the statement's date: beancount checks a balance at the start of its day.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from importers.beancount_ledger import PADDING_FLAG, load_book
from importers.book_rows import BookPosting
from recon.money import format_minor
from recon.writeback.base import BookError, ClosingBalance, NewEntry, WritebackRequest, WritePlan
from recon.writeback.book_check import put_back, refused
from recon.writeback.text_book import BookState, TextBookSink
from recon.writeback.textfile import LineEdits

__all__ = ["BeancountSink"]

_HEADER_FLAG = re.compile(r"^(\d{4}-\d{2}-\d{2}[ \t]+)!")
_POSTING_FLAG = re.compile(r"^([ \t]+)!([ \t]+)")
_LINK_UNSAFE = re.compile(r"[^A-Za-z0-9\-_/.]")


class BeancountSink(TextBookSink):
    recon_file_name = "recon.beancount"

    def read_book(self) -> BookState:
        from beancount.core import data

        book = load_book(self.book)
        postings = book.postings()
        padding = [
            _balance_only(self.book, e.date, p.account, p.units.number, p.units.currency)
            for e in book.entries
            if isinstance(e, data.Transaction) and e.flag == PADDING_FLAG
            for p in e.postings
            if p.units is not None and isinstance(p.units.number, Decimal)
        ]
        opened = {e.account: e.date for e in book.entries if isinstance(e, data.Open)}
        self._opening: set[str] = set()
        return BookState(postings, postings + padding, [str(p) for p in book.problems], opened)

    def apply(self, plan: WritePlan) -> None:
        """Write, then load the book with beancount: what beancount refuses is put back as it was."""
        super().apply(plan)
        problems = load_book(self.book).problems
        if not problems:
            return
        put_back(plan)
        raise refused(self.book, tool="beancount", message="; ".join(str(p) for p in problems[:5]))

    def clear_posting(self, edits: LineEdits, posting: BookPosting, bank_ids: tuple[str, ...]) -> None:
        header = edits.line(posting.line)
        if _HEADER_FLAG.match(header):
            edits.replace(posting.line, _HEADER_FLAG.sub(r"\g<1>*", header, count=1))
        text = edits.line(posting.posting_line)
        if _POSTING_FLAG.match(text):
            edits.replace(posting.posting_line, _POSTING_FLAG.sub(r"\g<1>*\g<2>", text, count=1))
        if not set(bank_ids) <= set(posting.bank_ids):
            indent = text[: len(text) - len(text.lstrip())]
            edits.insert_after(posting.posting_line, f'{indent}  bank-id: "{" ".join(bank_ids)}"')

    def entry_lines(self, entry: NewEntry, request: WritebackRequest, state: BookState) -> list[str]:
        postings = [(beancount_account(account), amount) for account, amount in entry.postings]
        lines: list[str] = []
        for counter in dict.fromkeys(account for account, _ in postings):
            if counter not in state.opened and counter not in self._opening:
                opened_on = min(state.opened.get(request.ledger_account, entry.date), entry.date)
                lines.append(f"{opened_on.isoformat()} open {counter}")
                self._opening.add(counter)
        strings = " ".join(f'"{_string(s)}"' for s in (entry.payee, entry.narration) if s is not None)
        link = "^bank-" + _LINK_UNSAFE.sub("-", entry.bank_id)
        amount = format_minor(entry.amount_minor, entry.currency)
        lines += [
            f"{entry.date.isoformat()} * {strings} {link}",
            f"  {request.ledger_account}  {amount} {entry.currency}",
            f'    bank-id: "{entry.bank_id}"',
        ]
        lines += [f"  {counter}  {format_minor(part, entry.currency)} {entry.currency}" for counter, part in postings]
        return lines

    def balance_lines(self, closing: ClosingBalance, request: WritebackRequest, state: BookState) -> list[str]:
        day_after = closing.as_of + timedelta(days=1)
        amount = format_minor(closing.amount_minor, closing.currency)
        return [f"{day_after.isoformat()} balance {request.ledger_account}  {amount} {closing.currency}"]

    def include_line(self) -> str:
        return f'include "{self.recon_file_name}"'

    def is_include_of_recon_file(self, line: str) -> bool:
        return re.match(rf'^include[ \t]+"(\./)?{re.escape(self.recon_file_name)}"', line) is not None


def _balance_only(book: Path, day: date, account: str, quantity: Decimal, commodity: str) -> BookPosting:
    """A posting beancount inserted for a `pad`: part of the balance, never a row."""
    return BookPosting(
        file=book, line=0, posting_line=0, date=day, account=account, quantity=quantity, commodity=commodity,
        description="", counterparty=None, reference=None, external_id=None, bank_ids=(), cleared=True, raw="",
    )  # fmt: skip


_ROOTS = ("Assets", "Liabilities", "Equity", "Income", "Expenses")


def beancount_account(name: str) -> str:
    """An account name as beancount spells it: 'Expenses:Merchant Fees' -> 'Expenses:Merchant-Fees'.

    Rule files and other books allow spaces and punctuation in account names; beancount allows
    letters, digits and '-' in each component, starting with a capital or a digit. A name whose
    root is not one of beancount's five cannot be written and is refused.
    """
    parts = [re.sub(r"[^A-Za-z0-9-]+", "-", part.strip()).strip("-") for part in name.split(":")]
    parts = [p[:1].upper() + p[1:] for p in parts if p]
    if not parts or parts[0] not in _ROOTS or len(parts) < 2:
        raise BookError(f"account '{name}' cannot be written to a beancount book: it must start with one of "
                        f"{', '.join(_ROOTS)} and name a sub-account, e.g. 'Expenses:Bank-Fees'")  # fmt: skip
    return ":".join(parts)


def _string(text: str) -> str:
    """Text safe inside a beancount string: no quotes, backslashes or line breaks."""
    return " ".join(text.replace("\\", "/").replace('"', "'").split())
