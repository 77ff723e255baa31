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

import itertools

import numpy as np
import numpy.typing as npt
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


_DAY_BITS = 21
_AMOUNT_BITS = 38
_AMOUNT_CAP = (1 << _AMOUNT_BITS) - 1
"""Magnitudes above this (2.7e11 minor units) are capped for choosing candidates only; sums stay exact."""


def _ints(frame: pl.DataFrame, column: str) -> npt.NDArray[np.int64]:
    return frame[column].to_numpy().astype(np.int64)


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
    empty = pl.DataFrame(
        schema={"target": pl.UInt32, "part": pl.UInt32, "date_diff_days": pl.Int64, "amount_minor": pl.Int64,
                "target_amount": pl.Int64}
    )  # fmt: skip
    keys = ["account_id", "currency"]
    books = pl.concat([targets.select(keys), parts.select(keys)]).unique(maintain_order=True).with_row_index("book")

    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.filter(pl.col("amount_minor") != 0)
            .join(books, on=keys, how="left", maintain_order="left")
            .select(
                "idx",
                "amount_minor",
                (pl.col("book").cast(pl.Int64) * 2 + (pl.col("amount_minor") > 0)).alias("group"),
                pl.col("posted_date").cast(pl.Int32).cast(pl.Int64).alias("day"),
                pl.col("amount_minor").abs().clip(0, _AMOUNT_CAP).alias("magnitude"),
            )
        )

    searched = targets.filter(~pl.col("contested")) if "contested" in targets.columns else targets
    t, p = keyed(searched), keyed(parts).sort("group", "day", "magnitude", "idx")
    if t.is_empty() or p.is_empty():
        return empty
    t_group, t_day, t_magnitude = (_ints(t, c) for c in ("group", "day", "magnitude"))
    p_group, p_day, p_magnitude = (_ints(p, c) for c in ("group", "day", "magnitude"))
    base = int(min(t_day.min(), p_day.min())) - (high - low) - 1
    if int(max(t_day.max(), p_day.max())) - base + (high - low) + 1 >= 1 << _DAY_BITS:
        raise ValueError("dates span more than 5,000 years")
    day_key = p_group << _DAY_BITS | (p_day - base)
    first = np.r_[True, day_key[1:] != day_key[:-1]]
    days = day_key[first]  # sorted (group, day) of the parts
    block = np.cumsum(first) - 1
    order_key = block << _AMOUNT_BITS | p_magnitude

    shape = (t.height, len(offsets))
    start, count = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    for column, offset in enumerate(offsets):
        wanted = t_group << _DAY_BITS | (t_day + offset - base)
        where = np.minimum(np.searchsorted(days, wanted), len(days) - 1)
        found = days[where] == wanted
        lo = np.searchsorted(order_key, where << _AMOUNT_BITS)
        hi = np.searchsorted(order_key, where << _AMOUNT_BITS | t_magnitude)  # magnitudes strictly below the target
        start[:, column] = lo
        count[:, column] = np.where(found, hi - lo, 0)
    taken_before = np.cumsum(count, axis=1) - count
    take = np.clip(settings.group_max_candidates - taken_before, 0, count).ravel()
    if take.sum() == 0:
        return empty
    run = np.repeat(np.arange(take.size), take)
    position = start.ravel()[run] + np.arange(run.size) - np.repeat(np.cumsum(take) - take, take)
    target_row = run // len(offsets)
    return pl.DataFrame(
        {
            "target": t["idx"].to_numpy()[target_row],
            "part": p["idx"].to_numpy()[position],
            "date_diff_days": np.asarray(offsets, dtype=np.int64)[run % len(offsets)] * sign,
            "amount_minor": p["amount_minor"].to_numpy()[position],
            "target_amount": t["amount_minor"].to_numpy()[target_row],
        }
    ).cast(empty.schema)


def _referenced_candidates(candidates: pl.DataFrame, targets: pl.DataFrame, parts: pl.DataFrame) -> pl.DataFrame:
    """The candidates that carry a reference token of their target."""
    target_tokens = targets.select(pl.col("idx").alias("target"), "tokens").explode("tokens").drop_nulls()
    part_tokens = parts.select(pl.col("idx").alias("part"), "tokens").explode("tokens").drop_nulls()
    shared = (
        candidates.select("target", "part")
        .join(target_tokens, on="target")
        .join(part_tokens, on=["part", "tokens"], how="semi")
        .select("target", "part")
        .unique()
    )
    return candidates.join(shared, on=["target", "part"], how="semi", maintain_order="left")


