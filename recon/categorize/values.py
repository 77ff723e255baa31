"""Value types of rule files: exact amounts and percents, one-or-many lists, regexes, weekdays.

Amounts in rule files are decimal text (`"-15.00"`), parsed with `Decimal` and kept
as integers of 1/10,000 (`e4`): the finest minor unit ISO 4217 has (CLF, UYW), so a
rule amount can be compared exactly with a row of any currency by scaling the row's
minor units up, never by scaling anything down.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any

import polars as pl
from pydantic import AfterValidator, BeforeValidator

__all__ = [
    "E4_DECIMALS",
    "LAST_DAY",
    "Amount",
    "CurrencyCode",
    "DayOfMonth",
    "OneOrMany",
    "Percent",
    "Regex",
    "Weekday",
    "regex_group_names",
    "regex_problem",
]

E4_DECIMALS = 4
_PLAIN_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _amount_e4(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError('write an amount as decimal text, e.g. "-15.00"')
    text = value.strip().replace("_", "")
    if not _PLAIN_DECIMAL.match(text):
        raise ValueError(f"'{value}' is not an amount (write it like -15.00, without currency or thousands marks)")
    try:
        exact = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern above is stricter
        raise ValueError(f"'{value}' is not an amount") from None
    scaled = exact.scaleb(E4_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"'{value}' has more than {E4_DECIMALS} decimals")
    return int(scaled)


Amount = Annotated[int, BeforeValidator(_amount_e4)]
"""A signed amount from a rule file, in 1/10,000 of the currency unit (exact)."""


def _percent(value: Any) -> Fraction:
    if not isinstance(value, str):
        raise ValueError('write a percent as decimal text, e.g. "2.9"')
    text = value.strip().removesuffix("%").strip()
    if not _PLAIN_DECIMAL.match(text) or text.startswith(("-", "+")):
        raise ValueError(f"'{value}' is not a percent (write it like 2.9 or 33.33)")
    percent = Fraction(Decimal(text))
    if not 0 < percent <= 100:
        raise ValueError(f"'{value}' must be above 0 and at most 100")
    return percent


Percent = Annotated[Fraction, BeforeValidator(_percent)]
"""A percent between 0 (excluded) and 100, exact."""


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _no_blank_items(items: list[str]) -> list[str]:
    if not items:
        raise ValueError("give at least one value")
    if any(not item.strip() for item in items):
        raise ValueError("an empty text would match everything; remove it")
    return items


OneOrMany = Annotated[list[str], BeforeValidator(_one_or_many), AfterValidator(_no_blank_items)]
"""One text or a list of texts; a list means any of them."""


def _currency(items: list[str]) -> list[str]:
    bad = [c for c in items if not re.fullmatch(r"[A-Za-z]{3}", c)]
    if bad:
        raise ValueError(f"'{bad[0]}' is not a currency code (three letters, such as USD)")
    return [c.upper() for c in items]


CurrencyCode = Annotated[list[str], BeforeValidator(_one_or_many), AfterValidator(_currency)]


def regex_problem(pattern: str) -> str | None:
    """Why the regex engine that runs the rules (Rust `regex`, via Polars) refuses `pattern`, or None."""
    try:
        pl.select(pl.lit("").str.contains(f"(?i){pattern}"))
    except pl.exceptions.PolarsError as exc:
        lines = [line.strip() for line in str(exc).splitlines()]
        reason = next((line.removeprefix("error: ") for line in lines if line.startswith("error:")), lines[0])
        return f"not a valid regular expression: {reason}"
    return None


def _valid_regex(pattern: str) -> str:
    if not pattern:
        raise ValueError("an empty regex would match everything")
    problem = regex_problem(pattern)
    if problem:
        raise ValueError(problem)
    return pattern


Regex = Annotated[str, AfterValidator(_valid_regex)]


def regex_group_names(pattern: str) -> list[str]:
    """Names of the capture groups of `pattern`, in order: "1", "2" for unnamed groups, else the name."""
    frame = pl.select(pl.lit("").str.extract_groups(f"(?i){pattern}"))
    dtype = frame.to_series().dtype
    assert isinstance(dtype, pl.Struct)
    return [f.name for f in dtype.fields]


_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _weekdays(value: Any) -> list[int]:
    out = []
    for item in _one_or_many(value):
        name = str(item).strip().lower()
        hits = [i for i, day in enumerate(_WEEKDAYS, start=1) if len(name) >= 3 and day.startswith(name)]
        if len(hits) != 1:
            raise ValueError(f"'{item}' is not a weekday (monday ... sunday, or mon ... sun)")
        out.append(hits[0])
    return out


Weekday = Annotated[list[int], BeforeValidator(_weekdays)]
"""Weekday names -> ISO numbers (Monday = 1)."""

LAST_DAY = 0


def _days_of_month(value: Any) -> list[int]:
    out = []
    for item in [value] if isinstance(value, str | int) else value:
        text = str(item).strip().lower()
        if text == "last":
            out.append(LAST_DAY)
        elif text.isdigit() and 1 <= int(text) <= 31:
            out.append(int(text))
        else:
            raise ValueError(f"'{item}' is not a day of the month (1 ... 31, or last)")
    return out


DayOfMonth = Annotated[list[int], BeforeValidator(_days_of_month)]
"""Days of the month; `LAST_DAY` (0) stands for the month's last day."""
