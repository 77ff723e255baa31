"""Turn the text fields of a bank CSV into normalized bank rows, whole columns at a time.

Given the fields (all text) and the line of each row, a profile's column roles are
parsed as Polars expressions: dates against each declared format, amounts exactly
after the profile's clean-up, the sign from the amount, a debit/credit pair or an
indicator column. Each value that does not parse is a Problem with its line and the
column's name as the file writes it.

Speed: plain amounts ("-1234.50") are settled on the text as read by one pattern and a
Decimal cast (`recon.money.plain_minor_expr`), and dates by the first format on the text
as read; only the rest are stripped (amounts also cleaned and tried again) and go through
the exact regex path or the other formats, run on a column that holds just those rows.
These first readings run in one lazy step, side by side. Work that several checks share
is written to a column once, since eager Polars computes a repeated expression again.
`raw` is the record as the file has it (`importers.csv_bank` reads it), not rebuilt
from the fields. Money is never a float on either path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
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


def _date_first(columns: dict[str, str | None], formats: list[str]) -> list[pl.Expr]:
    """The first reading of `_date_columns`: the first format on the text as read (to run beside other work)."""
    return [_parse_date(pl.col(c), formats[0]).alias(n) for n, c in columns.items() if c is not None]


def _date_columns(
    fields: pl.DataFrame, columns: dict[str, str | None], formats: list[str], *, first_read: bool = False
) -> pl.DataFrame:
    """`<name>` (the date) and `__left<name>` (the stripped text where the text as read did not parse) per column.

    The first format that gives a plausible date wins (a two-digit year read as %Y is not
    plausible). Nearly every row is settled by the first format on the text as read; only
    the rest are stripped and tried with every format in turn, on a column holding just
    those rows. A missing column gives null dates and empty text. `__left<name>` is null
    where the date parsed, so the checks read it (eager Polars computes a repeated
    expression again: each step reads the columns of the step before).
    """
    present = {n: c for n, c in columns.items() if c is not None}
    fields = fields.with_columns(
        *([] if first_read else _date_first(columns, formats)),
        *(pl.lit(None, dtype=pl.Date).alias(n) for n, c in columns.items() if c is None),
        *(pl.lit("", dtype=pl.String).alias(f"__left{n}") for n, c in columns.items() if c is None),
    )
    fields = _plausible(fields, list(present))
    fields = fields.with_columns(
        pl.when(pl.col(n).is_null()).then(pl.col(c).fill_null("")).alias(f"__left{n}") for n, c in present.items()
    )
    left = [n for n in present if fields[f"__left{n}"].null_count() < fields.height]
    if not left:
        return fields  # every date parsed as read (string work on an all-null column still costs a pass)
    fields = fields.with_columns(pl.col(f"__left{n}").str.strip_chars() for n in left)
    for fmt in formats:
        fields = fields.with_columns(
            pl.when(pl.col(n).is_null()).then(_parse_date(pl.col(f"__left{n}"), fmt)).alias(f"__try{n}") for n in left
        )
        fields = _plausible(fields, [f"__try{n}" for n in left])
        fields = fields.with_columns(pl.coalesce(n, f"__try{n}").alias(n) for n in left)
    fields = fields.drop(f"__try{n}" for n in left)
    return fields.with_columns(
        pl.when(pl.col(n).is_null()).then(pl.col(f"__left{n}")).alias(f"__left{n}") for n in left
    )


def _plausible(fields: pl.DataFrame, names: list[str]) -> pl.DataFrame:
    """The date columns `names` with the implausible dates made null.

    The usual file has none: its earliest and latest date tell, without a pass per row.
    """
    if not names:
        return fields
    span = fields.select(
        *(pl.col(n).min().alias(f"{n}_min") for n in names), *(pl.col(n).max().alias(f"{n}_max") for n in names)
    ).row(0, named=True)
    return fields.with_columns(
        pl.when(pl.col(n).is_between(_EARLIEST, _LATEST)).then(pl.col(n)).alias(n)
        for n in names
        if span[f"{n}_min"] is not None and (span[f"{n}_min"] < _EARLIEST or span[f"{n}_max"] > _LATEST)
    )


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


def _as_read(profile: CsvProfile) -> bool:
    """Whether the profile's amount clean-up leaves a plain number as it is (it removes no digit, sign or mark)."""
    removed = set(profile.amount_strip) | set(profile.thousands_sep or "")
    return not removed & set("0123456789+-" + profile.decimal_mark)


