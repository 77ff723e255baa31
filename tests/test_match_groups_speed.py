"""The fast paths of the 1:N / N:1 search against straightforward definitions, on small random inputs."""

from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from typing import Any
from unittest import mock

import hypothesis
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from recon.config import MatchingSettings
from recon.match import subset_sums
from recon.match.grouping import _candidates, _referenced_candidates, _resolve, _sharing_a_reference
from recon.match.subset_sums import exact_subsets

CANDIDATES_SCHEMA = {"target": pl.UInt32, "part": pl.UInt32, "amount_minor": pl.Int64, "target_amount": pl.Int64}


def _candidates_frame(targets: list[tuple[int, list[tuple[int, int]]]], sign: int) -> pl.DataFrame:
    """(target amount, [(part, amount)]) per target, as `grouping._candidates` gives them: the target's
    sign, a smaller magnitude (larger amounts are dropped)."""
    rows = [
        (target, part, sign * amount, sign * target_amount)
        for target, (target_amount, parts) in enumerate(targets)
        for part, amount in parts
        if amount < target_amount
    ]
    return pl.DataFrame(rows, schema=CANDIDATES_SCHEMA, orient="row")


def _every_exact_subset(candidates: pl.DataFrame, max_size: int) -> list[tuple[int, list[int]]]:
    """The definition: every subset of 2..max_size candidates of a target summing to it."""
    found = []
    for (target,), rows in candidates.group_by("target"):
        parts = list(zip(rows["part"], rows["amount_minor"], strict=True))
        for size in range(2, max_size + 1):
            for chosen in itertools.combinations(parts, size):
                if sum(amount for _, amount in chosen) == rows["target_amount"][0]:
                    found.append((target, sorted(part for part, _ in chosen)))
    return sorted(found)


def _runs_of_parts(draw: st.DrawFn, count: int) -> list[tuple[int, int]]:
    parts = draw(st.lists(st.integers(0, 30), min_size=count, max_size=count, unique=True))
    return [(part, draw(st.integers(0, 12))) for part in parts]


@st.composite
def _targets(draw: st.DrawFn) -> list[tuple[int, list[tuple[int, int]]]]:
    counts = draw(st.lists(st.integers(0, 10), min_size=1, max_size=5))
    return [(draw(st.integers(1, 40)), _runs_of_parts(draw, count)) for count in counts]


@hypothesis.settings(max_examples=200, deadline=None)
@given(_targets(), st.booleans(), st.integers(2, 8), st.booleans())
def test_exact_subsets_are_every_subset_summing_to_the_target(
    targets: list[tuple[int, list[tuple[int, int]]]], negative: bool, max_size: int, tiny_table: bool
) -> None:
    # small amounts (zero too), so that many subsets tie; a tiny table makes most halves collide
    candidates = _candidates_frame(targets, -1 if negative else 1)
    with mock.patch.object(subset_sums, "_SLOTS_PER_HALF_BITS", -20 if tiny_table else 6):
        found = exact_subsets(candidates, max_size=max_size)
    assert found.schema == subset_sums.SUBSETS_SCHEMA
    assert sorted(found.rows()) == _every_exact_subset(candidates, max_size)


def test_exact_subsets_of_many_targets_one_per_chunk() -> None:
    # one target per chunk: the table's chunk stamps wrap around (255) and the table is cleared
    rng = random.Random(7)
    targets = [
        (rng.randint(10, 60), [(part, rng.randint(1, 30)) for part in rng.sample(range(50), rng.randint(0, 12))])
        for _ in range(600)
    ]
    candidates = _candidates_frame(targets, 1)
    with (
        mock.patch.object(subset_sums, "_TABLE_BYTES_BITS", 8),
        mock.patch.object(subset_sums, "_MIN_TARGETS_PER_CHUNK_BITS", 0),
    ):
        found = exact_subsets(candidates, max_size=4)
    assert sorted(found.rows()) == _every_exact_subset(candidates, 4)


DAY0 = date(2026, 3, 2)


@st.composite
def _side(draw: st.DrawFn, *, size: int, tokens: list[str]) -> pl.DataFrame:
    rows = [
        {
            "account_id": draw(st.sampled_from(["a", "b"])),
            "currency": draw(st.sampled_from(["USD", "EUR"])),
            "amount_minor": draw(st.sampled_from([-1, 1])) * draw(st.integers(0, 30)),
            "posted_date": DAY0 + timedelta(days=draw(st.integers(0, 14))),
            "tokens": draw(st.lists(st.sampled_from(tokens), max_size=2, unique=True)),
            "contested": draw(st.booleans()),
        }
        for _ in range(size)
    ]
    schema = {"account_id": pl.String, "currency": pl.String, "amount_minor": pl.Int64, "posted_date": pl.Date,
              "tokens": pl.List(pl.String), "contested": pl.Boolean}  # fmt: skip
    return pl.DataFrame(rows, schema=schema).with_row_index("idx")


