"""Turning the row dicts a bank importer collected into the `BANK_EXTRACT` frame.

Shared by the CAMT, MT940 and BAI2 importers, which build one dict per row while
walking their records and convert once at the end.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import polars as pl

from recon.model import BANK_EXTRACT

__all__ = ["bank_frame", "drop_repeated_external_ids"]


def drop_repeated_external_ids(records: list[dict[str, Any]]) -> None:
    """Clear `external_id` on every row whose id occurs more than once in the same file.

    A bank reference is meant to be unique, but real files reuse one (cmxl's MT940 sample
    gives two different transactions the bank reference 55555). Recon keeps only the first
    row of a repeated id, so keeping the id would silently drop a transaction; without it
    the rows get content-hash ids, which count identical rows apart.
    """
    counts = Counter(r["external_id"] for r in records if r.get("external_id"))
    for record in records:
        if record.get("external_id") and counts[record["external_id"]] > 1:
            record["external_id"] = None


def bank_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """The records as a frame of the `BANK_EXTRACT` schema, plus `file_account` when the records carry it."""
    if not records:
        return BANK_EXTRACT.empty_frame()
    schema = BANK_EXTRACT.polars_schema
    if "file_account" in records[0]:
        schema = pl.Schema({**schema, "file_account": pl.String()})
    return pl.DataFrame(records, schema=schema)
