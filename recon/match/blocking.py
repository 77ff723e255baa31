"""Stage 1, block: the candidate (bank row, ledger row) pairs worth scoring.

Three tiers, cheapest and surest first, always within one account and currency:

1. `reference`: a reference token (invoice, check number, end-to-end id) on both
   rows, the amount equal or within the tolerance, dates up to
   `reference_window_days` apart (checks clear weeks late).
2. `exact`: the same amount, the bank date inside the asymmetric date window, for
   rows a reference has not already paired at that amount (reference keys first).
3. `tolerance`: amounts that differ by a fee or FX rounding, only for rows that
   found no candidate above, same sign, within the window (`tolerance_band`); the
   pipeline keeps these only with textual evidence.

Windows and bands never become range joins or the full (account, amount) join: with
recurring amounts that join grows quadratically. The exact tier sorts the ledger by
one integer key (account, amount, day) and finds each bank row's window by binary
search; the band does the same with amount buckets in place of amounts, each bank row
probing its own bucket and both neighbours. Inside the stage
a set of pairs is one sorted array of `pair_keys` (b_idx << 32 | l_idx); a pair a
person rejected is never a candidate again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from recon.config import MatchingSettings
from recon.match.engine import ENGINE

REFERENCE, EXACT, TOLERANCE = "reference", "exact", "tolerance"
PAIR_SCHEMA = pl.Schema({
    "b_idx": pl.UInt32(), "l_idx": pl.UInt32(), "date_diff_days": pl.Int64(), "amount_diff_minor": pl.Int64(),
    "tier": pl.Enum([REFERENCE, EXACT, TOLERANCE]),
})  # fmt: skip
_TIERS = pl.Series("tier", [REFERENCE, EXACT, TOLERANCE], dtype=PAIR_SCHEMA["tier"])
_LOW_32 = np.uint64(0xFFFF_FFFF)
Bucket = Callable[[np.ndarray], np.ndarray]
"""Amounts -> their buckets (int64)."""


@dataclass(frozen=True, slots=True)
class Side:
    """One side's rows as numpy arrays indexed by row index (b_idx or l_idx).

    `group` is a small integer per (account_id, currency), the same on both sides;
    `day` the posted date as days since 1970-01-01.
    """

    group: np.ndarray
    amount: np.ndarray
    day: np.ndarray


def sides(bank: pl.DataFrame, ledger: pl.DataFrame) -> tuple[Side, Side]:
    """Both sides as `Side` arrays (b_idx and l_idx are the row numbers of their frames)."""
    columns = [pl.col("account_id", "currency"), "amount_minor", "posted_date"]
    both = (
        pl.concat([bank.lazy().select(columns), ledger.lazy().select(columns)])
        .select(
            pl.struct("account_id", "currency").rank("dense").cast(pl.Int64).alias("group"),
            "amount_minor",
            pl.col("posted_date").cast(pl.Int64).alias("day"),
        )
        .collect(engine=ENGINE)
    )
    group, amount, day = (both[column].to_numpy() for column in ("group", "amount_minor", "day"))
    return (
        Side(group=group[: bank.height], amount=amount[: bank.height], day=day[: bank.height]),
        Side(group=group[bank.height :], amount=amount[bank.height :], day=day[bank.height :]),
    )


def pair_keys(b_idx: np.ndarray, l_idx: np.ndarray) -> np.ndarray:
    """One uint64 per pair, b_idx << 32 | l_idx: sorting the keys sorts the pairs by (b_idx, l_idx)."""
    keys = b_idx.astype(np.uint64)
    keys <<= np.uint64(32)  # in place: these arrays hold millions of pairs
    keys |= l_idx.astype(np.uint64, copy=False)
    return keys


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(b_idx, l_idx) of `pair_keys`, as int64: numpy gathers by int64 indexes without converting them."""
    return (keys >> np.uint64(32)).view(np.int64), (keys & _LOW_32).view(np.int64)


