"""Turn the text fields of a bank CSV into normalized bank rows, whole columns at a time.

Given the fields (all text) and the line of each row, the profile's column roles are
found in the file and parsed as Polars expressions: dates (`importers.csv_dates`),
exact amounts (`importers.csv_amounts`) and text (`importers.csv_text_roles`). Here
the row is put together: its amount signed by the column layout the profile declares
(the sign of the amount, a debit/credit pair or an indicator column), its checks, its
raw record, and the closing balance of a balance column. Each value that does not
parse is a Problem with its line and the column's name as the file writes it.

Speed: the costly first readings (dates and plain amounts on the text as read, whether
a description needs tidying) run in one lazy step, side by side. Work that several
checks share is written to a column once, since eager Polars computes a repeated
expression again. `raw` is the record as the file has it when the caller passes the
records (`importers.csv_table` reads them beside the fields); otherwise the row's
fields joined by the delimiter stand in. Money is never a float.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from importers.base import Extract, StatementBalance
from importers.csv_amounts import amount_columns, first_amount_reading
from importers.csv_dates import date_columns, first_date_reading
from importers.csv_header import column_position
from importers.csv_profile import ColumnRef, CsvProfile
from importers.csv_text_roles import is_description, joined, or_null, raw_from_fields, role_text, tidy, untidy
from recon.errors import Problem
from recon.model import BANK_EXTRACT

__all__ = ["parse_rows"]

_CURRENCY_CODE = r"^[A-Z]{3}$"
_NOT_EXACT = pl.lit(" is not an exact amount")


@dataclass(frozen=True, slots=True)
class _Check:
    """A rule a parsed row must meet; `failed` is true for the rows that break it."""

    role: str
    failed: pl.Expr
    message: pl.Expr


def _resolve(fields: pl.DataFrame, ref: ColumnRef) -> str | None:
    """The frame column a profile reference means, or None when the file lacks it."""
    if isinstance(ref, int):
        return fields.columns[ref - 1] if 1 <= ref <= fields.width else None
    position = column_position(fields.columns, ref)
    return None if position is None else fields.columns[position]


def _quoted(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr == "").then(pl.lit("(empty)")).otherwise(pl.lit("'") + expr + pl.lit("'"))


def parse_rows(
    name: str,
    fields: pl.DataFrame,
    lines: pl.Series,
    header_line: int | None,
    profile: CsvProfile,
    currency: str,
    *,
    records: pl.Series | Callable[[], pl.Series | None] | None = None,
) -> Extract:
    """Normalized rows, the problems, the closing balance (where a balance column exists) and the accounts named.

    `records` is each row's source record as the file has it, stored as `raw` (or a function
    giving them, called only when they are needed); without them the row's fields joined by
    the delimiter stand in.
    """
    refs = profile.columns.refs()
    raw_columns = list(fields.columns)
    resolved: dict[str, str | None] = {role: _resolve(fields, ref) for role, ref in refs.items()}
    missing = [role for role, column in resolved.items() if column is None]
    if missing:
        shown = ", ".join(fields.columns) or "(no columns)"
        return Extract(BANK_EXTRACT.empty_frame(), [
            Problem(name, header_line, str(refs[role]), f"column not in the file ({profile.name or 'profile'} "
                    f"expects it as {role}); the file has: {shown}")
            for role in missing
        ])  # fmt: skip
    if fields.height == 0:
        return Extract(BANK_EXTRACT.empty_frame())

    # each role's stripped text once, as a column (eager Polars computes a repeated expression again);
    # a column with no value at all (a balance nobody fills) reads as empty text without work;
    # amounts and dates are read as they are, and only the ones that do not parse are stripped
    texts = {r: c for r, c in resolved.items() if c is not None and fields[c].null_count() < fields.height}
    money_roles: list[str] = [r for r in ("amount", "debit", "credit", "balance") if r in texts]
    date_roles = {"date": "__posted_date", "value_date": "__value_date"}
    date_sources = {n: texts.get(r) for r, n in date_roles.items()}
    descriptions = [r for r in texts if is_description(r)]
    fallback_currency = profile.currency or currency
    one_currency = fallback_currency if resolved.get("currency") is None else None
    amounts = {r: texts[r] for r in money_roles}
    # the costly first readings in one step, so that Polars runs them side by side (lazy: it spreads them better)
    fields = (
        fields.lazy()
        .with_columns(
            *(
                role_text(c).alias(f"__text_{r}")
                for r, c in texts.items()
                if r not in (*money_roles, *date_roles, *descriptions)
            ),
            *(untidy(texts[r]).alias(f"__untidy_{r}") for r in descriptions),
            *first_date_reading(date_sources, profile.date_formats),
            *(first_amount_reading(amounts, profile, one_currency) if one_currency is not None else []),
        )
        .collect()
    )
    fields = fields.with_columns(tidy(fields, texts[r], f"__untidy_{r}").alias(f"__text_{r}") for r in descriptions)

    def text(role: str) -> pl.Expr:
        if role in date_roles:  # the stripped text of the rows whose date did not parse as read
            return pl.col(f"__left{date_roles[role]}")
        return pl.col(f"__text_{role}") if role in texts else role_text(None)

    def label(role: str) -> str:
        column = resolved.get(role)
        return column if column is not None else role

    cols = profile.columns
    currency_text = text("currency").str.to_uppercase()
    fields = date_columns(fields, date_sources, profile.date_formats, first_reading_done=True).with_columns(
        pl.when(currency_text == "").then(pl.lit(fallback_currency)).otherwise(currency_text).alias("__currency"),
    )
    posted_date, value_date, row_currency = pl.col("__posted_date"), pl.col("__value_date"), pl.col("__currency")
    checks: list[_Check] = [
        _Check("date", text("date") == "", pl.lit("empty date")),
        _Check(
            "date",
            (text("date") != "") & posted_date.is_null(),
            _quoted(text("date")) + pl.lit(f" is not a date ({' or '.join(profile.date_formats)})"),
        ),
        _Check(
            "value_date",
            (text("value_date") != "") & value_date.is_null(),
            _quoted(text("value_date")) + pl.lit(f" is not a date ({' or '.join(profile.date_formats)})"),
        ),
        _Check(
            "currency",
            # one currency for the whole file is checked once, not on every row
            pl.lit(re.fullmatch(_CURRENCY_CODE, fallback_currency) is None)
            if resolved.get("currency") is None
            else ~row_currency.str.contains(_CURRENCY_CODE),
            _quoted(row_currency) + pl.lit(" is not a currency code (three letters, such as USD)"),
        ),
    ]
    # parse each money column once: the row, its checks and the balance all read the parsed column
    fields = amount_columns(
        fields, amounts, row_currency, profile, one_currency=one_currency, first_reading_done=one_currency is not None
    )

    def minor(role: str) -> pl.Expr:
        return pl.col(f"__minor_{role}") if role in money_roles else pl.lit(None, dtype=pl.Int64)

    amount, amount_checks = _signed_amount(text, label, minor, profile)
    checks.extend(amount_checks)
    if profile.sign.amount_positive == "money_out":
        amount = -amount
    balance = minor("balance")
    if cols.balance is not None:
        checks.append(
            _Check("balance", (text("balance") != "") & balance.is_null(), _quoted(text("balance")) + _NOT_EXACT)
        )
    description_refs = [r for r in refs if is_description(r)]
    if callable(records):
        records = records()
    pending_values = [v.lower() for v in profile.sign.pending_values]

    frame = fields.select(
        pl.Series("source_line", lines, dtype=pl.Int64),
        or_null(text("external_id")).alias("external_id"),
        posted_date.alias("posted_date"),
        value_date.alias("value_date"),
        amount.alias("amount_minor"),
        row_currency.alias("currency"),
        joined([text(r) for r in description_refs]).alias("description"),
        or_null(text("payee")).alias("payee"),
        or_null(text("reference")).alias("reference"),
        or_null(text("check_number")).alias("check_number"),
        or_null(text("type")).alias("transaction_type"),
        text("status").str.to_lowercase().is_in(pending_values).alias("pending"),
        pl.lit(name).alias("source_file"),
        pl.lit(None, dtype=pl.String).alias("source_element"),
        records.alias("raw")
        if records is not None
        else raw_from_fields(fields, raw_columns, profile.delimiter).alias("raw"),
        balance.alias("_balance"),
        text("account").alias("_account"),
        # the checks read the columns parsed above, as the rows do
        *[c.failed.fill_null(False).alias(f"_failed_{i}") for i, c in enumerate(checks)],
    )
    problems = _problems(name, fields.with_columns(frame["source_line"]), frame, checks, label)
    rows = BANK_EXTRACT.conform(frame)
    balances = [] if problems or cols.balance is None else _closing_balance(frame)
    accounts = frame.filter(pl.col("_account") != "")["_account"].unique(maintain_order=True).to_list()
    return Extract(rows, problems, balances, accounts)


def _signed_amount(
    text: Callable[[str], pl.Expr], label: Callable[[str], str], minor: Callable[[str], pl.Expr], profile: CsvProfile
) -> tuple[pl.Expr, list[_Check]]:
    """The amount in minor units, signed by the column layout the profile declares, and its checks."""
    cols = profile.columns
    checks: list[_Check] = []
    if cols.amount is not None:
        amount = minor("amount")
        checks.append(_Check("amount", amount.is_null(), _quoted(text("amount")) + _NOT_EXACT))
        if cols.indicator is not None:
            mark = text("indicator").str.to_lowercase()
            sign = (
                pl.when(mark.is_in([v.lower() for v in profile.sign.credit_values]))
                .then(1)
                .when(mark.is_in([v.lower() for v in profile.sign.debit_values]))
                .then(-1)
            )
            amount = amount.abs() * sign
            credit, debit = "/".join(profile.sign.credit_values), "/".join(profile.sign.debit_values)
            checks.append(
                _Check(
                    "indicator",
                    sign.is_null(),
                    _quoted(text("indicator")) + pl.lit(f" is neither a credit ({credit}) nor a debit ({debit}) mark"),
                )
            )
    else:
        debit_amount = minor("debit")
        credit_amount = minor("credit")
        # the column says which way the money went, whatever sign the bank wrote in it
        amount = credit_amount.abs().fill_null(0) - debit_amount.abs().fill_null(0)
        for role, parsed in (("debit", debit_amount), ("credit", credit_amount)):
            checks.append(_Check(role, (text(role) != "") & parsed.is_null(), _quoted(text(role)) + _NOT_EXACT))
        checks.append(
            _Check(
                "debit",
                (text("debit") == "") & (text("credit") == ""),
                pl.lit(f"no amount: both '{label('debit')}' and '{label('credit')}' are empty"),
            )
        )
        # netting them would hide which way the money went: a row moves money one way
        checks.append(
            _Check(
                "credit",
                (debit_amount != 0) & (credit_amount != 0),
                pl.lit(f"both '{label('debit')}' and '{label('credit')}' hold an amount; a row is money in or out"),
            )
        )
    return amount, checks


def _problems(
    name: str, fields: pl.DataFrame, frame: pl.DataFrame, checks: list[_Check], label: Callable[[str], str]
) -> list[Problem]:
    """A Problem per failed check; messages are built for the failing rows only (usually none)."""
    problems: list[Problem] = []
    for i, check in enumerate(checks):
        failed = frame[f"_failed_{i}"]
        if not failed.any():
            continue
        bad = fields.filter(failed).select("source_line", check.message.alias("message"))
        problems.extend(Problem(name, line, label(check.role), message) for line, message in bad.iter_rows())
    problems.sort(key=lambda p: p.line or 0)
    return problems


def _closing_balance(parsed: pl.DataFrame) -> list[StatementBalance]:
    """The balance after the latest row: the first row of a newest-first file, else the last."""
    with_balance = parsed.filter(pl.col("_balance").is_not_null())
    if with_balance.height == 0:
        return []
    dates = with_balance["posted_date"]
    steps = dates.diff().drop_nulls().dt.total_days()
    newest_first = dates[0] > dates[-1] and bool((steps <= 0).all())
    row = with_balance.row(0 if newest_first else -1, named=True)
    return [StatementBalance("closing", row["posted_date"], row["_balance"], row["currency"])]
