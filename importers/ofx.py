"""OFX / QFX / QBO bank and credit-card statements (OFX 1.x SGML and 2.x XML).

The file is read into an element tree with line numbers (`importers.ofx_sgml`);
this module maps the statements in it to the normalized bank rows:

- Every STMTRS (bank) and CCSTMTRS (credit card) statement is read, with all its
  BANKTRANLIST blocks (some banks write several in one statement).
- FITID -> external_id, TRNTYPE -> transaction_type, CHECKNUM -> check_number,
  REFNUM -> reference, NAME (or PAYEE/NAME) -> payee, NAME + MEMO -> description,
  DTAVAIL -> value_date, the line of each <STMTTRN> -> source_line.
- The posted date is the calendar date the bank wrote (the first 8 digits of
  DTPOSTED): the time and zone are ignored, because shifting to UTC would move a
  date across midnight. Only the date part is validated, so an odd time (Capital
  One writes minute 82) does not refuse a file.
- LEDGERBAL -> a "closing" balance, AVAILBAL -> an "available" balance.
- CORRECTFITID + CORRECTACTION (OFX 2.x): REPLACE stores the record as the row that
  takes the place of the transaction with FITID = CORRECTFITID, DELETE stores no row;
  either removes that transaction when it was read earlier in the file, and is listed
  in `Extract.corrections` so that the import supersedes it in the store too.
- TRNAMT is parsed exactly in the statement's CURDEF currency (a decimal comma is
  accepted when the amount has no dot, as some European banks write it).

Refused with a Problem (the import service then refuses the whole file):
investment statements ("not a bank statement"), files without any bank or card
statement, a file that ends before its </OFX> (cut short: half a transaction must not
be stored), an empty FITID (a content hash in its place would store again a transaction
stored under its FITID before), and every missing or unreadable DTPOSTED, TRNAMT or
balance, each naming its line and field. Files with several accounts are read whole and list
every account in `file_accounts` and each row's account in a `file_account`
column; the import service refuses them unless the source names its account with
`file_account` (ofxparse-multiple_accounts.ofx, a pair of balance-only statements,
is refused that way).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any, Literal

from importers.bank_rows import bank_frame
from importers.base import Correction, Extract, Side, StatementBalance, read_head
from importers.ofx_sgml import Element, decode_ofx, parse_ofx
from recon.errors import Problem
from recon.model import BANK_EXTRACT
from recon.money import AmountError, parse_amount

__all__ = ["OfxImporter"]

_OFX_HEAD = re.compile(rb"OFXHEADER|<OFX>|<\?OFX", re.IGNORECASE)
_OFX_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d*)(\.\d+)?\s*(\[[^\]]*\])?$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_STATEMENT_TAGS = ("STMTRS", "CCSTMTRS")
_NOT_BANK_TAGS = ("INVSTMTRS", "INVSTMTMSGSRSV1")
_CORRECT_ACTIONS: dict[str, Literal["replace", "delete"]] = {"REPLACE": "replace", "DELETE": "delete"}


class OfxImporter:
    format = "ofx"
    side: Side = "bank"

    def identify(self, path: Path) -> bool:
        return bool(_OFX_HEAD.search(read_head(path)))

    def extract(self, path: Path, *, currency: str) -> Extract:
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return _refused(name, None, None, f"cannot read the file: {exc.strerror}")
        tree = parse_ofx(decode_ofx(data))
        if tree.open_at_end:
            return _refused(name, tree.last_line, None, _cut_short(tree.open_at_end))
        root = tree.root
        ofx = root.find("OFX") or root
        statements = [s for tag in _STATEMENT_TAGS for s in ofx.iter(tag)]
        statements.sort(key=lambda s: s.line)
        if not statements:
            return _refused(name, None, None, _why_no_statement(root, ofx))

        reader = _StatementReader(name, currency)
        for statement in statements:
            reader.read(statement)
        rows = bank_frame(reader.records)
        return Extract(rows, reader.problems, reader.balances, reader.accounts, reader.corrections)


def _refused(name: str, line: int | None, field: str | None, message: str) -> Extract:
    return Extract(BANK_EXTRACT.empty_frame(), [Problem(name, line, field, message)])


def _cut_short(open_at_end: list[Element]) -> str:
    """Why a file whose text ends with aggregates still open is refused (a half transaction must not be stored)."""
    innermost, outermost = open_at_end[-1], open_at_end[0]
    missing = f"</{outermost.tag}>"
    if innermost is not outermost:
        missing = f"the end of <{innermost.tag}> (line {innermost.line}) and {missing}"
    return f"the file ends before {missing} (cut short?)"


def _why_no_statement(root: Element, ofx: Element) -> str:
    for tag in _NOT_BANK_TAGS:
        if ofx.iter(tag):
            return "not a bank statement: this OFX file holds an investment statement (INVSTMTRS)"
    if root.find("OFX") is None:
        return "not an OFX file: no <OFX> element found"
    errors = [s for s in ofx.iter("STATUS") if (s.text("CODE") or "0") != "0"]
    if errors:
        status = errors[0]
        detail = status.text("MESSAGE") or f"status code {status.text('CODE')}"
        return f"the bank reported an error instead of a statement (line {status.line}): {detail}"
    return "no bank or credit-card statement (STMTRS / CCSTMTRS) in this OFX file"


class _StatementReader:
    """Collects rows, balances, accounts and problems over the statements of one file."""

    def __init__(self, name: str, default_currency: str):
        self.name = name
        self.default_currency = default_currency
        self.records: list[dict[str, Any]] = []
        self.problems: list[Problem] = []
        self.balances: list[StatementBalance] = []
        self.accounts: list[str] = []
        self.corrections: list[Correction] = []
        self.statements: Counter[str | None] = Counter()  # per account, so far: a balance's statement_seq

    def read(self, statement: Element) -> None:
        currency = (statement.text("CURDEF") or self.default_currency).strip().upper()
        account_from = statement.find("BANKACCTFROM") or statement.find("CCACCTFROM")
        account_id = account_from.text("ACCTID") if account_from else None
        if account_id:
            self.accounts.append(account_id)
        else:
            self._problem(statement.line, "ACCTID", f"{statement.tag} statement without an account number")
        for tran_list in statement.find_all("BANKTRANLIST"):
            for txn in tran_list.find_all("STMTTRN"):
                correction = self._correction(txn, account_id or None)
                if correction is not None and correction.action == "delete":
                    continue  # a deletion is not a transaction of its own
                record = self._transaction(txn, currency)
                if record is not None:
                    self.records.append(record | {"file_account": account_id or None})
        self.statements[account_id] += 1
        for kind, tag in (("closing", "LEDGERBAL"), ("available", "AVAILBAL")):
            element = statement.find(tag)
            if element is not None:
                self._balance(element, kind, currency, account_id or None)

    def _correction(self, txn: Element, account_id: str | None) -> Correction | None:
        """The CORRECTFITID / CORRECTACTION of a transaction, applied to the rows read so far."""
        corrected = _clean(txn.text("CORRECTFITID"))
        if corrected is None:
            return None
        action = (_clean(txn.text("CORRECTACTION")) or "").upper()
        if action not in _CORRECT_ACTIONS:
            message = f"'{action}' is neither REPLACE nor DELETE (correcting FITID {corrected})"
            self._problem(txn.line, "CORRECTACTION", message)
            return None
        # within the file, in order: the corrected row (read earlier, same account) goes
        self.records = [
            r for r in self.records if not (r["external_id"] == corrected and r["file_account"] == account_id)
        ]
        replaces = action == "REPLACE"
        correction = Correction(
            _CORRECT_ACTIONS[action], corrected, _clean(txn.text("FITID")) if replaces else None, txn.line, account_id
        )
        self.corrections.append(correction)
        return correction

    def _problem(self, line: int, field: str, message: str) -> None:
        self.problems.append(Problem(self.name, line, field, message))

    def _transaction(self, txn: Element, currency: str) -> dict[str, Any] | None:
        posted = self._date(txn, "DTPOSTED", required=True)
        amount = self._amount(txn, "TRNAMT", currency)
        value_date = self._date(txn, "DTAVAIL", required=False)
        fitid = txn.find("FITID")
        if fitid is not None and _clean(fitid.value) is None:
            # a content hash in its place would store again a transaction already stored under its FITID
            self._problem(fitid.line, "FITID", "empty transaction id")
            return None
        if posted is None or amount is None:
            return None
        payee_element = txn.find("PAYEE")
        payee = _clean(txn.text("NAME") or (payee_element.text("NAME") if payee_element else None))
        memo = _clean(txn.text("MEMO"))
        leaves = {c.tag: c.value for c in txn.children if c.value}
        return {
            "external_id": _clean(txn.text("FITID")),
            "posted_date": posted,
            "value_date": value_date,
            "amount_minor": amount,
            "currency": currency,
            "description": _description(payee, memo),
            "payee": payee,
            "reference": _clean(txn.text("REFNUM")),
            "check_number": _clean(txn.text("CHECKNUM")),
            "transaction_type": (_clean(txn.text("TRNTYPE")) or "").upper() or None,
            "pending": False,
            "source_file": self.name,
            "source_line": txn.line,
            "source_element": None,
            "raw": json.dumps(leaves, ensure_ascii=False),
        }

    def _date(self, parent: Element, tag: str, *, required: bool) -> date | None:
        element = parent.find(tag)
        text = (element.value or "").strip() if element else ""
        if not text:
            if required:
                where = element.line if element else parent.line
                self._problem(where, tag, "missing date" if element is None else "empty date")
            return None
        assert element is not None
        match = _OFX_DATE.match(text)
        try:
            if match is None:
                raise ValueError
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            self._problem(element.line, tag, f"'{text}' is not a date (OFX dates are YYYYMMDD[HHMMSS])")
            return None

    def _amount(self, parent: Element, tag: str, currency: str) -> int | None:
        element = parent.find(tag)
        text = (element.value or "").strip() if element else ""
        if not text:
            where = element.line if element else parent.line
            self._problem(where, tag, "missing amount" if element is None else "empty amount")
            return None
        assert element is not None
        decimal_mark = "," if _COMMA_DECIMAL.match(text) else "."
        try:
            return parse_amount(text, currency, decimal_mark=decimal_mark)
        except AmountError as exc:
            self._problem(element.line, tag, str(exc))
            return None

    def _balance(self, element: Element, kind: str, currency: str, account_id: str | None) -> None:
        amount = self._amount(element, "BALAMT", currency)
        as_of = self._date(element, "DTASOF", required=True)
        if amount is not None and as_of is not None:
            self.balances.append(
                StatementBalance(kind, as_of, amount, currency, account_id, self.statements[account_id])
            )


def _clean(text: str | None) -> str | None:
    """Whitespace runs collapsed (NAME fields are often padded), None for nothing."""
    if text is None:
        return None
    return " ".join(text.split()) or None


def _description(payee: str | None, memo: str | None) -> str:
    """NAME and MEMO as one text, without repeating one that the other already contains."""
    if not payee or not memo:
        return payee or memo or ""
    if payee in memo:
        return memo
    if memo in payee:
        return payee
    return f"{payee} {memo}"
