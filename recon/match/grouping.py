"""1:N and N:1: one row equal to the sum of several rows on the other side.

A batched deposit is one bank row for several ledger receipts (1:N); a ledger entry
paid in instalments is several bank rows for one ledger row (N:1). Both are the
same search with the sides swapped: for each open *target* row, find subsets of
open *part* rows on the other side that sum exactly to it.

The search is bounded, and vectorized per subset size (a loop over sizes, never
over rows): parts must be in the same account and currency, the same sign and
smaller in magnitude, inside the date window; each target tries only its
`group_max_candidates` nearest parts by date, and subsets stop at `group_max_size`
rows. Partial sums that already pass the target are dropped at once, and only
subsets of half the size are ever built (meet in the middle, an equi-join on the
amount still missing).

A subset is `auto` only when every part shares a reference with the target and it
is the only subset for that target; otherwise it is a suggestion at best, with the
number of alternative subsets in its reasons.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from recon.config import MatchingSettings
from recon.match.comparisons import text_similarity

BASE_SCORE = 0.60
DATE_WEIGHT = 0.10
TEXT_WEIGHT = 0.20
ALL_REFERENCES_SCORE = 0.95
"""Every part's reference is on the target: as good as a 1:1 reference match."""

GROUP_SCHEMA = pl.Schema(
    {
        "target": pl.UInt32(),
        "parts": pl.List(pl.UInt32()),
        "score": pl.Float64(),
        "status": pl.String(),
        "reasons": pl.String(),
    }
)


def _candidates(
    targets: pl.DataFrame,
    parts: pl.DataFrame,
    *,
    target_is_bank: bool,
    settings: MatchingSettings,
) -> pl.DataFrame:
    """(target, part, date_diff_days) for parts that could belong to the target, nearest first, capped."""
    after, before = settings.bank_days_after_books, settings.bank_days_before_books
    # date_diff_days is bank - ledger; the part's date = target date + offset
    low, high = (-after, before) if target_is_bank else (-before, after)
    exploded = (
        targets.select(
            pl.col("idx").alias("target"),
            "account_id",
            "currency",
            pl.col("amount_minor").alias("target_amount"),
            pl.col("posted_date").alias("target_date"),
        )
        .with_columns(pl.int_ranges(low, high + 1, dtype=pl.Int64).alias("offset"))
        .explode("offset")
        .with_columns((pl.col("target_date") + pl.duration(days=pl.col("offset"))).alias("posted_date"))
    )
    sign = -1 if target_is_bank else 1
    joined = exploded.join(
        parts.select(pl.col("idx").alias("part"), "account_id", "currency", "posted_date", "amount_minor"),
        on=["account_id", "currency", "posted_date"],
    ).filter(
        (pl.col("amount_minor").sign() == pl.col("target_amount").sign())
        & (pl.col("amount_minor").abs() < pl.col("target_amount").abs())
    )
    days = pl.col("date_diff_days")
    # nearest first, measured against the window on each side (the bank is more often late than early)
    distance = pl.when(days >= 0).then(days / (after + 1)).otherwise(-days / (before + 1))
    return (
        joined.with_columns((pl.col("offset") * sign).alias("date_diff_days"))
        .sort("target", distance, "part")
        .group_by("target", maintain_order=True)
        .head(settings.group_max_candidates)
        .select("target", "part", "date_diff_days", "amount_minor", "target_amount")
    )


def _subsets_by_size(candidates: pl.DataFrame, *, max_size: int) -> dict[int, pl.DataFrame]:
    """Every subset of 1..max_size candidates of a target whose total stays short of the target.

    Columns: target, p1..pk (the parts in increasing order), total, target_amount; plain
    columns rather than lists, since millions of these rows may be built.
    """
    level = candidates.select(
        "target", pl.col("part").alias("p1"), pl.col("amount_minor").alias("total"), "target_amount"
    )
    levels = {1: level}
    for size in range(2, max_size + 1):
        last = f"p{size - 1}"
        level = (
            level.join(candidates.select("target", pl.col("part").alias(f"p{size}"), "amount_minor"), on="target")
            .filter(pl.col(f"p{size}") > pl.col(last))
            .with_columns((pl.col("total") + pl.col("amount_minor")).alias("total"))
            .filter(pl.col("total").abs() < pl.col("target_amount").abs())
            .drop("amount_minor")
        )
        levels[size] = level
    return levels


