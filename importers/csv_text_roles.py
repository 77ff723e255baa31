"""The text of a bank CSV row's text roles, whole columns at a time: stripped, tidied, joined.

A role's text is its field stripped (a column the file lacks reads as empty text); an
optional role (payee, reference, ...) keeps an empty value as null; the description
parts are tidied (runs of whitespace as one space) and joined by a space; and when the
file's records are not known, the row's fields joined by the delimiter stand in for `raw`.

Speed: the tidying is seldom needed, so whether a value needs it is found beside other
work (`untidy`) and only those values are rewritten; a fill of nulls costs a pass and is
done only on columns that hold some. Nothing here parses a value or makes a Problem.
"""

from __future__ import annotations

import polars as pl

__all__ = ["is_description", "joined", "or_null", "raw_from_fields", "role_text", "tidy", "untidy"]

_UNTIDY = r"^\s|\s$|[^\S ]|  "


def role_text(column: str | None) -> pl.Expr:
    """The column's text stripped; empty text where the file lacks the column (None)."""
    if column is None:
        return pl.lit("", dtype=pl.String)
    return pl.col(column).fill_null("").str.strip_chars()


def or_null(expr: pl.Expr) -> pl.Expr:
    """The text, with empty text as null."""
    return pl.when(expr == "").then(None).otherwise(expr)


def is_description(role: str) -> bool:
    """Whether the role is a part of the description (`description`, `description_2`, ...)."""
    return role == "description" or role.startswith("description_")


def untidy(column: str) -> pl.Expr:
    """Whether the text needs `tidy` (to run beside other work)."""
    return pl.col(column).str.contains(_UNTIDY)


def tidy(fields: pl.DataFrame, column: str, untidy_column: str) -> pl.Expr:
    """The column's text stripped, with runs of whitespace as one space, where `untidy_column` (seldom) says so."""
    text = pl.col(column)
    if fields[column].null_count():
        text = text.fill_null("")
    if not fields[untidy_column].any():
        return text
    return pl.coalesce(pl.when(pl.col(untidy_column)).then(text).str.strip_chars().str.replace_all(r"\s+", " "), text)


def joined(parts: list[pl.Expr]) -> pl.Expr:
    """Description parts (tidy text columns) joined by a space, empty parts left out."""
    if len(parts) == 1:
        return parts[0]
    return pl.concat_str([or_null(p) for p in parts], separator=" ", ignore_nulls=True).fill_null("")


def raw_from_fields(fields: pl.DataFrame, columns: list[str], delimiter: str) -> pl.Expr:
    """The row's fields joined by the delimiter: the stand-in for `raw` when the file's records are not known.

    It is not the record as the file has it: the quoting is lost.
    """
    parts = []
    for c in columns:  # filling nulls costs a pass: only where there are some
        nulls = fields[c].null_count()
        parts.append(pl.col(c) if nulls == 0 else pl.lit("") if nulls == fields.height else pl.col(c).fill_null(""))
    return pl.concat_str(parts, separator=delimiter)
