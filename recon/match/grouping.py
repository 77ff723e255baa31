"""1:N and N:1: one row equal to the sum of several rows on the other side.

A batched deposit is one bank row for several ledger receipts (1:N); a ledger entry
paid in instalments is several bank rows for one ledger row (N:1). Both are the
same search with the sides swapped: for each open *target* row, find subsets of
open *part* rows on the other side that sum exactly to it.

The search is bounded: parts must be in the same account and currency, the same
sign and smaller in magnitude, inside the date window; each target tries only its
`group_max_candidates` nearest parts by date, and subsets stop at `group_max_size`
rows. The subsets of those candidates that sum exactly to the target are found by
`subset_sums` (meet in the middle, vectorized over chunks of targets, never a loop
over rows); only their (target, part) pairs are then compared for the score.

A subset is `auto` only when every part shares a reference with the target and it
is the only subset for that target; otherwise it is a suggestion at best, with the
number of alternative subsets in its reasons.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from recon.config import MatchingSettings
from recon.match.comparisons import text_similarity
from recon.match.engine import ENGINE
from recon.match.subset_sums import exact_subsets

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


_DAY_BITS = 21
_AMOUNT_BITS = 38
_AMOUNT_CAP = (1 << _AMOUNT_BITS) - 1
"""Magnitudes above this (2.7e11 minor units) are capped for choosing candidates only; sums stay exact."""


def _arrays(frame: pl.DataFrame, selected: npt.NDArray[np.bool_]) -> dict[str, npt.NDArray[Any]]:
    """The frame's columns as numpy, at the selected rows."""
    return {name: frame[name].to_numpy()[selected] for name in frame.columns}


def _offsets_nearest_first(low: int, high: int, sign: int, settings: MatchingSettings) -> list[int]:
    """Part date offsets from the target date, nearest first against the asymmetric window."""
    after, before = settings.bank_days_after_books, settings.bank_days_before_books

    def distance(offset: int) -> float:
        days = offset * sign  # bank - ledger
        return days / (after + 1) if days >= 0 else -days / (before + 1)

    return sorted(range(low, high + 1), key=lambda offset: (distance(offset), abs(offset), offset))


def _candidates(
    targets: pl.DataFrame,
    parts: pl.DataFrame,
    *,
    target_is_bank: bool,
    settings: MatchingSettings,
) -> pl.DataFrame:
    """(target, part, date_diff_days, amount_minor, target_amount): the parts that could belong to
    each target, nearest date first, at most `group_max_candidates` per target.

    A part has the target's account, currency and sign, a smaller magnitude, and a date
    inside the window. No join of every target with every part of its days: the parts
    are sorted by (account, currency, sign, date, magnitude), so the parts of one day
    smaller than the target are one run of that order, found by binary search; each
    target takes whole days nearest first until the cap (the smallest amounts of the
    last day first). The work is per target and day, not per (target, part) in the window,
    which at 1M rows is hundreds of parts.
    """
    after, before = settings.bank_days_after_books, settings.bank_days_before_books
    # date_diff_days is bank - ledger; the part's date = target date + offset
    low, high = (-after, before) if target_is_bank else (-before, after)
    sign = -1 if target_is_bank else 1
    offsets = _offsets_nearest_first(low, high, sign, settings)
    schema = {"target": pl.UInt32, "part": pl.UInt32, "date_diff_days": pl.Int64, "amount_minor": pl.Int64,
              "target_amount": pl.Int64}  # fmt: skip
    if targets.is_empty() or parts.is_empty():
        return pl.DataFrame(schema=schema)
    searched = targets.lazy().filter(~pl.col("contested")) if "contested" in targets.columns else targets.lazy()
    columns = ["idx", "account_id", "currency", "amount_minor", "posted_date"]
    book = pl.struct("account_id", "currency").rank("dense").cast(pl.Int64)  # the same numbers on both sides
    rows = (
        pl.concat([searched.select(columns, is_target=True), parts.lazy().select(columns, is_target=False)])
        .filter(pl.col("amount_minor") != 0)
        .select(
            "is_target",
            "idx",
            "amount_minor",
            (book * 2 + (pl.col("amount_minor") > 0)).alias("group"),
            pl.col("posted_date").cast(pl.Int32).cast(pl.Int64).alias("day"),
            pl.col("amount_minor").abs().clip(0, _AMOUNT_CAP).alias("magnitude"),
        )
        # targets in the parts' order too: each search below then walks the parts once, not at random
        .sort("group", "day", "magnitude", "idx")
        .collect(engine=ENGINE)
    )
    is_target = rows["is_target"].to_numpy()
    if is_target.all() or not is_target.any():
        return pl.DataFrame(schema=schema)
    t, p = (_arrays(rows, selected) for selected in (is_target, ~is_target))
    t_group, t_day, t_magnitude = t["group"], t["day"], t["magnitude"]
    p_group, p_day, p_magnitude = p["group"], p["day"], p["magnitude"]
    base = int(min(t_day.min(), p_day.min())) - (high - low) - 1
    if int(max(t_day.max(), p_day.max())) - base + (high - low) + 1 >= 1 << _DAY_BITS:
        raise ValueError("dates span more than 5,000 years")
    day_key = p_group << _DAY_BITS | (p_day - base)
    first = np.r_[True, day_key[1:] != day_key[:-1]]
    days, day_start = day_key[first], np.flatnonzero(first)  # sorted (group, day) of the parts, where each begins
    order_key = (np.cumsum(first) - 1) << _AMOUNT_BITS | p_magnitude
    t_day_key = t_group << _DAY_BITS | (t_day - base)
    shape = (t_day.size, len(offsets))
    start, count = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    for column, offset in enumerate(offsets):
        wanted = t_day_key + offset
        where = np.minimum(np.searchsorted(days, wanted), len(days) - 1)
        found = days[where] == wanted
        lo = day_start[where]
        hi = np.searchsorted(order_key, where << _AMOUNT_BITS | t_magnitude)  # magnitudes strictly below
        start[:, column] = lo
        count[:, column] = np.where(found, hi - lo, 0)
    # the candidates in the targets' order
    by_idx = np.argsort(t["idx"])
    t, start, count = {name: values[by_idx] for name, values in t.items()}, start[by_idx], count[by_idx]
    taken_before = np.cumsum(count, axis=1) - count
    take = np.clip(settings.group_max_candidates - taken_before, 0, count).ravel()
    if take.sum() == 0:
        return pl.DataFrame(schema=schema)
    run = np.repeat(np.arange(take.size), take)
    position = start.ravel()[run] + np.arange(run.size) - np.repeat(np.cumsum(take) - take, take)
    target_row = run // len(offsets)
    return pl.DataFrame(
        {
            "target": t["idx"][target_row],
            "part": p["idx"][position],
            "date_diff_days": np.asarray(offsets, dtype=np.int64)[run % len(offsets)] * sign,
            "amount_minor": p["amount_minor"][position],
            "target_amount": t["amount_minor"][target_row],
        },
        schema=schema,
    )