def _nearest_candidates(
    targets: pl.DataFrame, parts: pl.DataFrame, *, target_is_bank: bool, settings: MatchingSettings
) -> pl.DataFrame:
    """The definition: every (target, part) of one book and sign, the part smaller and inside the window,
    by (distance in the window, |offset|, offset, magnitude, part), the first `group_max_candidates`."""
    after, before = settings.bank_days_after_books, settings.bank_days_before_books
    bank_minus_ledger = (pl.col("t_date") - pl.col("posted_date")).dt.total_days() * (1 if target_is_bank else -1)
    offset = (pl.col("posted_date") - pl.col("t_date")).dt.total_days()
    distance = pl.when(pl.col("date_diff_days") >= 0).then(pl.col("date_diff_days") / (after + 1))
    distance = distance.otherwise(-pl.col("date_diff_days") / (before + 1))
    return (
        targets.filter(~pl.col("contested") & (pl.col("amount_minor") != 0))
        .select(
            pl.col("idx").alias("target"),
            "account_id",
            "currency",
            pl.col("amount_minor").alias("target_amount"),
            pl.col("posted_date").alias("t_date"),
        )
        .join(
            parts.select(pl.col("idx").alias("part"), "account_id", "currency", "amount_minor", "posted_date"),
            on=["account_id", "currency"],
        )
        .with_columns(bank_minus_ledger.alias("date_diff_days"), offset.alias("offset"))
        .filter(
            (pl.col("amount_minor") != 0)
            & ((pl.col("amount_minor") > 0) == (pl.col("target_amount") > 0))
            & (pl.col("amount_minor").abs() < pl.col("target_amount").abs())
            & pl.col("date_diff_days").is_between(-before, after)
        )
        .sort("target", distance, pl.col("offset").abs(), "offset", pl.col("amount_minor").abs(), "part")
        .group_by("target", maintain_order=True)
        .head(settings.group_max_candidates)
        .select("target", "part", "date_diff_days", "amount_minor", "target_amount")
    )


@hypothesis.settings(max_examples=150, deadline=None)
@given(st.data(), st.booleans(), st.integers(2, 6))
def test_candidates_are_the_nearest_smaller_parts_of_the_book(
    data: st.DataObject, target_is_bank: bool, cap: int
) -> None:
    targets = data.draw(_side(size=data.draw(st.integers(1, 12)), tokens=["x"]))
    parts = data.draw(_side(size=data.draw(st.integers(1, 25)), tokens=["x"]))
    settings = MatchingSettings(group_max_candidates=cap)
    found = _candidates(targets, parts, target_is_bank=target_is_bank, settings=settings)
    expected = _nearest_candidates(targets, parts, target_is_bank=target_is_bank, settings=settings)
    assert found.rows() == expected.cast(found.schema).rows()


@hypothesis.settings(max_examples=100, deadline=None)
@given(st.data(), st.booleans())
def test_searching_only_targets_sharing_a_reference_finds_the_same_referenced_candidates(
    data: st.DataObject, target_is_bank: bool
) -> None:
    targets = data.draw(_side(size=data.draw(st.integers(1, 12)), tokens=["t1", "t2", "t3"]))
    parts = data.draw(_side(size=data.draw(st.integers(1, 25)), tokens=["t2", "t3", "t4"]))
    settings = MatchingSettings(group_max_candidates=3)

    def referenced(searched: pl.DataFrame) -> pl.DataFrame:
        candidates = _candidates(searched, parts, target_is_bank=target_is_bank, settings=settings)
        return _referenced_candidates(candidates, targets, parts)

    assert referenced(_sharing_a_reference(targets, parts)).equals(referenced(targets))


def _resolved_in_rounds(subsets: list[dict[str, Any]]) -> list[int]:
    """The definition: in each round, every target's best remaining subset, taken when it is the best
    subset of the round claiming each of its parts; the targets and parts taken leave the others."""
    remaining = sorted(subsets, key=lambda s: (-s["score"], s["size"], s["spread"], s["target"], s["subset"]))
    taken: list[int] = []
    while remaining:
        best = {}
        for subset in remaining:
            best.setdefault(subset["target"], subset["subset"])
        claims = [subset for subset in remaining if best[subset["target"]] == subset["subset"]]
        winner: dict[int, int] = {}
        for subset in claims:
            for part in subset["parts"]:
                winner.setdefault(part, subset["subset"])
        accepted = [subset for subset in claims if all(winner[part] == subset["subset"] for part in subset["parts"])]
        taken += [subset["subset"] for subset in accepted]
        done, used = {s["target"] for s in accepted}, {part for s in accepted for part in s["parts"]}
        remaining = [s for s in remaining if s["target"] not in done and not used & set(s["parts"])]
    return taken


@st.composite
def _scored(draw: st.DrawFn) -> list[dict[str, Any]]:
    subsets = []
    for subset in range(draw(st.integers(0, 14))):
        parts = draw(st.lists(st.integers(0, 8), min_size=2, max_size=4, unique=True))
        # few distinct scores and spreads: many ties, broken by size, target and subset number
        score, spread = draw(st.sampled_from([0.7, 0.8, 0.95])), draw(st.integers(0, 2))
        subsets.append({"subset": subset, "target": draw(st.integers(0, 4)), "parts": parts, "score": score,
                        "size": len(parts), "spread": spread})  # fmt: skip
    return subsets


@hypothesis.settings(max_examples=300, deadline=None)
@given(_scored())
def test_resolve_takes_subsets_in_rounds(subsets: list[dict[str, Any]]) -> None:
    schema = {"subset": pl.UInt32, "target": pl.UInt32, "parts": pl.List(pl.UInt32), "score": pl.Float64,
              "size": pl.UInt32, "spread": pl.Int64}  # fmt: skip
    resolved = _resolve(pl.LazyFrame(subsets, schema=schema))
    assert resolved["subset"].to_list() == _resolved_in_rounds(subsets)