ROWS_WORTH_A_PARALLEL_SORT = 10_000
"""Polars sorts on all cores but each call costs ~0.1 ms: fewer keys sort quicker in numpy."""


def _argsort(keys: np.ndarray) -> np.ndarray:
    """The permutation that sorts `keys` (int64 indexes)."""
    if len(keys) < ROWS_WORTH_A_PARALLEL_SORT:
        return np.argsort(keys, kind="stable")
    return pl.Series(keys).arg_sort().to_numpy().astype(np.int64)


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """The distinct values of `keys`, sorted (several times faster than `np.unique` here)."""
    return pl.Series(keys).unique().sort().to_numpy()


def allowed_difference(amount: pl.Expr, settings: MatchingSettings) -> pl.Expr:
    """Largest amount difference (minor units) a pair may show: absolute or percentage, the larger."""
    by_percent = (amount.abs() * settings.amount_tolerance_percent / 100).floor().cast(pl.Int64)
    return pl.max_horizontal(pl.lit(settings.amount_tolerance_minor, dtype=pl.Int64), by_percent)


def _allowed_difference_of(amount: np.ndarray, settings: MatchingSettings) -> np.ndarray:
    """`allowed_difference` on a numpy array, the same float operations in the same order."""
    by_percent = np.floor(np.abs(amount) * settings.amount_tolerance_percent / 100).astype(np.int64)
    return np.maximum(np.int64(settings.amount_tolerance_minor), by_percent)


def _same_sign_within_tolerance(
    keys: np.ndarray, bank: Side, ledger: Side, settings: MatchingSettings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mask of the pairs with the same sign and the amount difference allowed, amount and day differences)."""
    b, lx = split_keys(keys)
    bank_amount, ledger_amount = bank.amount[b], ledger.amount[lx]
    amount_diff = bank_amount - ledger_amount
    within = (np.sign(bank_amount) == np.sign(ledger_amount)) & (
        np.abs(amount_diff) <= _allowed_difference_of(ledger_amount, settings)
    )
    return within, amount_diff, bank.day[b] - ledger.day[lx]


def distinctive_tokens(tokens: pl.LazyFrame, *, settings: MatchingSettings) -> pl.LazyFrame:
    """Tokens carried by at most `max_rows_per_reference` rows of one account: the others are not keys."""
    count = pl.len().over("account_id", "currency", "token")
    return tokens.filter(count <= settings.max_rows_per_reference)


def reference_pairs(
    bank: Side, ledger: Side, *, bank_tokens: pl.DataFrame, ledger_tokens: pl.DataFrame, settings: MatchingSettings
) -> np.ndarray:
    """Sorted `pair_keys` of pairs sharing a reference token, the amount equal or within the
    tolerance, dates in the reference window."""
    keys = ["account_id", "currency", "token"]
    key = pl.col("b_idx").cast(pl.UInt64) * pl.lit(1 << 32, dtype=pl.UInt64) + pl.col("l_idx").cast(pl.UInt64)
    shared = bank_tokens.lazy().select("b_idx", *keys).join(ledger_tokens.lazy().select("l_idx", *keys), on=keys)
    pairs = shared.select(key.unique().sort()).collect(engine=ENGINE).to_series().to_numpy()  # `pair_keys`
    within, _, date_diff = _same_sign_within_tolerance(pairs, bank, ledger, settings)
    window = settings.reference_window_days
    return pairs[within & (np.abs(date_diff) <= window)]


def _value_codes(group: np.ndarray, value: np.ndarray) -> np.ndarray:
    """One non-negative code per (group, value): equal codes for equal pairs, small enough to share
    an int64 with a day number."""
    groups, lowest = int(group.max()) + 1, int(value.min())
    if (int(value.max()) - lowest + 1) * groups < 1 << 40:
        return (value - lowest) * groups + group
    # values too far apart to be a code as they are: their dense rank is
    ranks = pl.Series(value).rank("dense").to_numpy().astype(np.int64)
    return ranks * groups + group


def _expand_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of the ranges starts[i] .. starts[i] + counts[i] - 1, as one cumulative sum:
    steps of 1, and at each range's first element the jump from the previous range's last."""
    nonempty = counts > 0
    starts, counts = starts[nonempty], counts[nonempty]
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    steps = np.ones(int(counts.sum()), dtype=np.int64)
    first = np.cumsum(counts) - counts
    steps[first[1:]] = starts[1:] - (starts[:-1] + counts[:-1] - 1)
    steps[0] = starts[0]
    return np.cumsum(steps, out=steps)


