"""Exact subset sums: every subset of a target's candidates that adds up to the target.

The search behind 1:N and N:1 (see `grouping`). A target's candidates all have its
sign and a smaller magnitude, so the search works on magnitudes.

Meet in the middle. A target's candidates are numbered 0..k-1 in their order; a subset
of m of them is a *first half*, its ceil(m/2) lowest positions, and a *second half*,
the others, all at higher positions. It sums to the target when the second half's sum
is what the first half lacks. Targets whose largest candidates cannot reach them, or
whose two smallest already pass them, are dropped first. Every half of up to
ceil(max_size/2) candidates is then built for a chunk of targets at a time, as a dense
(half x target) array of sums: a loop over chunks, never over rows.

Matching all those halves exactly would be a join of tens of millions of rows at 1M,
and almost none match. So a cheap filter comes first: per target a table of its half
sums, hashed into 64 slots per half, and a half is kept only when the hash of what it
lacks is in its target's table. Both halves of every exact subset pass; so do a few
percent of the others (hash collisions, and halves past the target, which the filter
does not bother to drop). The halves left are matched exactly, by a join on
(target, amount).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from recon.match.engine import ENGINE

SUBSETS_SCHEMA = pl.Schema({"target": pl.UInt32(), "parts": pl.List(pl.UInt32())})

_SLOTS_PER_HALF_BITS = 6
"""log2 of the filter table's slots per half of a target: about 1 in 64 halves or fewer passes by collision."""
_TABLE_BYTES_BITS = 22
"""log2 of the filter table's size in bytes (4 MB: it stays in the CPU cache); a chunk holds the targets that fit."""
_MIN_TARGETS_PER_CHUNK_BITS = 4
"""16 targets a chunk at least: the many halves of a group_max_size of 7 or 8 make the table larger, not a loop
per target."""
_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)
"""Multiplicative hashing (the product's top bits). It is linear: hash input target*F - sum*F is (target - sum)*F."""

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Runs:
    """The candidates as one column per target.

    Attributes:
      first_row: each target's first row in the candidates frame.
      target_magnitude: |target amount|.
      magnitudes: (position, target) |amount| of each candidate; past a target's run,
        its magnitude + 1, so that no subset holding such a position sums to it.
    """

    first_row: Ints
    target_magnitude: Ints
    magnitudes: Ints

    def select(self, columns: Ints) -> _Runs:
        """The runs of the given targets (columns)."""
        return _Runs(
            self.first_row[columns],
            self.target_magnitude[columns],
            np.ascontiguousarray(self.magnitudes[:, columns]),
        )


def _runs(candidates: pl.DataFrame) -> _Runs:
    target = candidates["target"].to_numpy()
    first = np.r_[True, target[1:] != target[:-1]]
    first_row = np.flatnonzero(first)
    longest = int(np.diff(np.r_[first_row, len(target)]).max())
    column = np.cumsum(first) - 1
    position = np.arange(len(target)) - first_row[column]
    target_magnitude = np.abs(candidates["target_amount"].to_numpy()[first_row]).astype(np.int64)
    magnitudes = np.repeat(target_magnitude[None, :] + 1, longest, axis=0)
    magnitudes[position, column] = np.abs(candidates["amount_minor"].to_numpy())
    return _Runs(first_row, target_magnitude, magnitudes)


def _reachable(runs: _Runs, max_size: int) -> _Runs:
    """The targets some 2..max_size of their candidates could sum to: their largest ones
    reach the target, and their two smallest do not pass it."""
    if runs.magnitudes.shape[0] < 2:
        return runs.select(np.zeros(0, dtype=np.int64))
    target = runs.target_magnitude
    largest = np.sort(np.where(runs.magnitudes > target, 0, runs.magnitudes), axis=0)[-max_size:].sum(axis=0)
    smallest = np.partition(runs.magnitudes, 1, axis=0)[:2].sum(axis=0)  # the padding is larger than any candidate
    return runs.select(np.flatnonzero((largest >= target) & (smallest <= target)))


@dataclass(frozen=True, slots=True)
class _HalfShapes:
    """Every choice of 1..max_half positions out of `count`, smallest halves first.

    Attributes:
      positions: (half, max_half) increasing positions; a smaller half is padded with
        `count`, a position of magnitude 0.
      size: each half's number of positions.
    """

    positions: npt.NDArray[np.intp]
    size: Ints


@functools.cache
def _half_shapes(count: int, max_half: int) -> _HalfShapes:
    halves = [(*chosen, *(count,) * (max_half - size)) for size in range(1, max_half + 1)
              for chosen in itertools.combinations(range(count), size)]  # fmt: skip
    positions = np.array(halves, dtype=np.intp).reshape(-1, max_half)
    return _HalfShapes(positions, (positions < count).sum(axis=1))


@dataclass(frozen=True, slots=True)
class _Halves:
    """The halves kept by the filter: target column, half (a row of `_HalfShapes`) and sum."""

    column: Ints
    half: Ints
    total: Ints


