"""SWIFT MT940 (customer statement) and MT942 (interim report) bank files.

Written here rather than with the `mt-940` package: that package fails on 2 of the 13
real files of the corpus (ING's `:28C:` split over two lines, SNS's 18-character
customer reference) and gives no line numbers, which every Problem must carry.

Fields read (everything else stays in `raw` or is ignored):

- `:25:` account (a currency glued to its end is dropped), `:28C:` statement number;
- `:60F:`/`:60M:` opening, `:62F:`/`:62M:` closing, `:64:` available balance;
- `:61:` one statement line = one row: value date, optional entry date (MMDD, the year
  taken nearest to the value date), mark `C`/`D`/`RC`/`RD`, optional funds code letter,
  amount with a decimal comma (exact), type code, customer reference `//` bank
  reference, and the supplementary details on the next line;
- `:86:` following a `:61:` (several `:86:` fields in a row are joined), interpreted by
  `importers.mt940_info`; Sberbank's `:NS:` sub-fields where a `:86:` is missing;
- `:34F:` gives the currency of an MT942 report, which has no balances.

Signs: `C` and `RD` (reversal of a debit) put money in, `D` and `RC` take it out; a
reversal is marked in `transaction_type` ("NTRF reversal"). The posted date is the
entry date where given, else the value date. MT942 rows are not flagged pending: their
entries are booked, the report is only interim.

External id: the bank reference after `//` in `:61:` when it means something (not empty,
`NONREF` or all zeros); otherwise none, and recon's content hash identifies the row.
Text encoding: see `importers.text_decoding`.

A statement whose opening balance plus its movements is not its closing balance is read
with a warning (`Extract.notes`: its lines and both figures; a movement may be missing).
Refused: a file cut short, whose last statement has an opening balance but no closing one
and no terminator, or whose SWIFT message lacks its `-}`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from importers.bank_rows import bank_frame, drop_repeated_external_ids
from importers.base import Extract, Side, StatementBalance, read_head
from importers.mt940_info import Information, read_information
from importers.swift_fields import SwiftField, SwiftStatement, split_statements
from importers.text_decoding import decode_bank_text
from recon.errors import Problem
from recon.money import AmountError, format_minor, parse_amount

__all__ = ["Mt940Importer"]

_IDENTIFY = (re.compile(r"(?m)^:20:"), re.compile(r"(?m)^:25:"), re.compile(r"(?m)^:(6[01][FM]?|34F):"))
_BALANCE = re.compile(r"^(?P<mark>[DC])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>.*)$")
_STATEMENT_LINE = re.compile(
    r"^(?P<value_date>\d{6})(?P<entry_date>\d{4})?(?P<mark>R?[DC])(?P<funds_code>[A-Z])?"
    r"(?P<amount>[^A-Z]*)(?P<type>[A-Z][A-Z0-9 ]{3})(?P<rest>.*)$"
)
_FLOOR_LIMIT = re.compile(r"^(?P<currency>[A-Z]{3})")
_BALANCE_KINDS = {"60F": "opening", "60M": "opening", "62F": "closing", "62M": "closing", "64": "available"}
_NO_REFERENCE = {"", "NONREF"}
_MONEY_IN = {"C", "RD"}


class Mt940Importer:
    format = "mt940"
    side: Side = "bank"

    def identify(self, path: Path) -> bool:
        head = read_head(path).decode("latin-1").replace("\r", "")
        return all(pattern.search(head) for pattern in _IDENTIFY)

    def extract(self, path: Path, *, currency: str) -> Extract:
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Extract(bank_frame([]), [Problem(name, None, None, f"cannot read the file: {exc.strerror}")])
        text, encoding = decode_bank_text(data)
        statements = split_statements(text)
        if not statements:
            problem = Problem(name, None, None, "no MT940/MT942 statement found: expected a ':20:' field")
            return Extract(bank_frame([]), [problem])
        extract = Extract(bank_frame([]))
        records: list[dict[str, Any]] = []
        seen: Counter[str | None] = Counter()  # statements per account so far
        for index, statement in enumerate(statements, start=1):
            reader = _StatementReader(name, currency, encoding, extract.problems)
            problems_before = len(extract.problems)
            rows = reader.read(statement, index)
            if len(extract.problems) == problems_before:
                _check_movements(name, statement, reader.balances, rows, extract.notes)
            if index == len(statements):
                _check_whole(name, statement, extract.problems)
            records.extend(row | {"file_account": reader.account or None} for row in rows)
            seen[reader.account] += 1
            extract.balances.extend(
                replace(
                    b,
                    file_account=reader.account or None,
                    statement_seq=seen[reader.account],
                    statement_id=reader.number,
                )
                for b in reader.balances
            )
            if reader.account:
                extract.file_accounts.append(reader.account)
        drop_repeated_external_ids(records)
        extract.rows = bank_frame(records)
        return extract


def _check_whole(name: str, statement: SwiftStatement, problems: list[Problem]) -> None:
    """Refuse a file cut short in its last statement: its envelope or its closing balance is missing."""
    tags = {f.tag for f in statement.fields}
    missing = []
    if statement.terminator is None and tags & {"60F", "60M"} and not tags & {"62F", "62M"}:
        missing.append("the closing balance (:62F:)")  # MT942 reports have no balances to miss
    if statement.enveloped and not (statement.terminator or "").startswith("-}"):
        missing.append("the end of the SWIFT message ('-}')")
    if missing:
        message = f"the file ends before {' and '.join(missing)} of the statement of line {statement.line} (cut short?)"
        problems.append(Problem(name, statement.last_line, None, message))


def _check_movements(
    name: str, statement: SwiftStatement, balances: list[StatementBalance], rows: list[dict[str, Any]],
    notes: list[str],
) -> None:  # fmt: skip
    """Warn when a statement's opening balance plus its movements is not its closing balance: a movement may be
    missing or wrong. The rows are imported all the same (what the bank sent is what it booked); the statement
    report then shows the difference too."""
    opening = next((b for b in balances if b.kind == "opening"), None)
    closing = next((b for b in balances if b.kind == "closing"), None)
    if opening is None or closing is None or opening.currency != closing.currency:
        return
    if any(row["currency"] != opening.currency for row in rows):
        return
    movements = sum(row["amount_minor"] for row in rows)
    if opening.amount_minor + movements == closing.amount_minor:
        return
    currency = opening.currency
    closing_line = next((f.line for f in statement.fields if f.tag in ("62F", "62M")), statement.last_line)
    notes.append(
        f"{name}:{closing_line}: the statement of lines {statement.line}-{statement.last_line} does not add up: "
        f"its opening balance {format_minor(opening.amount_minor, currency)} plus its movements "
        f"{format_minor(movements, currency)} is {format_minor(opening.amount_minor + movements, currency)}, "
        f"but its closing balance is {format_minor(closing.amount_minor, currency)} {currency}: a movement may be "
        "missing or wrong; check the statement with the bank"
    )


@dataclass(slots=True)
class _Transaction:
    """A `:61:` with the `:86:` and `:NS:` lines that follow it."""

    field: SwiftField
    information: list[str]
    ns_lines: list[str]


class _StatementReader:
    """Reads one statement's fields into rows, balances and problems."""

    def __init__(self, name: str, default_currency: str, encoding: str, problems: list[Problem]):
        self.name = name
        self.default_currency = default_currency
        self.encoding = encoding
        self.problems = problems
        self.balances: list[StatementBalance] = []
        self.account: str | None = None
        self.number: str | None = None
        """The statement number and page of `:28C:` ('00012/001')."""

    def read(self, statement: SwiftStatement, index: int) -> list[dict[str, Any]]:
        """The rows of the `index`-th (1-based) statement of the file; balances and problems are collected."""
        reference = ""
        currency = None
        transactions: list[_Transaction] = []
        last: _Transaction | None = None
        for fld in statement.fields:
            value = "".join(line.strip() for line in fld.lines)
            if fld.tag == "20":
                reference = value
            elif fld.tag == "25":
                self.account = value
            elif fld.tag in ("28C", "28"):
                self.number = value or None
            elif fld.tag in _BALANCE_KINDS:
                stated = self._balance(fld, value)
                currency = currency or stated
            elif fld.tag == "34F" and (m := _FLOOR_LIMIT.match(value)):
                currency = currency or m.group("currency")
            elif fld.tag == "61":
                last = _Transaction(fld, [], [])
                transactions.append(last)
                continue
            elif fld.tag == "86" and last is not None:
                last.information.extend(fld.lines)
                continue
            elif fld.tag == "NS" and last is not None:
                last.ns_lines.extend(fld.lines)
                continue
            last = None  # any other field ends what a following :86: could belong to
        currency = (currency or self.default_currency).upper()
        if self.account and self.account.upper().endswith(currency):
            # ':25:NL77INGB0574908765EUR', '1291.99.348EUR', 'BIC/ACCOUNT/HUF'
            self.account = self.account[: -len(currency)].rstrip(" /") or self.account
        rows = [self._row(t, currency, reference, index) for t in transactions]
        return [row for row in rows if row is not None]

    def _problem(self, fld: SwiftField, part: str, message: str) -> None:
        self.problems.append(Problem(self.name, fld.line, f":{fld.tag}: {part}", message))

    def _balance(self, fld: SwiftField, value: str) -> str | None:
        match = _BALANCE.match(value)
        if not match:
            self._problem(fld, "balance", f"'{value}' is not 'C' or 'D', a YYMMDD date, a currency and an amount")
            return None
        currency = match.group("currency")
        as_of = self._date(fld, "date", match.group("date"))
        amount = self._amount(fld, match.group("amount"), currency)
        if as_of is not None and amount is not None:
            sign = 1 if match.group("mark") == "C" else -1
            self.balances.append(StatementBalance(_BALANCE_KINDS[fld.tag], as_of, sign * amount, currency))
        return currency

    def _date(self, fld: SwiftField, part: str, yymmdd: str) -> date | None:
        year = int(yymmdd[:2])
        try:
            # SWIFT writes two-digit years; the corpus reaches back to 1970s-style test data
            return date(2000 + year if year < 70 else 1900 + year, int(yymmdd[2:4]), int(yymmdd[4:6]))
        except ValueError:
            self._problem(fld, part, f"'{yymmdd}' is not a valid YYMMDD date")
            return None

    def _amount(self, fld: SwiftField, text: str, currency: str) -> int | None:
        if text.count(",") != 1:
            self._problem(fld, "amount", f"'{text}' is not an amount with one decimal comma")
            return None
        try:
            amount = parse_amount(text, currency, decimal_mark=",")
        except AmountError as exc:
            self._problem(fld, "amount", str(exc))
            return None
        return amount

    def _entry_date(self, fld: SwiftField, mmdd: str, value_date: date) -> date | None:
        candidates = []
        for year in (value_date.year - 1, value_date.year, value_date.year + 1):
            try:
                candidates.append(date(year, int(mmdd[:2]), int(mmdd[2:])))
            except ValueError:
                continue
        if not candidates:
            self._problem(fld, "entry date", f"'{mmdd}' is not a valid MMDD date")
            return None
        return min(candidates, key=lambda d: abs((d - value_date).days))

    def _row(self, txn: _Transaction, currency: str, statement_ref: str, index: int) -> dict[str, Any] | None:
        fld = txn.field
        first, supplementary_lines = fld.lines[0].strip(), [line.strip() for line in fld.lines[1:]]
        match = _STATEMENT_LINE.match(first)
        if not match:
            self._problem(fld, "statement line", f"'{first}' is not date, C/D mark, amount and type code")
            return None
        value_date = self._date(fld, "value date", match.group("value_date"))
        amount = self._amount(fld, match.group("amount"), currency)
        if value_date is None or amount is None:
            return None
        posted: date | None = value_date
        if match.group("entry_date"):
            posted = self._entry_date(fld, match.group("entry_date"), value_date)
        if posted is None:
            return None
        mark, type_code = match.group("mark"), match.group("type").strip()
        customer_ref, _, bank_ref = match.group("rest").partition("//")
        customer_ref, bank_ref = " ".join(customer_ref.split()), bank_ref.strip()
        supplementary = " ".join(s for s in supplementary_lines if s)
        info = self._information(txn)
        meaningful_customer_ref = customer_ref if customer_ref.upper() not in _NO_REFERENCE else None
        description = _with_supplementary(info.description, supplementary) or meaningful_customer_ref or type_code
        raw = {
            "statement": statement_ref, "statement_index": index,
            "61": fld.lines, "86": txn.information, "NS": txn.ns_lines,
            "mark": mark, "funds_code": match.group("funds_code"), "customer_reference": customer_ref,
            "bank_reference": bank_ref, "supplementary_details": supplementary, "information": info.parts,
            "encoding": self.encoding,
        }  # fmt: skip
        return {
            "external_id": bank_ref if _meaningful_bank_reference(bank_ref) else None,
            "posted_date": posted,
            "value_date": value_date,
            "amount_minor": amount if mark in _MONEY_IN else -amount,
            "currency": currency,
            "description": description,
            "payee": info.payee,
            "reference": info.reference or meaningful_customer_ref,
            "check_number": meaningful_customer_ref if type_code[1:] == "CHK" else None,
            "transaction_type": type_code + (" reversal" if mark.startswith("R") else ""),
            "pending": False,
            "source_file": self.name,
            "source_line": fld.line,
            "source_element": None,
            "raw": json.dumps(raw, ensure_ascii=False),
        }

    def _information(self, txn: _Transaction) -> Information:
        if txn.information:
            return read_information(txn.information)
        if txn.ns_lines:
            # Sberbank Hungary: ':NS:' lines 'NNtext'; 09 is the text, 15/16 the partner's name
            sub = {line[:2]: line[2:].strip() for line in txn.ns_lines if line[:2].isdigit()}
            payee = (sub.get("15", "") + sub.get("16", "")).strip() or None
            return Information(sub.get("09", ""), payee, None, sub)
        return Information("")


def _meaningful_bank_reference(reference: str) -> bool:
    return reference.upper() not in _NO_REFERENCE and set(reference) != {"0"}


def _with_supplementary(description: str, supplementary: str) -> str:
    """The :86: text, led by the :61: supplementary details when they are words it does not already hold.

    Raiffeisen names the kind of transfer only there ('Csoportos átutalás jóváírása');
    ING's '/TRCD/00100/' codes, PostFinance's digit strings and Rabobank's account numbers
    (no word of letters only) are left to `raw`.
    """
    tokens = (token.strip(".,;:-") for token in supplementary.split() if not token.startswith("/"))
    worded = any(len(token) >= 3 and token.isalpha() for token in tokens)
    if not worded or supplementary in description:
        return description
    return f"{supplementary} {description}".strip()