def _same_code_in_window(
    bank_code: np.ndarray,
    bank_rows: np.ndarray,
    ledger_code: np.ndarray,
    ledger_rows: np.ndarray,
    bank: Side,
    ledger: Side,
    settings: MatchingSettings,
) -> np.ndarray:
    """`pair_keys` (not sorted) of (bank_rows[i], ledger_rows[j]) with bank_code[i] == ledger_code[j]
    (non-negative codes), the bank day inside the window; a bank row may come more than once, with other codes.

    The window is asymmetric: the bank may post up to `bank_days_after_books` days after
    the books and `bank_days_before_books` days before them. The ledger rows are sorted by
    one integer (code, day); each bank row's partners are then one contiguous range,
    found by two binary searches: nothing is exploded and nothing is joined.
    """
    if len(bank_rows) == 0 or len(ledger_rows) == 0:
        return np.zeros(0, dtype=np.uint64)
    after, before = settings.bank_days_after_books, settings.bank_days_before_books
    bank_day, ledger_day = bank.day[bank_rows], ledger.day[ledger_rows]
    # days as offsets from `low`, so that day - after and day + before stay inside the code's own key range
    low = min(int(bank_day.min()), int(ledger_day.min())) - after
    day_bits = (max(int(bank_day.max()), int(ledger_day.max())) + before - low).bit_length()
    if max(int(bank_code.max()), int(ledger_code.max())).bit_length() + day_bits > 62:
        raise ValueError("too many distinct amounts over too many days for one 64-bit key")
    bank_key = bank_code << day_bits | (bank_day - low)
    ledger_key = ledger_code << day_bits | (ledger_day - low)
    order = _argsort(ledger_key)
    sorted_key = ledger_key[order]
    # sorted queries: each binary search starts where the last one ended (several times faster)
    bank_order = _argsort(bank_key)
    query = bank_key[bank_order]
    first = np.searchsorted(sorted_key, query - after, side="left")
    counts = np.searchsorted(sorted_key, query + before, side="right") - first
    partners = ledger_rows[order[_expand_ranges(first, counts)]]
    return pair_keys(np.repeat(bank_rows[bank_order], counts), partners)


def exact_amount_in_window(
    bank: Side, ledger: Side, *, bank_rows: np.ndarray, ledger_rows: np.ndarray, settings: MatchingSettings
) -> np.ndarray:
    """`pair_keys` (not sorted) of the given rows with the same group and amount, the bank day inside the window."""
    if len(bank_rows) == 0 or len(ledger_rows) == 0:
        return np.zeros(0, dtype=np.uint64)
    codes = _value_codes(
        np.concatenate([bank.group[bank_rows], ledger.group[ledger_rows]]),
        np.concatenate([bank.amount[bank_rows], ledger.amount[ledger_rows]]),
    )
    split = len(bank_rows)
    return _same_code_in_window(codes[:split], bank_rows, codes[split:], ledger_rows, bank, ledger, settings)