def _filtered_halves(runs: _Runs, shapes: _HalfShapes) -> _Halves:
    """The halves whose lacking amount is (up to a hash collision) another half's sum."""
    table_bits = max((len(shapes.size) - 1).bit_length() + _SLOTS_PER_HALF_BITS, 8)
    per_chunk = 1 << max(_TABLE_BYTES_BITS - table_bits, _MIN_TARGETS_PER_CHUNK_BITS)
    shift = np.uint64(64 - table_bits)
    # slots hold the number of the chunk that filled them: no clearing between chunks
    table = np.zeros(per_chunk << table_bits, dtype=np.uint8)
    target_hash = runs.target_magnitude.view(np.uint64) * _FIBONACCI
    with_zero = np.vstack([runs.magnitudes, np.zeros((1, runs.magnitudes.shape[1]), dtype=np.int64)])
    kept = []
    for chunk, low in enumerate(range(0, with_zero.shape[1], per_chunk)):
        stamp = chunk % 255 + 1
        if stamp == 1:
            table[:] = 0
        high = min(low + per_chunk, with_zero.shape[1])
        magnitudes = with_zero[:, low:high]
        sums = magnitudes[shapes.positions[:, 0]]
        for k in range(1, shapes.positions.shape[1]):
            sums += magnitudes[shapes.positions[:, k]]
        slot_base = np.arange(high - low, dtype=np.uint64) << np.uint64(table_bits)
        product = sums.view(np.uint64) * _FIBONACCI
        table[((product >> shift) | slot_base).view(np.intp)] = stamp
        lacking = target_hash[low:high] - product  # hashes (target - sum): the product is linear
        lacking >>= shift
        lacking |= slot_base
        passing = np.flatnonzero(table[lacking.view(np.intp)] == stamp)
        half, column = np.divmod(passing, high - low)
        kept.append((column + low, half, sums.ravel()[passing]))
    return _Halves(*(np.concatenate(found) for found in zip(*kept, strict=True)))


def _halves_frame(runs: _Runs, shapes: _HalfShapes, halves: _Halves) -> pl.DataFrame:
    """The kept halves: column, size, total, lacking (target - total) and positions p0, p1..."""
    positions = shapes.positions[halves.half]
    return pl.DataFrame(
        {
            "column": halves.column,
            "size": shapes.size[halves.half],
            "total": halves.total,
            "lacking": runs.target_magnitude[halves.column] - halves.total,
            **{f"p{k}": positions[:, k] for k in range(positions.shape[1])},
        }
    )


def _subsets_of_halves(kept: pl.LazyFrame, *, size: int) -> pl.LazyFrame:
    """(column, positions p0.. then q0..) of the subsets of `size` candidates summing exactly to their target."""
    first_size, second_size = size - size // 2, size // 2
    first = kept.filter(pl.col("size") == first_size).select(
        "column", pl.col("lacking").alias("amount"), *(f"p{k}" for k in range(first_size))
    )
    second = kept.filter(pl.col("size") == second_size).select(
        "column", pl.col("total").alias("amount"), *(pl.col(f"p{k}").alias(f"q{k}") for k in range(second_size))
    )
    matched = first.join(second, on=["column", "amount"]).filter(pl.col(f"p{first_size - 1}") < pl.col("q0"))
    return matched.drop("amount")


def exact_subsets(candidates: pl.DataFrame, *, max_size: int) -> pl.DataFrame:
    """(target, parts) for every subset of 2..max_size candidates summing exactly to the target.

    `candidates` holds target, part, amount_minor and target_amount, each target's rows
    together; every amount has its target's sign and a smaller magnitude. `parts` are
    the part values of a subset, increasing; every subset is listed once.
    """
    if candidates.is_empty() or max_size < 2:
        return pl.DataFrame(schema=SUBSETS_SCHEMA)
    runs = _reachable(_runs(candidates), max_size)
    if runs.first_row.size == 0:
        return pl.DataFrame(schema=SUBSETS_SCHEMA)
    shapes = _half_shapes(runs.magnitudes.shape[0], (max_size + 1) // 2)
    kept = _halves_frame(runs, shapes, _filtered_halves(runs, shapes)).lazy()
    target, part = candidates["target"].to_numpy(), candidates["part"].to_numpy()
    found = []
    for matched in pl.collect_all(
        [_subsets_of_halves(kept, size=size) for size in range(2, max_size + 1)], engine=ENGINE
    ):
        values = matched.to_numpy()  # column, then the positions
        first_row = runs.first_row[values[:, 0]]
        parts = np.sort(part[first_row[:, None] + values[:, 1:]], axis=1)
        found.append(
            pl.LazyFrame({"target": target[first_row], "parts": parts}).with_columns(pl.col("parts").arr.to_list())
        )
    return pl.concat(found).cast(SUBSETS_SCHEMA).collect(engine=ENGINE)
