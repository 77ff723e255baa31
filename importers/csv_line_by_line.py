"""The general way to read a bank CSV: every line is looked at in Python.

It reads any file the fast path (`importers.csv_one_row_per_line`) leaves: junk lines
and the lines the profile's `drop_lines_matching` names are dropped, and a quoted field
may hold line breaks (such a row starts at its first line, and its record is its lines
joined by "\\n"). A file whose header cannot be found or that Polars cannot split is a
Problem with the reason; it is the path that words those problems.
"""

from __future__ import annotations

import polars as pl

from importers.csv_fields import CsvTable, junk_pattern, read_fields
from importers.csv_header import header_index, split_lines
from importers.csv_profile import CsvProfile
from importers.csv_ragged import header_width
from recon.errors import Problem

__all__ = ["read_line_by_line"]


def read_line_by_line(name: str, text: str, profile: CsvProfile) -> CsvTable | Problem:
    """The general path: every line is looked at, junk lines and `drop_lines_matching` lines are dropped."""
    lines = split_lines(text)
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    end -= profile.skip_footer
    if profile.has_header:
        header_at = header_index(lines[:end], profile)
        if header_at is None:
            where = (
                f"no line matches header_pattern '{profile.header_pattern}'"
                if profile.header_pattern
                else f"the file has no line {profile.skip_lines + 1} for the header"
            )
            return Problem(name, None, None, f"header not found: {where}")
        first_data = header_at + 1
    else:
        header_at, first_data = None, profile.skip_lines

    body = pl.DataFrame({"text": pl.Series(lines[first_data:end], dtype=pl.String)}).with_row_index(
        "line", offset=first_data + 1
    )
    junk = pl.col("text").str.contains(junk_pattern(profile))
    for pattern in profile.drop_lines_matching:
        junk = junk | pl.col("text").str.contains(pattern)
    body = body.filter(~junk)
    header_text = lines[header_at] + "\n" if header_at is not None else ""
    csv_text = header_text + "\n".join(body["text"].to_list())
    fields = read_fields(csv_text.encode(), profile)
    if isinstance(fields, str):
        return Problem(name, None, None, fields)
    header_line = header_at + 1 if header_at is not None else None
    width = header_width(lines[header_at], profile) if header_at is not None else None
    if fields.width == 0 or fields.height == 0:
        return CsvTable(
            fields, pl.Series("line", [], dtype=pl.Int64), header_line, pl.Series("raw", [], pl.String), width
        )
    kept_lines = body["line"].cast(pl.Int64)
    if fields.height == kept_lines.len():  # one line per row: the common case
        return CsvTable(fields, kept_lines, header_line, body["text"].alias("raw"), width)
    # a quoted field holds line breaks: each row starts after all lines of the rows before it
    lines_per_row = pl.lit(1, dtype=pl.Int64) + pl.sum_horizontal(
        pl.col(c).fill_null("").str.count_matches("\n") for c in fields.columns
    )
    starts = fields.select((lines_per_row.cum_sum() - lines_per_row).alias("i"))["i"]
    row_lines = kept_lines.gather(starts)
    row_of_line = pl.int_range(kept_lines.len(), eager=True).is_in(starts.implode()).cum_sum()
    records = (
        body.with_columns(row_of_line.alias("row"))
        .group_by("row", maintain_order=True)
        .agg(pl.col("text").str.join("\n"))["text"]
        .alias("raw")
    )
    return CsvTable(fields, row_lines, header_line, records if records.len() == fields.height else None, width)