def _amount_first(raws: dict[str, str], profile: CsvProfile, one_currency: str) -> list[pl.Expr]:
    """The first reading of `_amount_columns` with one currency, on the text as read (to run beside other work)."""
    if not _as_read(profile):
        return []
    return [
        plain_minor_expr(pl.col(c), one_currency, decimal_mark=profile.decimal_mark).alias(f"__minor_{r}")
        for r, c in raws.items()
    ]


def _amount_columns(
    fields: pl.DataFrame,
    raws: dict[str, str],
    currency: pl.Expr,
    profile: CsvProfile,
    *,
    one_currency: str | None,
    first_read: bool = False,
) -> pl.DataFrame:
    """`__minor_<role>` for each money column, and `__text_<role>`: its stripped text where the fast path failed.

    Plain numbers (nearly all) are settled by `plain_minor_expr` on the text as read,
    when the profile's clean-up cannot change a plain number (it removes no digit, sign
    or decimal mark); the rest (thousands separators, surrounding blanks, parentheses,
    junk, empty cells) is stripped, cleaned and tried again, then read by the exact path,
    each on a column holding only the rows still open, so their string work costs next
    to nothing. The checks read `__text_<role>`: null where the amount was settled,
    which no check flags. Each step reads columns the step before wrote (eager Polars
    computes a repeated expression again).
    """
    if not raws:
        return fields
    fast_currency = currency if one_currency is None else one_currency
    removed = set(profile.amount_strip) | set(profile.thousands_sep or "")
    as_read = _as_read(profile)

    def fast(text: pl.Expr) -> pl.Expr:
        return plain_minor_expr(text, fast_currency, decimal_mark=profile.decimal_mark)

    if as_read and not first_read:
        fields = fields.with_columns(fast(pl.col(c)).alias(f"__minor_{r}") for r, c in raws.items())
    elif as_read:
        pass  # `_amount_first` read them
    else:
        fields = fields.with_columns(_plain_text(pl.col(c), profile).alias(f"__plain_{r}") for r, c in raws.items())
        fields = fields.with_columns(fast(pl.col(f"__plain_{r}")).alias(f"__minor_{r}") for r in raws).drop(
            f"__plain_{r}" for r in raws
        )
    fields = fields.with_columns(
        pl.when(pl.col(f"__minor_{r}").is_null()).then(pl.col(c).fill_null("")).alias(f"__text_{r}")
        for r, c in raws.items()
    )
    # string work on an all-null column still costs a pass: strip only where some amount is left
    fields = fields.with_columns(
        pl.col(f"__text_{r}").str.strip_chars() for r in raws if fields[f"__text_{r}"].null_count() < fields.height
    )
    open_roles = [r for r, count in zip(raws, _open_counts(fields, raws), strict=True) if count]
    if as_read and removed and open_roles:
        fields = fields.with_columns(
            _plain_text(pl.col(f"__text_{r}"), profile).alias(f"__plain_{r}") for r in open_roles
        )
        fields = fields.with_columns(
            pl.coalesce(f"__minor_{r}", fast(pl.col(f"__plain_{r}"))).alias(f"__minor_{r}") for r in open_roles
        ).drop(f"__plain_{r}" for r in open_roles)
        fields = fields.with_columns(
            pl.when(pl.col(f"__minor_{r}").is_null()).then(pl.col(f"__text_{r}")).alias(f"__text_{r}")
            for r in open_roles
        )
        open_roles = [r for r, count in zip(open_roles, _open_counts(fields, open_roles), strict=True) if count]
    return fields.with_columns(
        pl.coalesce(pl.col(f"__minor_{r}"), _exact_amount(pl.col(f"__text_{r}"), currency, profile)).alias(
            f"__minor_{r}"
        )
        for r in open_roles
    )


