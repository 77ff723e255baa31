"""Reads and writes of the `categorizations` table (one row per categorized bank row).

The engine only ever deletes and writes rows with `origin = 'engine'`; a row a person
categorized (`origin = 'person'`) is left exactly as the person left it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from recon.categorize.rows import WRITTEN_SQL
from recon.categorize.rulefile import RuleSet, shown_path
from recon.store import Store

__all__ = ["COLUMNS", "current_categorizations", "replace_engine_rows"]

COLUMNS = (
    "txn_id", "origin", "rule_name", "rule_file", "rule_line", "applied_rules", "category", "payee", "tags",
    "memo", "splits", "transfer_account", "ignored", "difference_account", "difference_max_minor",
    "difference_max_bp", "run_id", "categorized_at",
)  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def engine_rows(outcome: pl.DataFrame, ruleset: RuleSet, *, base_dir: Path, run_id: str | None) -> pl.DataFrame:
    """The table rows for the outcome rows a rule applied to, in the table's column order."""
    meta = pl.DataFrame(
        {
            "rule_order": [r.order for r in ruleset.rules],
            "rule_name": [r.name for r in ruleset.rules],
            "rule_file": [shown_path(r.path, base_dir) for r in ruleset.rules],
            "rule_line": [r.line for r in ruleset.rules],
        },
        schema={"rule_order": pl.Int64, "rule_name": pl.String, "rule_file": pl.String, "rule_line": pl.Int32},
    )
    names = meta["rule_name"].to_list()
    applied = outcome.filter(pl.col("rule_order").is_not_null())
    return applied.join(meta, on="rule_order", how="left").select(
        "txn_id",
        pl.lit("engine").alias("origin"),
        "rule_name",
        "rule_file",
        "rule_line",
        pl.col("applied_orders")
        .list.eval(pl.element().replace_strict(list(range(len(names))), names, return_dtype=pl.String))
        .alias("applied_rules"),
        "category", "payee", "tags", "memo", "splits", "transfer_account", "ignored",
        "difference_account", "difference_max_minor", "difference_max_bp",
        pl.lit(run_id, dtype=pl.String).alias("run_id"),
        pl.lit(_now()).alias("categorized_at"),
    )  # fmt: skip


def replace_engine_rows(store: Store, *, rows: pl.DataFrame) -> None:
    """In one transaction: drop every engine row a book does not have yet, write `rows` in their place.

    `rows` are the engine's categorizations of the rows the rules govern (`rows.GOVERNED_ROWS_SQL`);
    an engine row outside them is stale (its row got matched, or a person took it over) and goes,
    except where write-back already booked the row by it (`rows.WRITTEN_SQL`): a book has that one.
    """
    with store.transaction() as con:
        con.register("_new_rows", rows.to_arrow())
        try:
            con.execute(f"DELETE FROM categorizations WHERE origin = 'engine' AND txn_id NOT IN ({WRITTEN_SQL})")
            con.execute(
                f"INSERT INTO categorizations ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM _new_rows"
            )
        finally:
            con.unregister("_new_rows")


def current_categorizations(store: Store) -> pl.DataFrame:
    return store.query(f"SELECT {', '.join(COLUMNS)} FROM categorizations ORDER BY txn_id")