def _sharing_a_reference(targets: pl.DataFrame, parts: pl.DataFrame) -> pl.DataFrame:
    """The targets with a reference token that some part has too: no other target has a referenced candidate."""
    part_tokens = parts.lazy().select(pl.col("tokens").explode().drop_nulls().unique())
    sharing = targets.lazy().select("idx", "tokens").explode("tokens").join(part_tokens, on="tokens", how="semi")
    return (
        targets.lazy()
        .join(sharing.select("idx").unique(), on="idx", how="semi", maintain_order="left")
        .collect(engine=ENGINE)
    )


def _referenced_candidates(candidates: pl.DataFrame, targets: pl.DataFrame, parts: pl.DataFrame) -> pl.DataFrame:
    """The candidates that carry a reference token of their target."""
    target_tokens = targets.lazy().select(pl.col("idx").alias("target"), "tokens").explode("tokens").drop_nulls()
    part_tokens = parts.lazy().select(pl.col("idx").alias("part"), "tokens").explode("tokens").drop_nulls()
    shared = (
        candidates.lazy()
        .select("target", "part")
        .join(target_tokens, on="target")
        .join(part_tokens, on=["part", "tokens"], how="semi")
        .select("target", "part")
        .unique()
    )
    return (
        candidates.lazy().join(shared, on=["target", "part"], how="semi", maintain_order="left").collect(engine=ENGINE)
    )


def _part_evidence(
    candidates: pl.DataFrame, targets: pl.DataFrame, parts: pl.DataFrame, *, settings: MatchingSettings
) -> pl.DataFrame:
    """Per (target, part): text similarity, date score and whether they share a reference token."""
    t = candidates["target"].to_numpy()
    p = candidates["part"].to_numpy()
    target_text = targets["text"].to_numpy()[t]
    # both texts of the parts in one call: it starts its threads once
    similarity = text_similarity(
        np.concatenate([target_text, target_text]),
        np.concatenate([parts["text"].to_numpy()[p], parts["alt_text"].to_numpy()[p]]),
    )
    similarity = similarity.reshape(2, -1).max(axis=0)
    window = max(settings.bank_days_after_books, settings.bank_days_before_books) + 1
    # idx is the row position: the rows' tokens are a gather, not a join
    target_tokens, part_tokens = (
        pl.lit(targets["tokens"]).gather(pl.col("target")),
        pl.lit(parts["tokens"]).gather(pl.col("part")),
    )
    return candidates.with_columns(
        pl.Series("text", similarity),
        (1 - pl.col("date_diff_days").abs() / window).clip(0, 1).alias("date"),
        (target_tokens.list.set_intersection(part_tokens).list.len() > 0).alias("shared"),
    )


