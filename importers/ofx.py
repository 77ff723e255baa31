"""OFX / QFX / QBO bank and credit-card statements, read with ofxparse.

ofxparse gives the structure (accounts, statements, transactions). Two things are
taken from the text itself instead: the posted date (ofxparse shifts timestamps to
UTC, which moves a date across midnight for zones east of UTC; a bank's posted date
is the calendar date it wrote) and the line of each transaction, for provenance.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import ofxparse
import polars as pl

from importers.base import Extract, Side, StatementBalance, read_head
from recon.errors import Problem
from recon.model import BANK_EXTRACT
from recon.money import AmountError, to_minor

_OFX_HEAD = re.compile(rb"OFXHEADER|<OFX>|<\?OFX", re.IGNORECASE)
_STMTTRN = re.compile(rb"<STMTTRN>(.*?)(?=</STMTTRN>|<STMTTRN>|</BANKTRANLIST>)", re.IGNORECASE | re.DOTALL)
_DTPOSTED = re.compile(rb"<DTPOSTED>\s*(\d{8})", re.IGNORECASE)
_INVESTMENT = re.compile(rb"<INVSTMTRS>", re.IGNORECASE)


class OfxImporter:
    format = "ofx"
    side: Side = "bank"

    def identify(self, path: Path) -> bool:
        return bool(_OFX_HEAD.search(read_head(path)))

    def extract(self, path: Path, *, currency: str) -> Extract:
        data = path.read_bytes()
        name = str(path)
        if _INVESTMENT.search(data) and not re.search(rb"<(STMTRS|CCSTMTRS)>", data, re.IGNORECASE):
            return _refused(name, "not a bank statement: this OFX file holds an investment statement")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = ofxparse.OfxParser.parse(io.BytesIO(data))
        except Exception as exc:  # ofxparse raises bare exceptions of many kinds
            return _refused(name, f"cannot read OFX: {exc}")

        raw_trns = [(data.count(b"\n", 0, m.start()) + 1, m.group(1)) for m in _STMTTRN.finditer(data)]
        records: list[dict[str, Any]] = []
        problems: list[Problem] = []
        balances: list[StatementBalance] = []
        file_accounts: list[str] = []
        position = 0
        for account in parsed.accounts:
            statement = account.statement
            if not hasattr(statement, "transactions") or type(statement).__name__ != "Statement":
                problems.append(Problem(name, None, None, "not a bank statement"))
                continue
            file_accounts.append(str(account.account_id))
            cur = (getattr(statement, "currency", None) or currency).upper()
            for txn in statement.transactions:
                line, block = raw_trns[position] if position < len(raw_trns) else (None, b"")
                position += 1
                record = _record(name, line, block, txn, cur, problems)
                if record is not None:
                    records.append(record)
            balances.extend(_balances(statement, cur))
        frame = (
            pl.DataFrame(records, schema=BANK_EXTRACT.polars_schema)
            if records
            else BANK_EXTRACT.empty_frame()
        )
        return Extract(frame, problems, balances, file_accounts)


def _refused(name: str, message: str) -> Extract:
    return Extract(BANK_EXTRACT.empty_frame(), [Problem(name, None, None, message)])


def _record(
    name: str, line: int | None, block: bytes, txn: Any, currency: str, problems: list[Problem]
) -> dict[str, Any] | None:
    posted = _posted_date(block) or (txn.date.date() if getattr(txn, "date", None) else None)
    if posted is None:
        problems.append(Problem(name, line, "DTPOSTED", "missing or invalid posted date"))
        return None
    try:
        amount_minor = to_minor(txn.amount, currency)
    except (AmountError, TypeError, AttributeError) as exc:
        problems.append(Problem(name, line, "TRNAMT", str(exc)))
        return None
    payee = (txn.payee or "").strip()
    memo = (txn.memo or "").strip()
    description = payee if memo in payee else (f"{payee} {memo}".strip() if payee else memo)
    raw = {k: str(v) for k, v in vars(txn).items() if v not in (None, "")}
    return {
        "external_id": (txn.id or "").strip() or None,
        "posted_date": posted,
        "value_date": None,
        "amount_minor": amount_minor,
        "currency": currency,
        "description": description,
        "payee": payee or None,
        "reference": None,
        "check_number": (txn.checknum or "").strip() or None,
        "transaction_type": (txn.type or "").upper() or None,
        "pending": False,
        "source_file": name,
        "source_line": line,
        "source_element": None,
        "raw": json.dumps(raw, sort_keys=True),
    }


def _posted_date(block: bytes) -> date | None:
    m = _DTPOSTED.search(block)
    if not m:
        return None
    text = m.group(1).decode()
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def _balances(statement: Any, currency: str) -> list[StatementBalance]:
    out = []
    for kind, amount_attr, date_attr in (
        ("closing", "balance", "balance_date"),
        ("available", "available_balance", "available_balance_date"),
    ):
        amount, when = getattr(statement, amount_attr, None), getattr(statement, date_attr, None)
        if amount is None or when is None:
            continue
        try:
            out.append(StatementBalance(kind, when.date(), to_minor(amount, currency), currency))
        except AmountError:
            continue
    return out
