"""Turn the text fields of a bank CSV into normalized bank rows, whole columns at a time.

Given the fields (all text) and the line of each row, a profile's column roles are
parsed as Polars expressions: dates against each declared format, amounts exactly
(`recon.money.parse_amount_expr`) after the profile's clean-up, the sign from the
amount, a debit/credit pair or an indicator column. Each value that does not parse
is a Problem with its line and the column's name as the file writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from importers.base import Extract, StatementBalance
from importers.csv_profile import ColumnRef, CsvProfile
from recon.errors import Problem
from recon.model import BANK_EXTRACT
from recon.money import parse_amount_expr

__all__ = ["parse_rows"]

_EARLIEST, _LATEST = date(1900, 1, 1), date(2199, 12, 31)
_TIME_DIRECTIVES = ("%H", "%M", "%S", "%T", "%I", "%p")
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
    wanted = ref.strip()
    if wanted in fields.columns:
        return wanted
    return next((c for c in fields.columns if c.lower() == wanted.lower()), None)


def _text(column: str | None) -> pl.Expr:
    if column is None:
        return pl.lit("", dtype=pl.String)
    return pl.col(column).fill_null("").str.strip_chars()


def _or_null(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr == "").then(None).otherwise(expr)


def _date(text: pl.Expr, formats: list[str]) -> pl.Expr:
    """The first format that gives a plausible date wins; a two-digit year read as %Y is not plausible."""
    tries = []
    for fmt in formats:
        if any(d in fmt for d in _TIME_DIRECTIVES):
            parsed = text.str.to_datetime(fmt, strict=False).dt.date()
        else:
            parsed = text.str.to_date(fmt, strict=False)
        tries.append(pl.when(parsed.is_between(_EARLIEST, _LATEST)).then(parsed))
    return pl.coalesce(tries)


def _amount(text: pl.Expr, currency: pl.Expr, profile: CsvProfile) -> pl.Expr:
    """Exact minor units from amount text as the profile writes it; null when it is not exact."""
    s = text
    if profile.amount_strip:
        s = s.str.replace_all("[" + re.escape(profile.amount_strip) + "]", "")
    if profile.thousands_sep is not None and profile.thousands_sep.isspace():
        s = s.str.replace_all(r"\s", "")
    s = s.str.replace(r"^([+-])\s+", "${1}")
    s = s.str.replace(r"^\((.*)\)$", "-${1}")  # accounting negatives: (12.50)
    s = s.str.replace(r"^([^+-].*)-$", "-${1}")  # trailing minus: 12,50-
    return parse_amount_expr(s, currency, decimal_mark=profile.decimal_mark, thousands_sep=profile.thousands_sep)


def _joined(parts: list[pl.Expr]) -> pl.Expr:
    cleaned = [_or_null(p.str.replace_all(r"\s+", " ")) for p in parts]
    return pl.concat_str(cleaned, separator=" ", ignore_nulls=True).fill_null("")


def _quoted(expr: pl.Expr) -> pl.Expr:
    return pl.when(expr == "").then(pl.lit("(empty)")).otherwise(pl.lit("'") + expr + pl.lit("'"))


def parse_rows(
    name: str,
    fields: pl.DataFrame,
    lines: pl.Series,
    header_line: int | None,
    profile: CsvProfile,
    currency: str,
) -> Extract:
    """Normalized rows, the problems, the closing balance (where a balance column exists) and the accounts named."""
    refs = profile.columns.refs()
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

    def text(role: str) -> pl.Expr:
        return _text(resolved.get(role))

    def label(role: str) -> str:
        column = resolved.get(role)
        return column if column is not None else role

    cols = profile.columns
    posted_date = _date(text("date"), profile.date_formats)
    value_date = _date(text("value_date"), profile.date_formats)
    fallback_currency = profile.currency or currency
    currency_text = text("currency").str.to_uppercase()
    row_currency = pl.when(currency_text == "").then(pl.lit(fallback_currency)).otherwise(currency_text)
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
            ~row_currency.str.contains(_CURRENCY_CODE),
            _quoted(row_currency) + pl.lit(" is not an ISO 4217 currency code"),
        ),
    ]
    # parse each money column once: the row, its checks and the balance all read the parsed column
    raw_columns = list(fields.columns)
    money_roles = [r for r in ("amount", "debit", "credit", "balance") if resolved.get(r) is not None]
    fields = fields.with_columns(_amount(text(r), row_currency, profile).alias(f"__minor_{r}") for r in money_roles)

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
    description_refs = [r for r in refs if r == "description" or r.startswith("description_")]
    pending_values = [v.lower() for v in profile.sign.pending_values]

    frame = fields.select(
        pl.Series("source_line", lines, dtype=pl.Int64),
        _or_null(text("external_id")).alias("external_id"),
        posted_date.alias("posted_date"),
        value_date.alias("value_date"),
        amount.alias("amount_minor"),
        row_currency.alias("currency"),
        _joined([text(r) for r in description_refs]).alias("description"),
        _or_null(text("payee")).alias("payee"),
        _or_null(text("reference")).alias("reference"),
        _or_null(text("check_number")).alias("check_number"),
        _or_null(text("type")).alias("transaction_type"),
        text("status").str.to_lowercase().is_in(pending_values).alias("pending"),
        pl.lit(name).alias("source_file"),
        pl.lit(None, dtype=pl.String).alias("source_element"),
        pl.concat_str([pl.col(c).fill_null("") for c in raw_columns], separator=profile.delimiter).alias("raw"),
        balance.alias("_balance"),
        text("account").alias("_account"),
        # in the same select, so that Polars parses each column once for the rows and the checks
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
