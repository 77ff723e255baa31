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
search; the band is an equi-join on exploded keys (each ledger row exploded into the
bank days it may meet, each amount into its neighbouring buckets). Inside the stage
a set of pairs is one sorted array of `pair_keys` (b_idx << 32 | l_idx); a pair a
person rejected is never a candidate again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from recon.config import MatchingSettings

REFERENCE, EXACT, TOLERANCE = "reference", "exact", "tolerance"
PAIR_SCHEMA = pl.Schema({
    "b_idx": pl.UInt32(), "l_idx": pl.UInt32(), "date_diff_days": pl.Int64(), "amount_diff_minor": pl.Int64(),
    "tier": pl.Enum([REFERENCE, EXACT, TOLERANCE]),
})  # fmt: skip
_TIERS = pl.Series("tier", [REFERENCE, EXACT, TOLERANCE], dtype=PAIR_SCHEMA["tier"])
_LOW_32 = np.uint64(0xFFFF_FFFF)


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
    accounts = ["account_id", "currency"]
    codes = (
        pl.concat([bank.select(accounts), ledger.select(accounts)]).unique(maintain_order=True).with_row_index("group")
    )

    def side(frame: pl.DataFrame) -> Side:
        group = frame.select(accounts).join(codes, on=accounts, how="left", maintain_order="left")["group"]
        return Side(
            group=group.to_numpy().astype(np.int64),
            amount=frame["amount_minor"].to_numpy(),
            day=frame["posted_date"].cast(pl.Int32).to_numpy().astype(np.int64),
        )

    return side(bank), side(ledger)


def pair_keys(b_idx: np.ndarray, l_idx: np.ndarray) -> np.ndarray:
    """One uint64 per pair, b_idx << 32 | l_idx: sorting the keys sorts the pairs by (b_idx, l_idx)."""
    keys = b_idx.astype(np.uint64)
    keys <<= np.uint64(32)  # in place: these arrays hold millions of pairs
    keys |= l_idx.astype(np.uint64, copy=False)
    return keys


def split_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(b_idx, l_idx) of `pair_keys`, as int64: numpy gathers by int64 indexes without converting them."""
    return (keys >> np.uint64(32)).view(np.int64), (keys & _LOW_32).view(np.int64)


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


def distinctive_tokens(tokens: pl.DataFrame, *, settings: MatchingSettings) -> pl.DataFrame:
    """Tokens carried by at most `max_rows_per_reference` rows of one account: the others are not keys."""
    count = pl.len().over("account_id", "currency", "token")
    return tokens.filter(count <= settings.max_rows_per_reference)


def reference_pairs(
    bank: Side, ledger: Side, *, bank_tokens: pl.DataFrame, ledger_tokens: pl.DataFrame, settings: MatchingSettings
) -> np.ndarray:
    """Sorted `pair_keys` of pairs sharing a reference token, the amount equal or within the
    tolerance, dates in the reference window."""
    keys = ["account_id", "currency", "token"]
    shared = bank_tokens.select("b_idx", *keys).join(ledger_tokens.select("l_idx", *keys), on=keys)
    pairs = sorted_unique(pair_keys(shared["b_idx"].to_numpy(), shared["l_idx"].to_numpy()))
    within, _, date_diff = _same_sign_within_tolerance(pairs, bank, ledger, settings)
    window = settings.reference_window_days
    return pairs[within & (np.abs(date_diff) <= window)]


def _value_codes(bank: Side, bank_rows: np.ndarray, ledger: Side, ledger_rows: np.ndarray) -> np.ndarray:
    """One non-negative code per (group, amount) of the given rows, bank rows first, then ledger rows:
    equal codes for equal values, small enough to share an int64 with a day number."""
    group = np.concatenate([bank.group[bank_rows], ledger.group[ledger_rows]])
    amount = np.concatenate([bank.amount[bank_rows], ledger.amount[ledger_rows]])
    groups, lowest = int(group.max()) + 1, int(amount.min())
    if (int(amount.max()) - lowest + 1) * groups < 1 << 40:
        return (amount - lowest) * groups + group
    # amounts too far apart to be a code as they are: their dense rank is
    ranks = pl.Series(amount).rank("dense").to_numpy().astype(np.int64)
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


def exact_amount_in_window(
    bank: Side, ledger: Side, *, bank_rows: np.ndarray, ledger_rows: np.ndarray, settings: MatchingSettings
) -> np.ndarray:
    """`pair_keys` (not sorted) of the given rows with the same group and amount, the bank day inside the window.

    The window is asymmetric: the bank may post up to `bank_days_after_books` days after
    the books and `bank_days_before_books` days before them. The ledger rows are sorted by
    one integer (value code, day); each bank row's partners are then one contiguous range,
    found by two binary searches: nothing is exploded and nothing is joined.
    """
    if len(bank_rows) == 0 or len(ledger_rows) == 0:
        return np.zeros(0, dtype=np.uint64)
    after, before = settings.bank_days_after_books, settings.bank_days_before_books
    codes = _value_codes(bank, bank_rows, ledger, ledger_rows)
    bank_day, ledger_day = bank.day[bank_rows], ledger.day[ledger_rows]
    # days as offsets from `low`, so that day - after and day + before stay inside the code's own key range
    low = min(int(bank_day.min()), int(ledger_day.min())) - after
    day_bits = (max(int(bank_day.max()), int(ledger_day.max())) + before - low).bit_length()
    if int(codes.max()).bit_length() + day_bits > 62:
        raise ValueError("too many distinct amounts over too many days for one 64-bit key")
    bank_key = codes[: len(bank_rows)] << day_bits | (bank_day - low)
    ledger_key = codes[len(bank_rows) :] << day_bits | (ledger_day - low)
    order = pl.Series(ledger_key).arg_sort().to_numpy().astype(np.int64)
    sorted_key = ledger_key[order]
    # sorted queries: each binary search starts where the last one ended (several times faster)
    bank_order = pl.Series(bank_key).arg_sort().to_numpy()
    query = bank_key[bank_order]
    first = np.searchsorted(sorted_key, query - after, side="left")
    counts = np.searchsorted(sorted_key, query + before, side="right") - first
    partners = ledger_rows[order[_expand_ranges(first, counts)]]
    return pair_keys(np.repeat(bank_rows[bank_order], counts), partners)


def _joined_on_one_key(left: pl.DataFrame, right: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Inner join on integer `keys`, as one Int64 key (mixed radix) when their ranges allow:
    a join on one integer column is several times faster than on three."""
    if left.is_empty() or right.is_empty():
        return left.join(right, on=keys)
    lows = [min(int(left[key].min()), int(right[key].min())) for key in keys]  # type: ignore[arg-type]
    highs = [max(int(left[key].max()), int(right[key].max())) for key in keys]  # type: ignore[arg-type]
    if math.prod(high - low + 1 for low, high in zip(lows, highs, strict=True)) >= 1 << 62:
        return left.join(right, on=keys)
    packed = pl.lit(0, dtype=pl.Int64)
    for key, low, high in zip(keys, lows, highs, strict=True):
        packed = packed * (high - low + 1) + (pl.col(key) - low)
    return left.with_columns(packed.alias("_key")).join(right.with_columns(packed.alias("_key")), on="_key")


