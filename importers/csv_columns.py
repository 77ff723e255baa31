"""Turn the text fields of a bank CSV into normalized bank rows, whole columns at a time.

Given the fields (all text) and the line of each row, a profile's column roles are
parsed as Polars expressions: dates against each declared format, amounts exactly
after the profile's clean-up, the sign from the amount, a debit/credit pair or an
indicator column. Each value that does not parse is a Problem with its line and the
column's name as the file writes it.

Speed: plain amounts ("-1,234.50") are settled by one pattern and a Decimal cast
(`recon.money.plain_minor_expr`); only the others go through the exact regex path,
run on a column that holds just those rows. Work that several checks share is
written to a column once, since eager Polars computes a repeated expression again.
Money is never a float on either path.
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
from recon.money import exact_amount_expr, plain_minor_expr

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


def _parse_date(text: pl.Expr, fmt: str) -> pl.Expr:
    if any(d in fmt for d in _TIME_DIRECTIVES):
        return text.str.to_datetime(fmt, strict=False).dt.date()
    return text.str.to_date(fmt, strict=False)


def _date_columns(fields: pl.DataFrame, texts: dict[str, pl.Expr], formats: list[str]) -> pl.DataFrame:
    """A date column per text: the first format that gives a plausible date wins.

    A two-digit year read as %Y is not plausible. Each format after the first only reads
    the rows the formats before it left; each step reads the columns of the step before
    (eager Polars computes a repeated expression again).
    """
    for i, fmt in enumerate(formats):
        todo = {n: t if i == 0 else pl.when(pl.col(n).is_null()).then(t) for n, t in texts.items()}
        fields = fields.with_columns(_parse_date(t, fmt).alias(f"{n}_try") for n, t in todo.items())
        # the usual file has no implausible date: its earliest and latest tell, without a pass per row
        span = fields.select(
            *(pl.col(f"{n}_try").min().alias(f"{n}_min") for n in texts),
            *(pl.col(f"{n}_try").max().alias(f"{n}_max") for n in texts),
        ).row(0, named=True)
        plausible = {
            n: pl.col(f"{n}_try")
            if span[f"{n}_min"] is None or (span[f"{n}_min"] >= _EARLIEST and span[f"{n}_max"] <= _LATEST)
            else pl.when(pl.col(f"{n}_try").is_between(_EARLIEST, _LATEST)).then(pl.col(f"{n}_try"))
            for n in texts
        }
        fields = fields.with_columns((p if i == 0 else pl.coalesce(n, p)).alias(n) for n, p in plausible.items())
    return fields.drop(f"{n}_try" for n in texts)


def _plain_text(text: pl.Expr, profile: CsvProfile) -> pl.Expr:
    """The amount text with the profile's clean-up that the fast path can do: literal removals only."""
    s = text
    for char in dict.fromkeys(profile.amount_strip):
        s = s.str.replace_all(char, "", literal=True)
    if profile.thousands_sep:
        s = s.str.replace_all(profile.thousands_sep, "", literal=True)
    return s


def _exact_amount(text: pl.Expr, currency: pl.Expr, profile: CsvProfile) -> pl.Expr:
    """Exact minor units from amount text as the profile writes it; null when it is not exact."""
    s = text
    if profile.amount_strip:
        s = s.str.replace_all("[" + re.escape(profile.amount_strip) + "]", "")
    if profile.thousands_sep is not None and profile.thousands_sep.isspace():
        s = s.str.replace_all(r"\s", "")
    s = s.str.replace(r"^([+-])\s+", "${1}")
    s = s.str.replace(r"^\((.*)\)$", "-${1}")  # accounting negatives: (12.50)
    s = s.str.replace(r"^([^+-].*)-$", "-${1}")  # trailing minus: 12,50-
    return exact_amount_expr(s, currency, decimal_mark=profile.decimal_mark, thousands_sep=profile.thousands_sep)