def _bucket_pairs(
    bank: Side, bank_rows: np.ndarray, ledger: Side, ledger_rows: np.ndarray, settings: MatchingSettings, bucket: Bucket
) -> np.ndarray:
    """`pair_keys` of the given rows in the same group, the bank day inside the window, the bank amount's
    bucket equal to or next to the ledger amount's."""
    bank_bucket, ledger_bucket = bucket(bank.amount[bank_rows]), bucket(ledger.amount[ledger_rows])
    # each bank row probes its bucket and both neighbours
    probes = np.concatenate([bank_bucket - 1, bank_bucket, bank_bucket + 1])
    codes = _value_codes(
        np.concatenate([np.tile(bank.group[bank_rows], 3), ledger.group[ledger_rows]]),
        np.concatenate([probes, ledger_bucket]),
    )
    split = len(probes)
    return _same_code_in_window(
        codes[:split], np.tile(bank_rows, 3), codes[split:], ledger_rows, bank, ledger, settings
    )


def _amount_buckets(settings: MatchingSettings) -> list[Bucket]:
    """One bucketing per kind of tolerance: a pair within that tolerance sits in neighbouring buckets."""
    buckets: list[Bucket] = []
    if settings.amount_tolerance_minor > 0:
        width = settings.amount_tolerance_minor
        buckets.append(lambda amount: amount // width)
    if settings.amount_tolerance_percent > 0:
        # the tolerance is a share of the ledger amount, so the ratio of a pair reaches 1 / (1 - p):
        # buckets that wide keep every pair within one bucket of each other
        step = -math.log1p(-settings.amount_tolerance_percent / 100)

        def by_magnitude(amount: np.ndarray) -> np.ndarray:
            # a zero amount has no sign, so no band pair: its bucket (0 here) does not matter
            magnitude = np.floor(np.log(np.maximum(np.abs(amount), 1).astype(np.float64)) / step)
            return magnitude.astype(np.int64) * np.sign(amount)

        buckets.append(by_magnitude)
    return buckets


def tolerance_band(
    bank: Side, ledger: Side, *, bank_rows: np.ndarray, ledger_rows: np.ndarray, settings: MatchingSettings
) -> np.ndarray:
    """`pair_keys` (not sorted) of the given rows whose amounts differ by a little (never zero), same sign,
    bank day inside the window.

    Meant for the rows no other tier paired: popular price points all sit inside a
    few dollars of each other, so on all rows this band would pair everything.
    """
    buckets = _amount_buckets(settings)
    if len(bank_rows) == 0 or len(ledger_rows) == 0 or not buckets:
        return np.zeros(0, dtype=np.uint64)
    found = [_bucket_pairs(bank, bank_rows, ledger, ledger_rows, settings, bucket) for bucket in buckets]
    candidates = sorted_unique(np.concatenate(found))
    within, amount_diff, date_diff = _same_sign_within_tolerance(candidates, bank, ledger, settings)
    return candidates[within & (amount_diff != 0) & _in_window(date_diff, settings)]


def same_amount_elsewhere(rows: pl.DataFrame, others: pl.DataFrame, idx: str, *, days: int) -> pl.DataFrame:
    """Rows of `rows` that have a row of `others` with the same amount within `days` either way.

    Only for explaining open rows ("outside_date_window"). An as-of join on the date,
    by account, currency and amount, finds each row's nearest same-amount row: nothing
    is exploded into days and nothing multiplies.
    """
    keys = ["account_id", "currency", "amount_minor"]
    mine = rows.lazy().select(idx, *keys, "posted_date").sort("posted_date")
    theirs = (
        others.lazy()
        .select(*keys, pl.col("posted_date").alias("other_date"))
        .unique()
        .with_columns(pl.col("other_date").alias("posted_date"))
        .sort("posted_date")
    )
    nearest = mine.join_asof(theirs, on="posted_date", by=keys, strategy="nearest", check_sortedness=False)
    within = (pl.col("posted_date") - pl.col("other_date")).dt.total_days().abs() <= days
    return nearest.filter(within).select(idx).collect(engine=ENGINE)


def without_rejected(keys: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    """`keys` without the pairs a person rejected (`rejected`: their `pair_keys`)."""
    if len(rejected) == 0:
        return keys
    return keys[~np.isin(keys, rejected)]


def _in_window(date_diff: np.ndarray, settings: MatchingSettings) -> np.ndarray:
    """Whether each bank - ledger day difference is inside the (asymmetric) date window."""
    return (date_diff >= -settings.bank_days_before_books) & (date_diff <= settings.bank_days_after_books)


def _rows_without(pairs: np.ndarray, rows: int, of_bank: bool) -> np.ndarray:
    """Row indexes in 0..rows-1 that no pair of `pairs` names (on the bank side, or the ledger side)."""
    b, lx = split_keys(pairs)
    named = np.zeros(rows, dtype=bool)
    named[b if of_bank else lx] = True
    return np.flatnonzero(~named)


def _pairs_frame(keys: np.ndarray, reference: np.ndarray, bank: Side, ledger: Side) -> pl.DataFrame:
    """The pair frame (PAIR_SCHEMA) of sorted `keys`; `reference` (sorted, a subset) are the reference tier.

    The tiers are disjoint and the others follow from the amounts: exact pairs have
    equal amounts, tolerance pairs never do.
    """
    b, lx = split_keys(keys)
    amount_diff = bank.amount[b] - ledger.amount[lx]
    tier = np.where(amount_diff == 0, 1, 2).astype(np.uint32)
    tier[np.searchsorted(keys, reference)] = 0
    return pl.DataFrame(
        [
            pl.Series("b_idx", b.astype(np.uint32)),
            pl.Series("l_idx", lx.astype(np.uint32)),
            pl.Series("date_diff_days", bank.day[b] - ledger.day[lx]),
            pl.Series("amount_diff_minor", amount_diff),
            _TIERS.gather(tier),
        ]
    )


def candidate_pairs(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    bank_tokens: pl.DataFrame,
    ledger_tokens: pl.DataFrame,
    settings: MatchingSettings,
    rejected: pl.DataFrame,
) -> pl.DataFrame:
    """All three tiers, one row per pair, sorted by (b_idx, l_idx), rejected pairs removed.

    Rows a reference pairs at the exact amount inside the window skip the amount tier
    (reference keys first); the tolerance band runs only on the rows the first two
    tiers left without a candidate.
    """
    bank_side, ledger_side = sides(bank, ledger)
    rejected_keys = pair_keys(rejected["b_idx"].to_numpy(), rejected["l_idx"].to_numpy())
    by_reference = without_rejected(
        reference_pairs(
            bank_side, ledger_side, bank_tokens=bank_tokens, ledger_tokens=ledger_tokens, settings=settings
        ),
        rejected_keys,
    )
    # recurring amounts would otherwise pair an anchored row with every look-alike of the month
    _, amount_diff, date_diff = _same_sign_within_tolerance(by_reference, bank_side, ledger_side, settings)
    anchored = by_reference[(amount_diff == 0) & _in_window(date_diff, settings)]

    def on_rows_left(tier: Callable[..., np.ndarray], paired: np.ndarray) -> np.ndarray:
        """The tier's pairs among the rows no pair of `paired` names, rejected pairs removed."""
        bank_rows = _rows_without(paired, bank.height, of_bank=True)
        ledger_rows = _rows_without(paired, ledger.height, of_bank=False)
        found = tier(bank_side, ledger_side, bank_rows=bank_rows, ledger_rows=ledger_rows, settings=settings)
        return without_rejected(found, rejected_keys)

    by_amount = on_rows_left(exact_amount_in_window, anchored)
    # no pair is in both tiers: a reference pair at the exact amount inside the window anchors its rows,
    # which the amount tier then skips
    sure = np.concatenate([by_reference, by_amount])
    band = on_rows_left(tolerance_band, sure)
    keys = pl.Series(np.concatenate([sure, band])).sort().to_numpy()  # the tiers are disjoint
    return _pairs_frame(keys, by_reference, bank_side, ledger_side)