def _bucket_probe(bank: pl.DataFrame, exploded_ledger: pl.DataFrame, bucket: pl.Expr) -> pl.DataFrame:
    """Join on (group, day, amount bucket), the bank side probing its bucket and both neighbours."""
    keys = ["group", "day"]
    ledger_keyed = exploded_ledger.select("l_idx", *keys, bucket.alias("bucket")).drop_nulls("bucket")
    bank_keyed = (
        bank.select("b_idx", *keys, bucket.alias("bucket"))
        .drop_nulls("bucket")
        .with_columns(pl.concat_list(pl.col("bucket") - 1, pl.col("bucket"), pl.col("bucket") + 1))
        .explode("bucket")
    )
    return _joined_on_one_key(bank_keyed, ledger_keyed, [*keys, "bucket"]).select("b_idx", "l_idx")


def _rows_frame(side: Side, rows: np.ndarray, idx: str) -> pl.DataFrame:
    """The given rows of one side as a frame: `idx`, group, amount_minor, day."""
    return pl.DataFrame({
        idx: rows.astype(np.uint32), "group": side.group[rows], "amount_minor": side.amount[rows],
        "day": side.day[rows],
    })  # fmt: skip


def tolerance_band(
    bank: Side, ledger: Side, *, bank_rows: np.ndarray, ledger_rows: np.ndarray, settings: MatchingSettings
) -> np.ndarray:
    """`pair_keys` (not sorted) of the given rows whose amounts differ by a little (never zero), same sign,
    bank day inside the window.

    Meant for the rows no other tier paired: popular price points all sit inside a
    few dollars of each other, so on all rows this band would pair everything.
    """
    if len(bank_rows) == 0 or len(ledger_rows) == 0:
        return np.zeros(0, dtype=np.uint64)
    after, before = settings.bank_days_after_books, settings.bank_days_before_books
    bank_frame = _rows_frame(bank, bank_rows, "b_idx")
    # each ledger row once per bank day it may meet: bank day = ledger day + offset
    exploded = (
        _rows_frame(ledger, ledger_rows, "l_idx")
        .with_columns(pl.int_ranges(-before, after + 1, dtype=pl.Int64).alias("offset"))
        .explode("offset")
        .with_columns(pl.col("day") + pl.col("offset"))
    )
    probes = []
    if settings.amount_tolerance_minor > 0:
        width = settings.amount_tolerance_minor
        probes.append(_bucket_probe(bank_frame, exploded, pl.col("amount_minor") // width))
    if settings.amount_tolerance_percent > 0:
        # the tolerance is a share of the ledger amount, so the ratio of a pair reaches 1 / (1 - p):
        # buckets that wide keep every pair within one bucket of each other
        step = -math.log1p(-settings.amount_tolerance_percent / 100)
        magnitude = (pl.col("amount_minor").abs().cast(pl.Float64).log() / step).floor().cast(pl.Int64)
        signed = pl.when(pl.col("amount_minor") != 0).then(magnitude * pl.col("amount_minor").sign())
        probes.append(_bucket_probe(bank_frame, exploded, signed))
    if not probes:
        return np.zeros(0, dtype=np.uint64)
    found = pl.concat(probes)
    candidates = sorted_unique(pair_keys(found["b_idx"].to_numpy(), found["l_idx"].to_numpy()))
    within, amount_diff, date_diff = _same_sign_within_tolerance(candidates, bank, ledger, settings)
    window = (date_diff >= -before) & (date_diff <= after)
    return candidates[within & (amount_diff != 0) & window]


def same_amount_elsewhere(rows: pl.DataFrame, others: pl.DataFrame, idx: str, *, days: int) -> pl.DataFrame:
    """Rows of `rows` that have a row of `others` with the same amount within `days` either way.

    Only for explaining open rows ("outside_date_window"). An as-of join on the date,
    by account, currency and amount, finds each row's nearest same-amount row: nothing
    is exploded into days and nothing multiplies.
    """
    keys = ["account_id", "currency", "amount_minor"]
    mine = rows.select(idx, *keys, "posted_date").sort("posted_date")
    theirs = (
        others.select(*keys, pl.col("posted_date").alias("other_date"))
        .unique()
        .with_columns(pl.col("other_date").alias("posted_date"))
        .sort("posted_date")
    )
    nearest = mine.join_asof(theirs, on="posted_date", by=keys, strategy="nearest", check_sortedness=False)
    within = (pl.col("posted_date") - pl.col("other_date")).dt.total_days().abs() <= days
    return nearest.filter(within).select(idx)


def without_rejected(keys: np.ndarray, rejected: np.ndarray) -> np.ndarray:
    """`keys` without the pairs a person rejected (`rejected`: their `pair_keys`)."""
    if len(rejected) == 0:
        return keys
    return keys[~np.isin(keys, rejected)]


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
            pl.Series("b_idx", b).cast(pl.UInt32),
            pl.Series("l_idx", lx).cast(pl.UInt32),
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
    rejected_keys = pair_keys(
        rejected["b_idx"].cast(pl.UInt32).to_numpy(), rejected["l_idx"].cast(pl.UInt32).to_numpy()
    )
    by_reference = without_rejected(
        reference_pairs(
            bank_side, ledger_side, bank_tokens=bank_tokens, ledger_tokens=ledger_tokens, settings=settings
        ),
        rejected_keys,
    )
    # recurring amounts would otherwise pair an anchored row with every look-alike of the month
    _, amount_diff, date_diff = _same_sign_within_tolerance(by_reference, bank_side, ledger_side, settings)
    in_window = (date_diff >= -settings.bank_days_before_books) & (date_diff <= settings.bank_days_after_books)
    anchored = by_reference[(amount_diff == 0) & in_window]
    by_amount = without_rejected(
        exact_amount_in_window(
            bank_side,
            ledger_side,
            bank_rows=_rows_without(anchored, bank.height, of_bank=True),
            ledger_rows=_rows_without(anchored, ledger.height, of_bank=False),
            settings=settings,
        ),
        rejected_keys,
    )
    # no pair is in both tiers: a reference pair at the exact amount inside the window anchors its rows,
    # which the amount tier then skips
    sure = np.concatenate([by_reference, by_amount])
    band = without_rejected(
        tolerance_band(
            bank_side,
            ledger_side,
            bank_rows=_rows_without(sure, bank.height, of_bank=True),
            ledger_rows=_rows_without(sure, ledger.height, of_bank=False),
            settings=settings,
        ),
        rejected_keys,
    )
    keys = pl.Series(np.concatenate([sure, band])).sort().to_numpy()  # the tiers are disjoint
    return _pairs_frame(keys, by_reference, bank_side, ledger_side)
