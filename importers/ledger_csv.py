"""The generic ledger CSV of DESIGN.md: the book side every ledger importer can emit.

Header `id,date,amount,description,counterparty,reference,account`; ISO dates;
decimal amounts with a dot, signed from the bank account's point of view. An
optional `currency` column overrides the account's currency per row.

Parsing is vectorized (Polars reads every field as text, then dates and amounts
are parsed as whole columns); each value that does not parse becomes a Problem
naming its line and column.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from importers.base import Extract, Side, read_head
from importers.csv_ragged import ragged_problems
from recon.errors import Problem
from recon.model import LEDGER_EXTRACT
from recon.money import parse_amount_expr

REQUIRED = ("id", "date", "amount", "description")
OPTIONAL = ("counterparty", "reference", "account", "currency")


class GenericLedgerCsv:
    format = "csv"
    side: Side = "ledger"

    def identify(self, path: Path) -> bool:
        first = read_head(path, 1024).decode("utf-8-sig", errors="replace").splitlines()[:1]
        header = {h.strip().lower() for h in first[0].split(",")} if first else set()
        return set(REQUIRED) <= header

    def extract(self, path: Path, *, currency: str) -> Extract:
        name = str(path)
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            return _refused(name, line, None, f"not UTF-8 text (byte {data[exc.start]:#x})")
        if not data.strip():
            return _refused(name, 1, None, "empty file: expected the header " + ",".join(REQUIRED + OPTIONAL))
        try:
            text = pl.read_csv(data, infer_schema=False, truncate_ragged_lines=True)
        except pl.exceptions.PolarsError as exc:
            return _refused(name, None, None, f"not a readable CSV file: {str(exc).splitlines()[0]}")
        text = text.rename({c: c.strip().lower() for c in text.columns})
        missing = [c for c in REQUIRED if c not in text.columns]
        if missing:
            return _refused(name, 1, missing[0], "missing column; expected header " + ",".join(REQUIRED))
        ragged = ragged_problems(name, _records(data.decode(), text), text.select(_line_numbers(text)).to_series(),
                                 width=text.width)  # fmt: skip
        if ragged:
            return Extract(LEDGER_EXTRACT.empty_frame(), ragged)
        return _parse(name, text, currency)


def _refused(name: str, line: int | None, field: str | None, message: str) -> Extract:
    return Extract(LEDGER_EXTRACT.empty_frame(), [Problem(name, line, field, message)])


def _records(data: str, text: pl.DataFrame) -> pl.Series:
    """Each row's record as the file has it (the lines of a record with a quoted line break joined by "\\n")."""
    lines = data.replace("\r\n", "\n").split("\n")
    spans = text.select(_line_numbers(text).alias("start"), _lines_per_row(text).alias("lines")).iter_rows()
    return pl.Series("raw", ["\n".join(lines[start - 1 : start - 1 + n]) for start, n in spans], dtype=pl.String)


def _lines_per_row(text: pl.DataFrame) -> pl.Expr:
    return pl.lit(1) + pl.sum_horizontal(pl.col(c).fill_null("").str.count_matches("\n") for c in text.columns)


def _line_numbers(text: pl.DataFrame) -> pl.Expr:
    # A quoted field may hold newlines: each row starts after all lines of the rows before it.
    lines_per_row = _lines_per_row(text)
    return (pl.lit(2) + lines_per_row.cum_sum() - lines_per_row).cast(pl.Int64)


def _parse(name: str, text: pl.DataFrame, currency: str) -> Extract:
    def col(c: str) -> pl.Expr:
        return pl.col(c).str.strip_chars() if c in text.columns else pl.lit(None, dtype=pl.String)

    cur = pl.coalesce(col("currency").str.to_uppercase().replace("", None), pl.lit(currency))
    parsed = text.select(
        _line_numbers(text).alias("source_line"),
        col("id").replace("", None).alias("external_id"),
        col("date").str.to_date("%Y-%m-%d", strict=False).alias("posted_date"),
        parse_amount_expr(col("amount"), cur).alias("amount_minor"),
        cur.alias("currency"),
        col("description").fill_null("").alias("description"),
        col("counterparty").replace("", None).alias("counterparty"),
        col("reference").replace("", None).alias("reference"),
        col("account").replace("", None).alias("ledger_account"),
        pl.lit(name).alias("source_file"),
        pl.lit(None, dtype=pl.String).alias("source_element"),
        pl.concat_str([pl.col(c).fill_null("") for c in text.columns], separator=",").alias("raw"),
        col("date").alias("_date_text"),
        col("amount").alias("_amount_text"),
    )
    problems = _problems(name, parsed)
    rows = LEDGER_EXTRACT.conform(parsed.drop("_date_text", "_amount_text"))
    return Extract(rows, problems)


def _problems(name: str, parsed: pl.DataFrame) -> list[Problem]:
    checks = (
        ("date", pl.col("posted_date").is_null(), "_date_text", "is not a date (YYYY-MM-DD)"),
        ("amount", pl.col("amount_minor").is_null(), "_amount_text", "is not an exact amount"),
    )
    problems = []
    for field, failed, text_col, message in checks:
        bad = parsed.filter(failed).select("source_line", text_col)
        for line, value in bad.iter_rows():
            shown = "(empty)" if not value else f"'{value}'"
            problems.append(Problem(name, line, field, f"{shown} {message}"))
    problems.sort(key=lambda p: p.line or 0)
    return problems
