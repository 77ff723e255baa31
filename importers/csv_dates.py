"""Read the date columns of a bank CSV, whole columns at a time, against the profile's formats.

A value parses when a declared format reads it as a plausible date (1900 to 2199: a
two-digit year read as %Y is not plausible); the first such format wins. Formats
with a time part are read as date-times and keep the date.

Speed: nearly every row is settled by the first format on the text as read; only the
rest are stripped and tried with every format in turn, on a column that holds just
those rows. The first reading can run beside other work (`first_date_reading`). The
checks of `importers.csv_columns` read the text left over, which is written to a
column once (eager Polars computes a repeated expression again). This module never
makes a Problem: a date that does not parse is null, and its text is left for the checks.
"""

from __future__ import annotations

from datetime import date

import polars as pl

__all__ = ["date_columns", "first_date_reading"]

_EARLIEST, _LATEST = date(1900, 1, 1), date(2199, 12, 31)
_TIME_DIRECTIVES = ("%H", "%M", "%S", "%T", "%I", "%p")


def _parse_date(text: pl.Expr, fmt: str) -> pl.Expr:
    if any(d in fmt for d in _TIME_DIRECTIVES):
        return text.str.to_datetime(fmt, strict=False).dt.date()
    return text.str.to_date(fmt, strict=False)


def first_date_reading(columns: dict[str, str | None], formats: list[str]) -> list[pl.Expr]:
    """The first reading of `date_columns`: the first format on the text as read (to run beside other work)."""
    return [_parse_date(pl.col(c), formats[0]).alias(n) for n, c in columns.items() if c is not None]


def date_columns(
    fields: pl.DataFrame, columns: dict[str, str | None], formats: list[str], *, first_reading_done: bool = False
) -> pl.DataFrame:
    """`<name>` (the date) and `__left<name>` (the stripped text where the text as read did not parse) per column.

    `columns` maps each name to write to the frame column holding its text (None: the
    file lacks it). With `first_reading_done`, `first_date_reading` already wrote `<name>`.
    The first format that gives a plausible date wins. Nearly every row is settled by
    the first format on the text as read; only the rest are stripped and tried with
    every format in turn, on a column holding just those rows. A missing column gives
    null dates and empty text. `__left<name>` is null where the date parsed, so the
    checks read it (eager Polars computes a repeated expression again: each step reads
    the columns of the step before).
    """
    present = {n: c for n, c in columns.items() if c is not None}
    fields = fields.with_columns(
        *([] if first_reading_done else first_date_reading(columns, formats)),
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
