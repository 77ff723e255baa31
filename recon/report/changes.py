"""What changed since the previous report: each exception is new or still open; what left is resolved.

Every report records the keys of the exceptions it listed (`report_items`); the next
report compares against the latest one. Ageing counts days from the row's date to the
report date.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import polars as pl

from recon.store import Store

AGE_BUCKETS = ("0-7", "8-30", "31-90", "90+")


def with_keys_and_age(exceptions: pl.DataFrame, *, today: date) -> pl.DataFrame:
    key = pl.concat_str(pl.col("kind"), pl.col("match_id").fill_null(""), pl.col("row_id"), separator=":")
    age = (pl.lit(today) - pl.col("date")).dt.total_days()
    bucket = (
        pl.when(age <= 7).then(pl.lit(AGE_BUCKETS[0]))
        .when(age <= 30).then(pl.lit(AGE_BUCKETS[1]))
        .when(age <= 90).then(pl.lit(AGE_BUCKETS[2]))
        .otherwise(pl.lit(AGE_BUCKETS[3]))
    )  # fmt: skip
    return exceptions.with_columns(key.alias("item_key"), age.alias("age_days"), bucket.alias("age_bucket"))


def previous_items(store: Store) -> pl.DataFrame:
    return store.query(
        """SELECT * FROM report_items WHERE report_id = (
               SELECT report_id FROM report_items ORDER BY generated_at DESC, report_id LIMIT 1)"""
    )


def mark_changes(current: pl.DataFrame, previous: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(current with `change` = new | open, the previous items no longer listed = resolved)."""
    if previous.is_empty():
        return current.with_columns(pl.lit("new").alias("change")), previous
    seen = set(previous["item_key"].to_list())
    marked = current.with_columns(
        pl.when(pl.col("item_key").is_in(list(seen))).then(pl.lit("open")).otherwise(pl.lit("new")).alias("change")
    )
    resolved = previous.filter(~pl.col("item_key").is_in(current["item_key"].implode()))
    return marked, resolved


def record(store: Store, current: pl.DataFrame) -> str:
    """Store this report's items; one transaction."""
    report_id = uuid.uuid4().hex
    rows = current.select(
        pl.lit(report_id).alias("report_id"),
        pl.lit(datetime.now(UTC).replace(tzinfo=None)).alias("generated_at"),
        "item_key", "kind", "account_id", pl.col("date").alias("item_date"), "amount_minor", "currency", "description",
    ).unique(subset=["item_key"], keep="first")  # fmt: skip
    with store.transaction() as con:
        con.register("new_report_items", rows.to_arrow())
        con.execute("INSERT INTO report_items SELECT * FROM new_report_items")
        con.unregister("new_report_items")
    return report_id