def _scored_subsets(subsets: pl.DataFrame, evidence: pl.DataFrame) -> pl.LazyFrame:
    # sorted first: the subset number is the last tie-break, so it must not depend on join order; the join keeps
    # that order, so that a subset's means add its parts in one order whatever the evidence's order
    members = subsets.lazy().sort("target", "parts").with_row_index("subset").explode("parts").rename({"parts": "part"})
    per_subset = (
        members.join(evidence.lazy(), on=["target", "part"], maintain_order="left")
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


def _resolve(scored: pl.LazyFrame) -> pl.DataFrame:
    """One subset per target at most, no part in two subsets: best first, in rounds.

    Each round takes every target's best subset that is, for each of its parts, the best
    subset of this round claiming it; the targets and parts taken leave the others."""
    order = ["score", "size", "spread", "target", "subset"]
    ranked = scored.sort(order, descending=[True, False, False, False, False]).collect(engine=ENGINE)
    target = ranked["target"].to_numpy()
    part = ranked["parts"].explode().to_numpy()
    owner = np.repeat(np.arange(ranked.height), ranked["size"].to_numpy())  # subset of each part; best first
    left = np.ones(ranked.height, dtype=np.bool_)
    taken = []
    while left.any():
        remaining = np.flatnonzero(left)
        best = np.zeros(ranked.height, dtype=np.bool_)
        best[remaining[np.unique(target[remaining], return_index=True)[1]]] = True
        claimed = best[owner]
        claim_part, claim_owner = part[claimed], owner[claimed]
        won = np.zeros(claim_part.size, dtype=np.bool_)
        won[np.unique(claim_part, return_index=True)[1]] = True  # the first, best claim of each part
        accepted = best.copy()
        accepted[claim_owner[~won]] = False
        taken.append(np.flatnonzero(accepted))
        left &= ~np.isin(target, target[accepted])
        left[owner[np.isin(part, part[accepted[owner]])]] = False
    return ranked[np.concatenate(taken)] if taken else ranked


def _search(
    targets: pl.DataFrame,
    parts: pl.DataFrame,
    *,
    target_is_bank: bool,
    parts_need_reference: bool,
    settings: MatchingSettings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Exact subsets, and the evidence of the (target, part) pairs in them."""
    searched = _sharing_a_reference(targets, parts) if parts_need_reference else targets
    candidates = _candidates(searched, parts, target_is_bank=target_is_bank, settings=settings)
    if parts_need_reference and not candidates.is_empty():
        candidates = _referenced_candidates(candidates, targets, parts)
    subsets = exact_subsets(candidates, max_size=settings.group_max_size)
    if subsets.is_empty():
        return subsets, pl.DataFrame()
    members = subsets.lazy().select("target", pl.col("parts").alias("part")).explode("part").unique()
    # a few thousand targets of tens of thousands: kept first, so that the join on two keys is small
    in_subsets = (
        candidates.lazy()
        .join(members.select("target").unique(), on="target", how="semi", maintain_order="left")
        .join(members, on=["target", "part"], how="semi", maintain_order="left")
        .collect(engine=ENGINE)
    )
    return subsets, _part_evidence(in_subsets, targets, parts, settings=settings)


def find_groups(
    targets: pl.DataFrame,
    parts: pl.DataFrame,
    *,
    target_is_bank: bool,
    settings: MatchingSettings,
    parts_need_reference: bool = False,
) -> pl.DataFrame:
    """Accepted subsets (GROUP_SCHEMA): `target` and `parts` are the frames' `idx` values.

    With `parts_need_reference`, only parts that carry one of the target's reference
    tokens are tried (instalments of an invoice name it; see `pipeline`).

    Both frames need idx (0..n-1, in order), account_id, currency, amount_minor,
    posted_date, text, alt_text (normalized) and tokens. Targets may carry `contested`:
    True for a row with a 1:1 candidate at its exact amount (it lost that pairing, or
    it was ambiguous). Such a row is not searched as a sum: it is a 1:1 row, and in a
    dense window some subset of its neighbours adds up to almost anything.
    """
    if settings.group_max_size < 2 or targets.is_empty() or parts.is_empty():
        return pl.DataFrame(schema=GROUP_SCHEMA)
    subsets, evidence = _search(
        targets, parts, target_is_bank=target_is_bank, parts_need_reference=parts_need_reference, settings=settings
    )
    if subsets.is_empty():
        return pl.DataFrame(schema=GROUP_SCHEMA)
    chosen = _resolve(_scored_subsets(subsets, evidence)).lazy().filter(pl.col("score") >= settings.suggest_threshold)
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
        .collect(engine=ENGINE)
    )
