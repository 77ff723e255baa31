"""CSV for spreadsheets: text cells that a spreadsheet would run as a formula are neutralized."""

from __future__ import annotations

import polars as pl

_FORMULA_START = r"^[=+\-@\t\r]"
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def neutralized(frame: pl.DataFrame, *, text_columns: list[str]) -> pl.DataFrame:
    """Prefix `'` to text cells starting like a formula and drop control characters."""
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .str.replace_all(_CONTROL, "")
        .alias(c)
        for c in text_columns
    )