def _open_counts(fields: pl.DataFrame, roles: Iterable[str]) -> tuple[int, ...]:
    """How many rows of each money column are not settled yet and not empty (an all-null column costs no pass)."""
    roles = list(roles)
    some = [r for r in roles if fields[f"__text_{r}"].null_count() < fields.height]
    found = fields.select((pl.col(f"__text_{r}").str.len_bytes() > 0).sum() for r in some).row(0) if some else ()
    counts = dict(zip(some, found, strict=True))
    return tuple(counts.get(r, 0) for r in roles)


_UNTIDY = r"^\s|\s$|[^\S ]|  "


def _untidy(column: str) -> pl.Expr:
    """Whether the text needs `_tidy` (to run beside other work)."""
    return pl.col(column).str.contains(_UNTIDY)


def _tidy(fields: pl.DataFrame, column: str, untidy: str) -> pl.Expr:
    """The column's text stripped, with runs of whitespace as one space, where `untidy` (seldom) says so."""
    text = pl.col(column)
    if fields[column].null_count():
        text = text.fill_null("")
    if not fields[untidy].any():
        return text
    return pl.coalesce(pl.when(pl.col(untidy)).then(text).str.strip_chars().str.replace_all(r"\s+", " "), text)


def _joined(parts: list[pl.Expr]) -> pl.Expr:
    """Description parts (tidy text columns) joined by a space, empty parts left out."""
    if len(parts) == 1:
        return parts[0]
    return pl.concat_str([_or_null(p) for p in parts], separator=" ", ignore_nulls=True).fill_null("")


def _raw(fields: pl.DataFrame, columns: list[str], delimiter: str) -> pl.Expr:
    """The row's fields joined by the delimiter: the record as read, for audit, when its lines are not known."""
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
    date_columns = {n: texts.get(r) for r, n in date_roles.items()}
    descriptions = [r for r in texts if _is_description(r)]
    fallback_currency = profile.currency or currency
    one_currency = fallback_currency if resolved.get("currency") is None else None
    amounts = {r: texts[r] for r in money_roles}
    # the costly first readings in one step, so that Polars runs them side by side (lazy: it spreads them better)
    fields = (
        fields.lazy()
        .with_columns(
            *(
                _text(c).alias(f"__text_{r}")
                for r, c in texts.items()
                if r not in (*money_roles, *date_roles, *descriptions)
            ),
            *(_untidy(texts[r]).alias(f"__untidy_{r}") for r in descriptions),
            *_date_first(date_columns, profile.date_formats),
            *(_amount_first(amounts, profile, one_currency) if one_currency is not None else []),
        )
        .collect()
    )
    fields = fields.with_columns(_tidy(fields, texts[r], f"__untidy_{r}").alias(f"__text_{r}") for r in descriptions)

    def text(role: str) -> pl.Expr:
        if role in date_roles:  # the stripped text of the rows whose date did not parse as read
            return pl.col(f"__left{date_roles[role]}")
        return pl.col(f"__text_{role}") if role in texts else _text(None)

    def label(role: str) -> str:
        column = resolved.get(role)
        return column if column is not None else role

    cols = profile.columns
    currency_text = text("currency").str.to_uppercase()
    fields = _date_columns(fields, date_columns, profile.date_formats, first_read=True).with_columns(
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
    fields = _amount_columns(
        fields, amounts, row_currency, profile, one_currency=one_currency, first_read=one_currency is not None
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
    description_refs = [r for r in refs if _is_description(r)]
    if callable(records):
        records = records()
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
        records.alias("raw") if records is not None else _raw(fields, raw_columns, profile.delimiter).alias("raw"),
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
