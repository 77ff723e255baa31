"""Propose a CSV profile for an unknown bank export: a starting point for a person to check.

It sniffs the encoding, the delimiter, where the header and the data are, which
column holds dates (and in which format), which hold amounts (one signed column,
debit/credit columns, or an amount with a credit/debit mark) and the decimal mark,
from the file's first few hundred lines. The result is TOML text that
`importers.csv_profile` reads; every guess that could be wrong is marked so.

This runs once per new bank, on a sample, so it reads the rows with Python's csv
module: it is not an import path.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["Guess", "GuessError", "guess_profile"]

_SAMPLE_LINES = 400
_DELIMITERS = (",", ";", "\t", "|")
_DATE_FORMATS = (
    "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%Y%m%d", "%Y/%m/%d",
    "%d.%m.%y", "%d/%m/%y", "%m/%d/%y", "%d-%m-%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
)  # fmt: skip
_NUMBER = re.compile(r"^[+-]?\s*[$€£]?\s*\(?[+-]?[\d.,' ]*\d[\d.,' ]*\)?-?$")
_INDICATOR_PAIRS = (({"c", "cr", "credit", "bij", "h", "haben", "+"}, {"d", "dr", "debit", "af", "s", "soll", "-"}),)
_HINTS = {
    "date": ("posting date", "post date", "posted date", "booking date", "buchungstag", "buchung", "transactiedatum",
             "datum", "date"),
    "value_date": ("value date", "valuta", "wertstellung", "valutadatum"),
    "amount": ("amount", "betrag", "bedrag", "montant", "importe", "net", "value", "sum"),
    "debit": ("debit", "withdrawal", "soll", "paid out", "money out", "uitgaven"),
    "credit": ("credit", "deposit", "haben", "paid in", "money in", "inkomsten"),
    "balance": ("balance", "saldo", "running"),
    "description": ("description", "memo", "verwendungszweck", "omschrijving", "text", "details", "narrative",
                    "label", "payee", "name"),
    "currency": ("currency", "währung", "valuta", "valutacode", "devise"),
}  # fmt: skip


ColumnOf = Callable[[int], "str | int"]
"""How the profile names the column at a 0-based index: its header name, or its 1-based position."""


@dataclass(slots=True)
class Guess:
    """What the sniffing found; `to_toml` writes it as a profile."""

    encoding: str
    delimiter: str
    has_header: bool
    skip_lines: int
    skip_footer: int
    decimal_mark: str
    thousands_sep: str | None
    date_format: str
    columns: dict[str, str | int | list[str | int]] = field(default_factory=dict)
    amount_strip: str = ""
    indicator_values: tuple[list[str], list[str]] | None = None
    notes: list[str] = field(default_factory=list)

    def to_toml(self) -> str:
        def value(v: str | int | list[str | int] | None) -> str:
            if isinstance(v, list):
                return "[" + ", ".join(value(x) for x in v) + "]"
            if isinstance(v, int):
                return str(v)
            return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

        out = ["# Proposed by 'recon profile guess': check every line before use.", *[f"# {n}" for n in self.notes]]
        out.append(f"encoding = {value(self.encoding)}")
        out.append(f"delimiter = {value('tab' if self.delimiter == chr(9) else self.delimiter)}")
        if not self.has_header:
            out.append("has_header = false")
        if self.skip_lines:
            out.append(f"skip_lines = {self.skip_lines}")
        if self.skip_footer:
            out.append(f"skip_footer = {self.skip_footer}")
        out.append(f"decimal_mark = {value(self.decimal_mark)}")
        if self.thousands_sep:
            out.append(f"thousands_sep = {value(self.thousands_sep)}")
        if self.amount_strip:
            out.append(f"amount_strip = {value(self.amount_strip)}")
        out.append(f"date_formats = [{value(self.date_format)}]")
        out.append("")
        out.append("[columns]")
        out.extend(f"{role} = {value(ref)}" for role, ref in self.columns.items())
        if self.indicator_values:
            credit, debit = self.indicator_values
            out += ["", "[sign]", f"credit_values = {value(list(credit))}", f"debit_values = {value(list(debit))}"]
        return "\n".join(out) + "\n"


class GuessError(ValueError):
    """The file does not look like a CSV bank export."""


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8", data[3:].decode("utf-8", errors="replace")
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if any(0x80 <= b <= 0x9F for b in data):
        try:
            return "cp1252", data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    return "latin-1", data.decode("latin-1")


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def _delimiter(lines: list[str]) -> str:
    best, best_score = ",", (0, 0)
    for delimiter in _DELIMITERS:
        counts = Counter(len(_split(line, delimiter)) for line in lines if line.strip())
        counts.pop(1, None)
        if not counts:
            continue
        width, rows = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if (rows, width) > best_score:
            best, best_score = delimiter, (rows, width)
    return best


def _date_format(values: list[str]) -> str | None:
    values = [v for v in values if v]
    if not values:
        return None
    for fmt in _DATE_FORMATS:
        try:
            parsed = [datetime.strptime(v, fmt) for v in values]
        except ValueError:
            continue
        if all(1900 <= d.year <= 2199 for d in parsed):
            return fmt
    return None


def _is_number(value: str) -> bool:
    return bool(_NUMBER.match(value)) and any(c.isdigit() for c in value)


def _decimal_style(values: list[str]) -> tuple[str, str | None]:
    """Decimal mark and thousands separator seen in the amount texts."""
    text = " ".join(values)
    comma_decimal = re.search(r"\d,\d{1,2}(?!\d)", text) and not re.search(r"\d\.\d{1,2}(?!\d)", text)
    if comma_decimal:
        return ",", "." if re.search(r"\d\.\d{3}(?!\d)", text) else None
    return ".", "," if re.search(r"\d,\d{3}(?!\d)", text) else None


def _hinted(headers: list[str], role: str, taken: set[int]) -> int | None:
    lowered = [h.strip().lower() for h in headers]
    for hint in _HINTS[role]:
        for i, h in enumerate(lowered):
            if i not in taken and (h == hint or (len(hint) > 3 and hint in h)):
                return i
    return None


def guess_profile(data: bytes) -> Guess:
    """Sniff a CSV export; raises GuessError when nothing in it looks like dated amounts."""
    encoding, text = _decode(data)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:_SAMPLE_LINES]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise GuessError("the file is empty")
    delimiter = _delimiter(lines)
    rows = [_split(line, delimiter) for line in lines]
    widths = Counter(len(r) for r in rows if len(r) > 1)
    if not widths:
        raise GuessError(f"no line has more than one field (tried delimiters {' '.join(_DELIMITERS)})")
    width = max(widths.items(), key=lambda kv: (kv[1], kv[0]))[0]

    # the data rows: lines of the common width with a date in some column
    candidates = [i for i, r in enumerate(rows) if len(r) >= width - 1 and any(_date_format([c.strip()]) for c in r)]
    if not candidates:
        raise GuessError("no line with a date in it: is this a bank export?")
    first, last = candidates[0], candidates[-1]
    data_rows = [[c.strip() for c in rows[i]] + [""] * (width - len(rows[i])) for i in range(first, last + 1)]
    data_rows = [r for r in data_rows if any(r)]
    header_index = first - 1 if first > 0 and len(rows[first - 1]) >= width - 1 else None
    headers = [h.strip() for h in rows[header_index]] if header_index is not None else []
    has_header = header_index is not None and not any(_date_format([h]) or _is_number(h) for h in headers if h)
    if not has_header:
        headers = []
    columns = list(zip(*data_rows, strict=False)) if data_rows else []

    def ref(i: int) -> str | int:
        return headers[i] if has_header and headers[i] else i + 1

    guess = Guess(
        encoding=encoding, delimiter=delimiter, has_header=has_header,
        skip_lines=header_index if has_header and header_index is not None else first,
        skip_footer=sum(1 for line in lines[last + 1 :] if line.strip()),
        decimal_mark=".", thousands_sep=None, date_format="%Y-%m-%d",
    )  # fmt: skip
    taken: set[int] = set()
    date_columns = [i for i, col in enumerate(columns) if _date_format(list(col))]
    date_index = _hinted(headers, "date", set()) if headers else None
    if date_index not in date_columns:
        date_index = date_columns[0]
    taken.add(date_index)
    guess.date_format = _date_format(list(columns[date_index])) or guess.date_format
    guess.columns["date"] = ref(date_index)
    value_index = _hinted(headers, "value_date", taken) if headers else None
    if value_index in date_columns and value_index is not None:
        guess.columns["value_date"] = ref(value_index)
        taken.add(value_index)
    taken.update(date_columns)

    numeric = [
        i for i, col in enumerate(columns)
        if i not in taken and any(col) and all(_is_number(v) for v in col if v) and not _looks_like_id(col)
    ]  # fmt: skip
    amount_texts = [v for i in numeric for v in columns[i] if v]
    guess.decimal_mark, guess.thousands_sep = _decimal_style(amount_texts)
    guess.amount_strip = "".join(sorted({c for v in amount_texts for c in v if c in "$€£"}))
    _settle_day_month(guess, list(columns[date_index]))
    _amount_columns(guess, headers, columns, numeric, taken, ref)
    _text_columns(guess, headers, columns, taken, ref)
    if has_header and header_index is not None and header_index > 0:
        guess.notes.append(f"the header is on line {header_index + 1}; the lines above it are skipped")
    if guess.skip_footer:
        guess.notes.append(f"the last {guess.skip_footer} non-blank lines are not transactions and are dropped")
    return guess


def _settle_day_month(guess: Guess, values: list[str]) -> None:
    """When both day-first and month-first read every date, US-style numbers suggest month first."""
    fmt = guess.date_format
    if not fmt.startswith(("%d", "%m")):
        return
    swapped = fmt.replace("%d", "%?").replace("%m", "%d").replace("%?", "%m")
    if swapped == fmt or _date_format_is(swapped, values) is False:
        return
    if guess.decimal_mark == "." and guess.delimiter == "," and fmt.startswith("%d"):
        guess.date_format = swapped
    guess.notes.append(f"dates such as '{values[0]}' read as day/month or month/day: check date_formats")


def _date_format_is(fmt: str, values: list[str]) -> bool:
    try:
        return all(1900 <= datetime.strptime(v, fmt).year <= 2199 for v in values if v)
    except ValueError:
        return False


def _looks_like_id(col: tuple[str, ...]) -> bool:
    """Account numbers, references: long digit strings without separators."""
    values = [v for v in col if v]
    return bool(values) and all(v.isdigit() and len(v) >= 7 for v in values)


def _amount_columns(
    guess: Guess, headers: list[str], columns: list[tuple[str, ...]], numeric: list[int], taken: set[int], ref: ColumnOf
) -> None:
    debit = _hinted(headers, "debit", taken) if headers else None
    credit = _hinted(headers, "credit", taken) if headers else None
    if debit in numeric and credit in numeric and debit is not None and credit is not None:
        guess.columns["debit"], guess.columns["credit"] = ref(debit), ref(credit)
        taken.update((debit, credit))
    else:
        amount = _hinted(headers, "amount", taken) if headers else None
        if amount not in numeric:
            signed = [i for i in numeric if any(v.lstrip().startswith("-") for v in columns[i])]
            if not (signed or numeric):
                raise GuessError("no column of amounts found")
            amount = (signed or numeric)[0]
        guess.columns["amount"] = ref(amount)
        taken.add(amount)
        if not any(v.lstrip().startswith("-") for v in columns[amount]):
            _indicator(guess, columns, taken, ref)
    balance = _hinted(headers, "balance", taken) if headers else None
    if balance in numeric and balance is not None:
        guess.columns["balance"] = ref(balance)
        taken.add(balance)


def _indicator(guess: Guess, columns: list[tuple[str, ...]], taken: set[int], ref: ColumnOf) -> None:
    """An unsigned amount: look for the column that marks credit or debit."""
    for i, col in enumerate(columns):
        if i in taken:
            continue
        values = {v for v in col if v}
        lowered = {v.lower() for v in values}
        for credit_set, debit_set in _INDICATOR_PAIRS:
            if values and lowered <= credit_set | debit_set and lowered & credit_set and lowered & debit_set:
                guess.columns["indicator"] = ref(i)
                credit = sorted(v for v in values if v.lower() in credit_set)
                debit = sorted(v for v in values if v.lower() in debit_set)
                guess.indicator_values = (list(credit), list(debit))
                taken.add(i)
                return
    guess.notes.append("the amounts are never negative: check the sign (sign.amount_positive, or an indicator)")


def _text_columns(
    guess: Guess, headers: list[str], columns: list[tuple[str, ...]], taken: set[int], ref: ColumnOf
) -> None:
    currency = _hinted(headers, "currency", taken) if headers else None
    codes = [
        i for i, col in enumerate(columns)
        if i not in taken and any(col) and all(re.fullmatch(r"[A-Z]{3}", v) for v in col if v)
    ]  # fmt: skip
    if currency not in codes:
        currency = codes[0] if codes else None
    if currency is not None:
        guess.columns["currency"] = ref(currency)
        taken.add(currency)
    description = _hinted(headers, "description", taken) if headers else None
    if description is None:
        texts = [i for i in range(len(columns)) if i not in taken and any(columns[i])]
        if not texts:
            guess.columns["description"] = ref(0)
            return
        description = max(texts, key=lambda i: sum(len(v) for v in columns[i]))
    guess.columns["description"] = ref(description)