def _exact_subsets(candidates: pl.DataFrame, *, max_size: int) -> pl.DataFrame:
    """(target, parts) for every subset of 2..max_size candidates summing exactly to the target.

    Meet in the middle: only subsets of up to half the size are built; a subset of size
    s is a larger half (its first rows) and a smaller half, after it, whose total is
    exactly what the first half lacks: an equi-join on that amount.
    """
    halves = _subsets_by_size(candidates, max_size=(max_size + 1) // 2)
    found = []
    for size in range(2, max_size + 1):
        low, high = size // 2, size - size // 2
        right = halves[low].select(
            "target",
            pl.col("total").alias("need"),
            *(pl.col(f"p{k}").alias(f"q{k}") for k in range(1, low + 1)),
        )
        joined = (
            halves[high]
            .with_columns((pl.col("target_amount") - pl.col("total")).alias("need"))
            .join(right, on=["target", "need"])
            .filter(pl.col("q1") > pl.col(f"p{high}"))
            .select(
                "target",
                pl.concat_list(*(f"p{k}" for k in range(1, high + 1)), *(f"q{k}" for k in range(1, low + 1))).alias(
                    "parts"
                ),
            )
        )
        found.append(joined)
    return pl.concat(found)


def _part_evidence(
    candidates: pl.DataFrame, targets: pl.DataFrame, parts: pl.DataFrame, *, settings: MatchingSettings
) -> pl.DataFrame:
    """Per (target, part): text similarity, date score and whether they share a reference token."""
    t = candidates["target"].to_numpy()
    p = candidates["part"].to_numpy()
    target_text = targets["text"].to_numpy()[t]
    similarity = np.maximum(
        text_similarity(target_text, parts["text"].to_numpy()[p]),
        text_similarity(target_text, parts["alt_text"].to_numpy()[p]),
    )
    window = max(settings.bank_days_after_books, settings.bank_days_before_books) + 1
    tokens = (
        candidates.select("target", "part")
        .join(targets.select(pl.col("idx").alias("target"), pl.col("tokens").alias("t_tokens")), on="target")
        .join(parts.select(pl.col("idx").alias("part"), pl.col("tokens").alias("p_tokens")), on="part")
        .select("target", "part", (pl.col("t_tokens").list.set_intersection("p_tokens").list.len() > 0).alias("shared"))
    )
    return candidates.with_columns(
        pl.Series("text", similarity), (1 - pl.col("date_diff_days").abs() / window).clip(0, 1).alias("date")
    ).join(tokens, on=["target", "part"], how="left")


def _scored_subsets(subsets: pl.DataFrame, evidence: pl.DataFrame) -> pl.DataFrame:
    # sorted first: the subset number is the last tie-break, so it must not depend on join order
    members = subsets.sort("target", "parts").with_row_index("subset").explode("parts").rename({"parts": "part"})
    per_subset = (
        members.join(evidence, on=["target", "part"])
        .group_by("subset", "target")
        .agg(
            pl.col("part").sort().alias("parts"),
            pl.col("text").mean(),
            pl.col("date").mean(),
            pl.col("shared").fill_null(False).all().alias("all_references"),
            pl.col("date_diff_days").abs().max().alias("spread"),
        )
    )
    combined = BASE_SCORE + DATE_WEIGHT * pl.col("date") + TEXT_WEIGHT * pl.col("text")
    score = (
        pl.when(pl.col("all_references")).then(pl.max_horizontal(combined, ALL_REFERENCES_SCORE)).otherwise(combined)
    )
    return per_subset.with_columns(
        score.round(4).alias("score"),
        pl.len().over("target").alias("alternatives"),
        pl.col("parts").list.len().alias("size"),
    )


def _resolve(scored: pl.DataFrame) -> pl.DataFrame:
    """One subset per target at most, no part in two subsets: best first, in rounds."""
    order = ["score", "size", "spread", "target", "subset"]
    descending = [True, False, False, False, False]
    remaining = scored.sort(order, descending=descending)
    taken = []
    while not remaining.is_empty():
        best_per_target = remaining.group_by("target", maintain_order=True).first()
        claims = best_per_target.select("subset", "target", "score", "size", "spread", "parts").explode("parts")
        winner_of_part = claims.sort(order, descending=descending).group_by("parts", maintain_order=True).first()
        losers = claims.join(winner_of_part.select("parts", pl.col("subset").alias("winner")), on="parts").filter(
            pl.col("winner") != pl.col("subset")
        )
        accepted = best_per_target.join(losers.select("subset").unique(), on="subset", how="anti")
        taken.append(accepted)
        used = accepted.select("parts").explode("parts")
        dropped = (
            remaining.select("subset", "parts").explode("parts").join(used, on="parts", how="semi").select("subset")
        )
        remaining = remaining.join(accepted.select("target"), on="target", how="anti").join(
            dropped, on="subset", how="anti"
        )
    return pl.concat(taken) if taken else scored.clear()


TARGETS_PER_CHUNK = 4_000
"""Targets searched together: bounds memory (candidates per target grow with the rows per day,
half-subsets with the square of the candidates)."""


def _search(
    targets: pl.DataFrame, parts: pl.DataFrame, *, target_is_bank: bool, settings: MatchingSettings
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Exact subsets and the evidence of their (target, part) pairs, a chunk of targets at a time."""
    found, evidence = [], []
    for start in range(0, targets.height, TARGETS_PER_CHUNK):
        chunk = targets.slice(start, TARGETS_PER_CHUNK)
        candidates = _candidates(chunk, parts, target_is_bank=target_is_bank, settings=settings)
        if candidates.is_empty():
            continue
        subsets = _exact_subsets(candidates, max_size=settings.group_max_size)
        if subsets.is_empty():
            continue
        found.append(subsets)
        useful = candidates.join(subsets.select("target").unique(), on="target", how="semi")
        evidence.append(_part_evidence(useful, targets, parts, settings=settings))
    if not found:
        return pl.DataFrame(schema={"target": pl.UInt32, "parts": pl.List(pl.UInt32)}), pl.DataFrame()
    return pl.concat(found), pl.concat(evidence)


def find_groups(
    targets: pl.DataFrame,
    parts: pl.DataFrame,
    *,
    target_is_bank: bool,
    settings: MatchingSettings,
) -> pl.DataFrame:
    """Accepted subsets (GROUP_SCHEMA): `target` and `parts` are the frames' `idx` values.

    Both frames need idx (0..n-1, in order), account_id, currency, amount_minor,
    posted_date, text, alt_text (normalized) and tokens.
    """
    if settings.group_max_size < 2 or targets.is_empty() or parts.is_empty():
        return pl.DataFrame(schema=GROUP_SCHEMA)
    subsets, evidence = _search(targets, parts, target_is_bank=target_is_bank, settings=settings)
    if subsets.is_empty():
        return pl.DataFrame(schema=GROUP_SCHEMA)
    chosen = _resolve(_scored_subsets(subsets, evidence)).filter(pl.col("score") >= settings.suggest_threshold)
    unique = pl.col("alternatives") == 1
    status = (
        pl.when((pl.col("score") >= settings.auto_threshold) & pl.col("all_references") & unique)
        .then(pl.lit("auto"))
        .otherwise(pl.lit("suggested"))
    )
    reasons = pl.concat_str(
        pl.format("amount equal to the sum of {} rows", pl.col("size")),
        pl.when(pl.col("spread") == 0)
        .then(pl.lit("same day"))
        .when(pl.col("spread") == 1)
        .then(pl.lit("up to 1 day apart"))
        .otherwise(pl.format("up to {} days apart", pl.col("spread"))),
        pl.when(pl.col("all_references")).then(pl.lit("every reference on both sides")),
        pl.format("description {}", pl.col("text").round(2)),
        pl.when(~unique).then(pl.format("ambiguous: {} subsets sum to the amount", pl.col("alternatives"))),
        separator=", ",
        ignore_nulls=True,
    )
    return (
        chosen.with_columns(status.alias("status"), reasons.alias("reasons"))
        .select(list(GROUP_SCHEMA))
        .cast(GROUP_SCHEMA)
    )
