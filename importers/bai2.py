"""BAI2 cash management balance reports (US, Canadian and UK banks).

Written here rather than with the `bai2` package, which refuses a valid summary type
code (190) in one of the four corpus files and reports no line numbers.

Structure: `01` file header, `02` group (as-of date, currency), `03` account (currency,
summaries and balances), `16` transaction detail, `88` continuation, `49` account,
`98` group and `99` file trailers. Records and continuations: `importers.bai2_records`.

- Amounts are integers in the currency's minor unit, without a decimal point (for USD
  and GBP two implied decimals); the currency is the 03 record's, else the 02 group's,
  else the account's from the config.
- A `16` detail's type code gives its sign: 100-399 credit (money in), 400-699 debit.
  890 (non-monetary information) is skipped; any other code is a Problem, since its
  direction cannot be known.
- Funds type `0`, `1`, `2`, `Z` or empty has no extra fields; `V` adds value date and
  time, `S` three distribution amounts, `D` a count and that many (days, amount) pairs.
- The posted date is the group's as-of date; a `V` value date is kept as value date.
- `external_id` is the bank reference of the `16` when it is not empty or all zeros;
  the customer reference goes to `reference`; the text (with its continuations, a
  trailing '/' dropped) is the description.
- Balances from 03 status codes: 010 opening ledger -> opening, 015 closing ledger ->
  closing, 045 closing available -> available, as of the group date.
- Control totals: each 49, 98 and 99 states the algebraic sum of the 03 and 16 amounts
  and a count of records below it; a mismatch, or a file that ends before its 99
  trailer, is a Problem (the file is incomplete or corrupt).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from importers.bai2_records import FieldCursor, Record, group_records, split_fields
from importers.bank_rows import bank_frame, drop_repeated_external_ids
from importers.base import Extract, Side, StatementBalance, read_head
from importers.text_decoding import decode_bank_text
from recon.errors import Problem

__all__ = ["Bai2Importer"]

_IDENTIFY = re.compile(r"^\s*01,[^,\r\n]*,[^,\r\n]*,\d{6},\d{4}")
_AMOUNT = re.compile(r"^[+-]?\d{1,18}$")  # 18 digits: stays within the 64-bit minor units recon stores
_BALANCE_CODES = {"010": "opening", "015": "closing", "045": "available"}
_NON_MONETARY = "890"
_FUNDS_EXTRA_FIELDS = {"": 0, "0": 0, "1": 0, "2": 0, "Z": 0, "V": 2, "S": 3}


class Bai2Importer:
    format = "bai2"
    side: Side = "bank"

    def identify(self, path: Path) -> bool:
        return bool(_IDENTIFY.match(read_head(path, 512).decode("latin-1")))

    def extract(self, path: Path, *, currency: str) -> Extract:
        name = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            return Extract(bank_frame([]), [Problem(name, None, None, f"cannot read the file: {exc.strerror}")])
        records, orphans = group_records(decode_bank_text(data)[0])
        reader = _FileReader(name, currency.upper())
        for orphan in orphans:
            reader.problem(orphan.line, "record code", f"'{orphan.text[:40]}' is not a BAI2 record")
        for record in records:
            reader.read(record)
        reader.finish(records[-1].line if records else None)
        drop_repeated_external_ids(reader.rows)
        return Extract(bank_frame(reader.rows), reader.problems, reader.balances, reader.accounts)


@dataclass(slots=True)
class _Totals:
    """Running control total and record count of one file, group or account."""

    line: int
    amount: int = 0
    records: int = 0
    children: int = 0
    readable: bool = True  # False once an amount below could not be read: the total cannot be checked


@dataclass(slots=True)
class _Group:
    totals: _Totals
    as_of: date | None
    currency: str
    status: str


@dataclass(slots=True)
class _Account:
    totals: _Totals
    number: str
    currency: str


class _FileReader:
    """The BAI2 state machine: file > group > account > detail, with control totals."""

    def __init__(self, name: str, default_currency: str):
        self.name = name
        self.default_currency = default_currency
        self.rows: list[dict[str, Any]] = []
        self.problems: list[Problem] = []
        self.balances: list[StatementBalance] = []
        self.accounts: list[str] = []
        self.file: _Totals | None = None
        self.group: _Group | None = None
        self.account: _Account | None = None
        self.account_records: Counter[str] = Counter()  # 03 records per account so far: one statement each
        self.closed = False

    def problem(self, line: int | None, field_name: str | None, message: str) -> None:
        self.problems.append(Problem(self.name, line, field_name, message))

    def read(self, record: Record) -> None:
        handler = {
            "01": self._file_header, "02": self._group_header, "03": self._account_header,
            "16": self._detail, "49": self._account_trailer, "98": self._group_trailer, "99": self._file_trailer,
        }.get(record.code)  # fmt: skip
        if handler is None:
            self.problem(record.line, "record code", f"'{record.code}' is not a BAI2 record code")
            return
        if self.closed:
            self.problem(record.line, "record code", f"record '{record.code}' after the 99 file trailer")
            return
        if record.code != "01" and self.file is None:
            self.problem(record.line, "record code", "the file does not start with a 01 file header")
            self.file = _Totals(record.line)
        for totals in (
            self.file,
            self.group.totals if self.group else None,
            self.account.totals if self.account else None,
        ):
            if totals is not None:
                totals.records += record.physical_count
        handler(record)

    def finish(self, last_line: int | None) -> None:
        if not self.closed:
            self.problem(last_line, None, "the file ends before its 99 file trailer: it is incomplete")

    # --- amounts and dates -------------------------------------------------------------

    def _amount(self, record: Record, field_name: str, text: str, *, signed: bool = True) -> int | None:
        if not _AMOUNT.match(text) or (not signed and text.startswith("-")):
            kind = "a whole number of minor units (at most 18 digits)" + ("" if signed else " without a sign")
            self.problem(record.line, field_name, f"'{text}' is not {kind}")
            return None
        return int(text)

    def _date(self, record: Record, field_name: str, yymmdd: str) -> date | None:
        if len(yymmdd) == 6 and yymmdd.isdigit():
            year = int(yymmdd[:2])
            try:
                return date(2000 + year if year < 70 else 1900 + year, int(yymmdd[2:4]), int(yymmdd[4:]))
            except ValueError:
                pass
        self.problem(record.line, field_name, f"'{yymmdd}' is not a YYMMDD date")
        return None

    # --- headers -----------------------------------------------------------------------

    def _file_header(self, record: Record) -> None:
        if self.file is not None:
            self.problem(record.line, "record code", "a second 01 file header")
            return
        self.file = _Totals(record.line, records=record.physical_count)
        fields = split_fields(record)
        version = fields[7] if len(fields) > 7 else ""
        if version != "2":
            self.problem(record.line, "01 version number", f"'{version}' is not 2: only BAI version 2 is read")

    def _group_header(self, record: Record) -> None:
        if self.group is not None:
            self.problem(
                record.line,
                "record code",
                f"02 group header before the 98 trailer of the group at line {self.group.totals.line}",
            )
        fields = split_fields(record) + [""] * 7
        as_of = self._date(record, "02 as-of date", fields[3])
        currency = fields[5].upper() or self.default_currency
        self.group = _Group(_Totals(record.line, records=record.physical_count), as_of, currency, fields[2])

    def _account_header(self, record: Record) -> None:
        if self.group is None:
            self.problem(record.line, "record code", "03 account record outside a 02 group")
            return
        if self.account is not None:
            self.problem(
                record.line,
                "record code",
                f"03 account record before the 49 trailer of the account at line {self.account.totals.line}",
            )
        fields = [*split_fields(record), "", ""]
        number, currency = fields[0], fields[1].upper() or self.group.currency
        account = _Account(_Totals(record.line, records=record.physical_count), number, currency)
        self.account = account
        self.account_records[number] += 1
        self.accounts.append(number)
        summaries = fields[2:]
        i = 0
        while i < len(summaries) and any(summaries[i:]):
            if not summaries[i]:
                i += 1  # SVB and Citi write ',,,/' (one comma too many) where a type code would follow
                continue
            code, amount_text, funds = summaries[i], summaries[i + 1 : i + 2], summaries[i + 3 : i + 4]
            i += 4
            skip, ok = self._funds_extra(record, funds[0] if funds else "", summaries, i)
            i += skip
            if not ok or not amount_text or not amount_text[0]:
                continue
            amount = self._amount(record, f"03 amount of type {code}", amount_text[0])
            if amount is None:
                account.totals.readable = False
                continue
            account.totals.amount += amount
            if code in _BALANCE_CODES and self.group.as_of is not None:
                self.balances.append(
                    StatementBalance(
                        _BALANCE_CODES[code],
                        self.group.as_of,
                        amount,
                        currency,
                        account.number,
                        self.account_records[account.number],
                    )
                )

    def _funds_extra(self, record: Record, funds_type: str, fields: list[str], start: int) -> tuple[int, bool]:
        """How many fields a funds type adds after itself, and whether they are readable."""
        funds_type = funds_type.upper()
        if funds_type in _FUNDS_EXTRA_FIELDS:
            return _FUNDS_EXTRA_FIELDS[funds_type], True
        if funds_type == "D":
            count_text = fields[start] if start < len(fields) else ""
            if not count_text.isdigit():
                self.problem(record.line, "03 funds type D count", f"'{count_text}' is not a number of distributions")
                return 0, False
            return 1 + 2 * int(count_text), True
        self.problem(record.line, "03 funds type", f"'{funds_type}' is not a BAI2 funds type (0, 1, 2, V, S, D, Z)")
        return 0, False

    # --- detail --------------------------------------------------------------------------

    def _detail(self, record: Record) -> None:
        if self.account is None or self.group is None:
            self.problem(record.line, "record code", "16 detail record outside a 03 account")
            return
        cursor = FieldCursor(record.bodies[0])
        type_code, amount_text, funds_type = cursor.next(), cursor.next(), cursor.next().upper()
        funds: list[str] = []
        if funds_type == "D":
            count = cursor.next()
            # bounded by the commas left, so a corrupt count cannot make the loop run away
            pairs = int(count) if count.isdigit() and int(count) <= record.bodies[0].count(",") else 0
            funds = [count] + [cursor.next() for _ in range(2 * pairs)]
        else:
            funds = [cursor.next() for _ in range(_FUNDS_EXTRA_FIELDS.get(funds_type, 0))]
        bank_ref, customer_ref = cursor.next(), cursor.next()
        texts = [cursor.rest(), *(_continued_text(body) for body in record.bodies[1:])]
        amount = self._amount(record, "16 amount", amount_text, signed=False)
        if amount is None:
            self.account.totals.readable = False
        else:
            self.account.totals.amount += amount
        if not (len(type_code) == 3 and type_code.isdigit()):
            self.problem(record.line, "16 type code", f"'{type_code}' is not a three-digit type code")
            return
        if funds_type not in _FUNDS_EXTRA_FIELDS and funds_type != "D":
            self.problem(record.line, "16 funds type", f"'{funds_type}' is not a BAI2 funds type (0, 1, 2, V, S, D, Z)")
            return
        if amount is None or type_code == _NON_MONETARY or self.group.as_of is None:
            return
        sign = _sign(int(type_code))
        if sign is None:
            self.problem(
                record.line, "16 type code", f"'{type_code}' is neither a credit (100-399) nor a debit (400-699)"
            )
            return
        value_date = self._date(record, "16 value date", funds[0]) if funds_type == "V" and funds[0] else None
        description = " ".join(" ".join(texts).split())
        raw = {
            "lines": record.lines, "type_code": type_code, "funds_type": funds_type, "funds": funds,
            "bank_reference": bank_ref, "customer_reference": customer_ref, "group_status": self.group.status,
            "account": self.account.number,
        }  # fmt: skip
        self.rows.append(
            {
                "external_id": bank_ref if bank_ref.strip("0") else None,
                "posted_date": self.group.as_of,
                "value_date": value_date,
                "amount_minor": sign * amount,
                "currency": self.account.currency,
                "description": description or f"BAI2 type {type_code}",
                "payee": None,
                "reference": customer_ref or None,
                "check_number": None,
                "transaction_type": type_code,
                "pending": False,
                "source_file": self.name,
                "source_line": record.line,
                "source_element": None,
                "file_account": self.account.number,
                "raw": json.dumps(raw),
            }
        )

    # --- trailers ------------------------------------------------------------------------

    def _check(self, record: Record, label: str, totals: _Totals, stated: list[str], *, children: str | None) -> None:
        """Compare a trailer's stated control total, (child count) and record count with what was read."""
        stated = [*stated, "", "", ""]
        expected_total = self._amount(record, f"{record.code} {label} control total", stated[0])
        if expected_total is not None and totals.readable and expected_total != totals.amount:
            self.problem(
                record.line, f"{record.code} {label} control total",
                f"states {expected_total}, but the amounts of the {label} add up to {totals.amount}",
            )  # fmt: skip
        position = 1
        if children is not None:
            if stated[1] and stated[1] != str(totals.children):
                self.problem(
                    record.line, f"{record.code} number of {children}",
                    f"states {stated[1]}, but the {label} holds {totals.children}",
                )  # fmt: skip
            position = 2
        if stated[position] and stated[position] != str(totals.records):
            self.problem(
                record.line, f"{record.code} number of records",
                f"states {stated[position]}, but the {label} has {totals.records} records",
            )  # fmt: skip

    def _account_trailer(self, record: Record) -> None:
        if self.account is None or self.group is None:
            self.problem(record.line, "record code", "49 account trailer without a 03 account record")
            return
        self._check(record, "account", self.account.totals, split_fields(record), children=None)
        self.group.totals.amount += self.account.totals.amount
        self.group.totals.readable &= self.account.totals.readable
        self.group.totals.children += 1
        self.account = None

    def _group_trailer(self, record: Record) -> None:
        if self.group is None or self.file is None:
            self.problem(record.line, "record code", "98 group trailer without a 02 group header")
            return
        if self.account is not None:
            self.problem(
                record.line,
                "record code",
                f"98 group trailer before the 49 trailer of the account at line {self.account.totals.line}",
            )
        self._check(record, "group", self.group.totals, split_fields(record), children="accounts")
        self.file.amount += self.group.totals.amount
        self.file.readable &= self.group.totals.readable
        self.file.children += 1
        self.group = None

    def _file_trailer(self, record: Record) -> None:
        if self.file is None:
            return
        if self.group is not None:
            self.problem(
                record.line,
                "record code",
                f"99 file trailer before the 98 trailer of the group at line {self.group.totals.line}",
            )
        self._check(record, "file", self.file, split_fields(record), children="groups")
        self.closed = True


def _sign(type_code: int) -> int | None:
    if 100 <= type_code <= 399:
        return 1
    if 400 <= type_code <= 699:
        return -1
    return None


def _continued_text(body: str) -> str:
    """The text an 88 adds to a 16 detail: the whole line, a record-ending '/' dropped."""
    stripped = body.rstrip()
    return stripped[:-1] if stripped.endswith("/") else stripped
