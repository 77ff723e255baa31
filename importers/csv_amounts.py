"""Read the money columns of a bank CSV as exact minor units, whole columns at a time.

Each money column (amount, debit, credit, balance) is read with the profile's decimal
mark after its clean-up (the characters to strip, the thousands separator), with
accounting negatives "(12.50)" and a trailing minus "12,50-" understood. Money is
never a float on either path: plain amounts ("-1234.50") are settled on the text as
read by one pattern and a Decimal cast (`recon.money.plain_minor_expr`); only the rest
are stripped, cleaned and tried again, then go through the exact regex path
(`recon.money.exact_amount_expr`), each on a column that holds just those rows. The
first reading can run beside other work (`first_amount_reading`).

This module signs nothing and makes no Problem: an amount that is not exact is null,
and its text is left for the checks of `importers.csv_columns`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

from importers.csv_profile import CsvProfile
from recon.money import exact_amount_expr, plain_minor_expr, without_thousands

__all__ = ["amount_columns", "first_amount_reading"]


def _plain_text(text: pl.Expr, profile: CsvProfile) -> pl.Expr:
    """The amount text with the profile's clean-up that the fast path can do: literal removals only."""
    s = text
    for char in dict.fromkeys(profile.amount_strip):
        s = s.str.replace_all(char, "", literal=True)
    if profile.thousands_sep:
        s = without_thousands(s, profile.thousands_sep)
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


def _cleanup_removes(profile: CsvProfile) -> set[str]:
    """The characters the profile's amount clean-up removes (those to strip, and the thousands separator)."""
    return set(profile.amount_strip) | set(profile.thousands_sep or "")


def _as_read(profile: CsvProfile) -> bool:
    """Whether the profile's amount clean-up leaves a plain number as it is (it removes no digit, sign or mark)."""
    return not _cleanup_removes(profile) & set("0123456789+-" + profile.decimal_mark)


def first_amount_reading(raws: dict[str, str], profile: CsvProfile, one_currency: str) -> list[pl.Expr]:
    """The first reading of `amount_columns` with one currency, on the text as read (to run beside other work)."""
    if not _as_read(profile):
        return []
    return [
        plain_minor_expr(pl.col(c), one_currency, decimal_mark=profile.decimal_mark).alias(f"__minor_{r}")
        for r, c in raws.items()
    ]


def amount_columns(
    fields: pl.DataFrame,
    raws: dict[str, str],
    currency: pl.Expr,
    profile: CsvProfile,
    *,
    one_currency: str | None,
    first_reading_done: bool = False,
) -> pl.DataFrame:
    """`__minor_<role>` for each money column, and `__text_<role>`: its stripped text where the fast path failed.

    `raws` maps each money role to the frame column holding its text; `currency` is each
    row's currency, `one_currency` the file's when it has one (the fast path then needs
    no per-row currency). With `first_reading_done`, `first_amount_reading` already ran.
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
    removed = _cleanup_removes(profile)
    as_read = _as_read(profile)

    def fast(text: pl.Expr) -> pl.Expr:
        return plain_minor_expr(text, fast_currency, decimal_mark=profile.decimal_mark)

    if as_read and not first_reading_done:
        fields = fields.with_columns(fast(pl.col(c)).alias(f"__minor_{r}") for r, c in raws.items())
    elif as_read:
        pass  # `first_amount_reading` read them
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