def _amount_columns(
    fields: pl.DataFrame, raws: dict[str, pl.Expr], currency: pl.Expr, profile: CsvProfile, *, one_currency: str | None
) -> pl.DataFrame:
    """`__minor_<role>` for each money column, and `__text_<role>`: its stripped text where the fast path failed.

    Plain numbers (nearly all) are settled by `plain_minor_expr` on the text as read; the
    rest (surrounding blanks, parentheses, junk, empty cells) is stripped and read by
    the exact path, on a column holding only those rows, so its regular expressions
    cost next to nothing. The checks read `__text_<role>`: null where the amount was
    settled, which no check flags. Each step reads columns the step before wrote
    (eager Polars computes a repeated expression again).
    """
    if not raws:
        return fields
    fast_currency = currency if one_currency is None else one_currency
    fields = fields.with_columns(_plain_text(t, profile).alias(f"__plain_{r}") for r, t in raws.items())
    fields = fields.with_columns(
        plain_minor_expr(pl.col(f"__plain_{r}"), fast_currency, decimal_mark=profile.decimal_mark).alias(f"__minor_{r}")
        for r in raws
    )
    fields = fields.drop(f"__plain_{r}" for r in raws).with_columns(
        pl.when(pl.col(f"__minor_{r}").is_null()).then(t).str.strip_chars().alias(f"__text_{r}")
        for r, t in raws.items()
    )
    rest_count = fields.select((pl.col(f"__text_{r}").str.len_bytes() > 0).sum() for r in raws).row(0)
    return fields.with_columns(
        pl.coalesce(pl.col(f"__minor_{r}"), _exact_amount(pl.col(f"__text_{r}"), currency, profile)).alias(
            f"__minor_{r}"
        )
        for r, count in zip(raws, rest_count, strict=True)
        if count
    )


def _tidy(text: pl.Expr) -> pl.Expr:
    """Stripped, with runs of whitespace as one space; the work only runs on the (few) rows that need it."""
    untidy = text.str.contains(r"^\s|\s$|[^\S ]|  ")
    return pl.coalesce(pl.when(untidy).then(text).str.strip_chars().str.replace_all(r"\s+", " "), text)


def _joined(parts: list[pl.Expr]) -> pl.Expr:
    """Description parts (tidy text columns) joined by a space, empty parts left out."""
    if len(parts) == 1:
        return parts[0]
    return pl.concat_str([_or_null(p) for p in parts], separator=" ", ignore_nulls=True).fill_null("")


def _raw(fields: pl.DataFrame, columns: list[str], delimiter: str) -> pl.Expr:
    """The row's fields joined by the delimiter: the record as read, for audit."""
    parts = []
    for c in columns:  # filling nulls costs a pass: only where there are some
        nulls = fields[c].null_count()
        parts.append(pl.col(c) if nulls == 0 else pl.lit("") if nulls == fields.height else pl.col(c).fill_null(""))
    return pl.concat_str(parts, separator=delimiter)


def _is_description(role: str) -> bool:
    return role == "description" or role.startswith("description_")


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
    # amounts are read as they are, and only the ones the fast path leaves are stripped
    texts = {r: c for r, c in resolved.items() if c is not None and fields[c].null_count() < fields.height}
    money_roles: list[str] = [r for r in ("amount", "debit", "credit", "balance") if r in texts]
    fields = fields.with_columns(
        (_tidy(pl.col(column).fill_null("")) if _is_description(role) else _text(column)).alias(f"__text_{role}")
        for role, column in texts.items()
        if role not in money_roles
    )

    def text(role: str) -> pl.Expr:
        return pl.col(f"__text_{role}") if role in texts else _text(None)

    def label(role: str) -> str:
        column = resolved.get(role)
        return column if column is not None else role

    cols = profile.columns
    fallback_currency = profile.currency or currency
    currency_text = text("currency").str.to_uppercase()
    dates = {"__posted_date": text("date"), "__value_date": text("value_date")}
    fields = _date_columns(fields, dates, profile.date_formats).with_columns(
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
            _quoted(row_currency) + pl.lit(" is not an ISO 4217 currency code"),
        ),
    ]
    # parse each money column once: the row, its checks and the balance all read the parsed column
    one_currency = fallback_currency if resolved.get("currency") is None else None
    raws = {r: pl.col(texts[r]).fill_null("") for r in money_roles}
    fields = _amount_columns(fields, raws, row_currency, profile, one_currency=one_currency)

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
    description_refs = [r for r in refs if _is_description(r)]
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
        _raw(fields, raw_columns, profile.delimiter).alias("raw"),
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
