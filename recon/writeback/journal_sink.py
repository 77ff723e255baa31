"""Write-back into an hledger / ledger-cli journal, in the syntax both tools accept.

- A matched posting is marked cleared: its transaction's status becomes `*` (a
  `!` is replaced; no mark gets `* ` inserted after the date), a posting's own `!`
  becomes `*`, and a comment line `; bank-id: ID` is inserted below the posting
  (a tag in hledger, metadata in ledger).
- New entries are appended to `recon.journal` beside the main file, included once
  from the end of it, with one posting per other side (several for a split);
  amounts are written in the commodity style the account's postings use
  (`$12.34`, `12.34 USD`).
- The closing balance is a cleared transaction with one zero posting carrying an
  assertion (`ACCOUNT  $0 = $123.45`), dated the statement's date and written at
  the end of the book. ledger checks assertions in file order, so it is written
  only when no entry of the account is dated after it.
- After writing, hledger (else ledger) reads the journal: what it refuses (a
  false assertion, an entry it cannot balance) is put back as it was and raised as
  a `BookError` (`recon.writeback.book_check`). Without either tool the journal is
  written unchecked, and the plan says so.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from importers.book_rows import BookPosting
from importers.hledger_journal import journal_postings
from importers.journal_syntax import parse_journal
from recon.money import format_minor
from recon.writeback.base import ClosingBalance, NewEntry, WritebackRequest, WritePlan
from recon.writeback.book_check import UNCHECKED_NOTE, journal_check, journal_checker, put_back, refused
from recon.writeback.text_book import BookState, TextBookSink
from recon.writeback.textfile import LineEdits

__all__ = ["JournalSink"]

_HEADER = re.compile(r"^(?P<dates>\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:=\S+)?)(?P<gap>[ \t]+)(?P<status>[*!])?")
_POSTING_FLAG = re.compile(r"^([ \t]+)!")


class JournalSink(TextBookSink):
    recon_file_name = "recon.journal"
    assertions_in_file_order = True

    def read_book(self) -> BookState:
        book = parse_journal(self.book)
        postings = journal_postings(book)
        return BookState(postings, postings, [str(p) for p in book.problems])

    def plan(self, request: WritebackRequest) -> WritePlan:
        plan = super().plan(request)
        if plan.file_changes and journal_checker() is None:
            plan.preview = f"; {UNCHECKED_NOTE}\n{plan.preview}"
            first = next((i for i, item in enumerate(plan.items) if item.status == "change"), None)
            if first is not None:  # once, in the write-back log
                plan.items[first] = replace(plan.items[first], note=UNCHECKED_NOTE)
        return plan

    def apply(self, plan: WritePlan) -> None:
        """Write, then check the journal with hledger (else ledger): what the tool refuses is put back."""
        super().apply(plan)
        command = journal_checker()
        if command is None or not plan.file_changes:
            return
        complaint = journal_check(command, self.book)
        if complaint is None:
            return
        put_back(plan)
        if journal_check(command, self.book) is not None:  # not recon's doing: say so
            complaint = f"it refuses the book without recon's changes too: {complaint}"
        raise refused(self.book, tool=Path(command[0]).name, message=complaint)

    def clear_posting(self, edits: LineEdits, posting: BookPosting, bank_ids: tuple[str, ...]) -> None:
        header = edits.line(posting.line)
        m = _HEADER.match(header)
        if m and m.group("status") != "*":
            if m.group("status") == "!":
                start = m.start("status")
                edits.replace(posting.line, header[:start] + "*" + header[start + 1 :])
            else:
                end = m.end("gap")
                edits.replace(posting.line, header[:end] + "* " + header[end:])
        elif m is None and _is_bare_date(header):
            edits.replace(posting.line, header.rstrip() + " *")
        text = edits.line(posting.posting_line)
        if _POSTING_FLAG.match(text):
            edits.replace(posting.posting_line, _POSTING_FLAG.sub(r"\g<1>*", text, count=1))
        if not set(bank_ids) <= set(posting.bank_ids):
            indent = text[: len(text) - len(text.lstrip())]
            edits.insert_after(posting.posting_line, f"{indent}  ; bank-id: {' '.join(bank_ids)}")

    def entry_lines(self, entry: NewEntry, request: WritebackRequest, state: BookState) -> list[str]:
        parts = [_text(s) for s in (entry.payee, entry.narration) if s]
        description = " | ".join(parts) if len(parts) == 2 else (parts[0] if parts else "bank entry")
        style = _amount_style(state.postings, request.ledger_account)
        lines = [
            f"{entry.date.isoformat()} * {description}",
            f"    {request.ledger_account}  {style(entry.amount_minor, entry.currency)}",
            f"      ; bank-id: {entry.bank_id}",
        ]
        lines += [f"    {counter}  {style(amount, entry.currency)}" for counter, amount in entry.postings]
        return lines

    def balance_lines(self, closing: ClosingBalance, request: WritebackRequest, state: BookState) -> list[str]:
        style = _amount_style(state.postings, request.ledger_account)
        zero, balance = style(0, closing.currency), style(closing.amount_minor, closing.currency)
        return [
            f"{closing.as_of.isoformat()} * recon: bank statement closing balance",
            f"    {request.ledger_account}  {zero} = {balance}",
        ]

    def include_line(self) -> str:
        return f"include {self.recon_file_name}"

    def is_include_of_recon_file(self, line: str) -> bool:
        return re.match(rf"^include[ \t]+(\./)?{re.escape(self.recon_file_name)}[ \t]*$", line) is not None


def _is_bare_date(header: str) -> bool:
    return re.fullmatch(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:=\S+)?", header.strip()) is not None


def _text(text: str) -> str:
    """Text safe in a journal description: one line, no ';' (it would start a comment), no '|'."""
    return " ".join(text.replace(";", ",").replace("|", "/").split())


def _amount_style(postings: list[BookPosting], account: str) -> _Style:
    commodity = next((p.commodity for p in reversed(postings) if p.account == account), None)
    return _Style(commodity)


class _Style:
    """Writes amounts as the account's postings do: a symbol before (`-$1.50`), a code after (`-1.50 USD`)."""

    def __init__(self, commodity: str | None):
        self.commodity = commodity

    def __call__(self, amount_minor: int, currency: str) -> str:
        number = format_minor(amount_minor, currency)
        symbol = self.commodity
        if symbol and not symbol.isalpha() and not symbol.startswith('"'):
            sign, digits = ("-", number[1:]) if number.startswith("-") else ("", number)
            return f"{sign}{symbol}{digits}"
        return f"{number} {symbol if symbol and symbol.isalpha() else currency}"