def _pairs_of_candidates(candidates: pl.DataFrame) -> pl.DataFrame:
    """Every two candidates of one target whose total stays short of it (target, p1 < p2, total, target_amount).

    Built directly from each target's run of candidates (all index pairs of a run of m rows
    at once, per m), not by joining the candidates with themselves and dropping half.
    """
    target = candidates["target"].to_numpy()
    if len(target) == 0:
        return pl.DataFrame(
            schema={"target": pl.UInt32, "p1": pl.UInt32, "p2": pl.UInt32, "total": pl.Int64, "target_amount": pl.Int64}
        )
    starts = np.flatnonzero(np.r_[True, target[1:] != target[:-1]])
    sizes = np.diff(np.r_[starts, len(target)])
    first, second = [], []
    for size in np.unique(sizes[sizes >= 2]):
        i, j = np.triu_indices(int(size), 1)
        run = starts[sizes == size][:, None]
        first.append((run + i).ravel())
        second.append((run + j).ravel())
    a = np.concatenate(first) if first else np.zeros(0, dtype=np.int64)
    b = np.concatenate(second) if second else np.zeros(0, dtype=np.int64)
    part = candidates["part"].to_numpy()
    amount = candidates["amount_minor"].to_numpy()
    pairs = pl.DataFrame(
        {
            "target": target[a],
            "p1": np.minimum(part[a], part[b]),
            "p2": np.maximum(part[a], part[b]),
            "total": amount[a] + amount[b],
            "target_amount": candidates["target_amount"].to_numpy()[a],
        },
        schema={"target": pl.UInt32, "p1": pl.UInt32, "p2": pl.UInt32, "total": pl.Int64, "target_amount": pl.Int64},
    )
    return pairs.filter(pl.col("total").abs() < pl.col("target_amount").abs())


def _subsets_by_size(candidates: pl.DataFrame, *, max_size: int) -> dict[int, pl.DataFrame]:
    """Every subset of 1..max_size candidates of a target whose total stays short of the target.

    Columns: target, p1..pk (the parts in increasing order), total, target_amount; plain
    columns rather than lists, since millions of these rows may be built.
    """
    level = candidates.select(
        "target", pl.col("part").alias("p1"), pl.col("amount_minor").alias("total"), "target_amount"
    )
    levels = {1: level}
    if max_size >= 2:
        level = _pairs_of_candidates(candidates)
        levels[2] = level
    for size in range(3, max_size + 1):
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


def _exact_of_equal_halves(half: pl.DataFrame, k: int) -> pl.DataFrame:
    """(target, parts) of the subsets of 2k candidates made of two k-subsets of `half` summing to the target.

    Every part has the target's sign, so of two halves that sum to it one is at most half
    the target in magnitude and the other at least half: those two sides are joined, not
    all of `half` with all of it (each side about half as long). The pair is kept when
    its parts do not interleave, either way round, and once only when both are exactly
    half (then each side holds both).
    """
    twice, whole = pl.col("total").abs() * 2, pl.col("target_amount").abs()
    small = half.filter(twice <= whole).with_columns((pl.col("target_amount") - pl.col("total")).alias("need"))
    large = half.filter(twice >= whole).select(
        "target", pl.col("total").alias("need"), *(pl.col(f"p{i}").alias(f"q{i}") for i in range(1, k + 1))
    )
    first = [f"p{i}" for i in range(1, k + 1)]
    second = [f"q{i}" for i in range(1, k + 1)]
    forward = pl.col(f"p{k}") < pl.col("q1")
    backward = (pl.col(f"q{k}") < pl.col("p1")) & (twice != whole)
    return (
        small.join(large, on=["target", "need"])
        .filter(forward | backward)
        .select(
            "target",
            pl.when(forward)
            .then(pl.concat_list(*first, *second))
            .otherwise(pl.concat_list(*second, *first))
            .alias("parts"),
        )
    )


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
        if low == high:
            found.append(_exact_of_equal_halves(halves[low], low))
            continue
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
    targets: pl.DataFrame,
    parts: pl.DataFrame,
    *,
    target_is_bank: bool,
    parts_need_reference: bool,
    settings: MatchingSettings,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Exact subsets and the evidence of their (target, part) pairs, a chunk of targets at a time."""
    found, evidence = [], []
    every_candidate = _candidates(targets, parts, target_is_bank=target_is_bank, settings=settings)
    if parts_need_reference:
        every_candidate = _referenced_candidates(every_candidate, targets, parts)
    # a target needs two parts at least
    every_candidate = every_candidate.filter(pl.len().over("target") >= 2)
    bounds = (
        every_candidate["target"]
        .search_sorted(pl.Series(range(0, targets.height + TARGETS_PER_CHUNK, TARGETS_PER_CHUNK), dtype=pl.UInt32))
        .to_list()
    )
    for low, high in itertools.pairwise(bounds):
        candidates = every_candidate.slice(low, high - low)
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
