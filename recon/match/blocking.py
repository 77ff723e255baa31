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

Windows and bands are equi-joins on exploded keys (each ledger row exploded into
the bank dates it may meet, each amount into its neighbouring buckets), never
range joins and never the full (account, amount) join: with recurring amounts that
join grows quadratically. A pair a person rejected is never a candidate again.
"""

from __future__ import annotations

import math

import polars as pl

from recon.config import MatchingSettings

REFERENCE, EXACT, TOLERANCE = "reference", "exact", "tolerance"
PAIR_SCHEMA = pl.Schema({
    "b_idx": pl.UInt32(), "l_idx": pl.UInt32(), "date_diff_days": pl.Int64(), "amount_diff_minor": pl.Int64(),
    "tier": pl.Enum([REFERENCE, EXACT, TOLERANCE]),
})  # fmt: skip
_SIDE = ["account_id", "currency", "amount_minor", "posted_date"]


def allowed_difference(amount: pl.Expr, settings: MatchingSettings) -> pl.Expr:
    """Largest amount difference (minor units) a pair may show: absolute or percentage, the larger."""
    by_percent = (amount.abs() * settings.amount_tolerance_percent / 100).floor().cast(pl.Int64)
    return pl.max_horizontal(pl.lit(settings.amount_tolerance_minor, dtype=pl.Int64), by_percent)


def _finish(pairs: pl.DataFrame, tier: str) -> pl.DataFrame:
    return pairs.with_columns(pl.lit(tier).alias("tier")).select(list(PAIR_SCHEMA)).cast(PAIR_SCHEMA)


def empty_pairs() -> pl.DataFrame:
    return pl.DataFrame(schema=PAIR_SCHEMA)


def _with_diffs(pairs: pl.DataFrame, bank: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Attach both rows' amounts and dates to (b_idx, l_idx) pairs and the two differences."""
    return (
        pairs.join(bank.select("b_idx", "amount_minor", "posted_date"), on="b_idx")
        .join(
            ledger.select("l_idx", pl.col("amount_minor").alias("l_amount"), pl.col("posted_date").alias("l_date")),
            on="l_idx",
        )
        .with_columns(
            (pl.col("posted_date") - pl.col("l_date")).dt.total_days().alias("date_diff_days"),
            (pl.col("amount_minor") - pl.col("l_amount")).alias("amount_diff_minor"),
        )
    )


def _same_sign_within_tolerance(settings: MatchingSettings) -> pl.Expr:
    return (pl.col("amount_minor").sign() == pl.col("l_amount").sign()) & (
        pl.col("amount_diff_minor").abs() <= allowed_difference(pl.col("l_amount"), settings)
    )


def distinctive_tokens(tokens: pl.DataFrame, *, settings: MatchingSettings) -> pl.DataFrame:
    """Tokens carried by at most `max_rows_per_reference` rows of one account: the others are not keys."""
    count = pl.len().over("account_id", "currency", "token")
    return tokens.filter(count <= settings.max_rows_per_reference)


def reference_pairs(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    bank_tokens: pl.DataFrame,
    ledger_tokens: pl.DataFrame,
    settings: MatchingSettings,
) -> pl.DataFrame:
    """Pairs sharing a reference token, the amount equal or within the tolerance, dates in the reference window."""
    keys = ["account_id", "currency", "token"]
    shared = (
        bank_tokens.select("b_idx", *keys)
        .join(ledger_tokens.select("l_idx", *keys), on=keys)
        .select("b_idx", "l_idx")
        .unique()
    )
    window = settings.reference_window_days
    pairs = _with_diffs(shared, bank, ledger).filter(
        _same_sign_within_tolerance(settings) & pl.col("date_diff_days").is_between(-window, window)
    )
    return _finish(pairs, REFERENCE)


def _exploded_ledger_dates(ledger: pl.DataFrame, *, days_before: int, days_after: int) -> pl.DataFrame:
    """Each ledger row once per bank date it may meet: bank date = ledger date + offset."""
    return (
        ledger.select("l_idx", "account_id", "currency", "amount_minor", pl.col("posted_date").alias("l_date"))
        .with_columns(pl.int_ranges(-days_before, days_after + 1, dtype=pl.Int64).alias("date_diff_days"))
        .explode("date_diff_days")
        .with_columns((pl.col("l_date") + pl.duration(days=pl.col("date_diff_days"))).alias("posted_date"))
    )


def exact_amount_in_window(bank: pl.DataFrame, ledger: pl.DataFrame, *, settings: MatchingSettings) -> pl.DataFrame:
    """Pairs with the same account, currency and amount, the bank date inside the date window.

    The window is asymmetric: the bank may post up to `bank_days_after_books` days after
    the books and `bank_days_before_books` days before them.
    """
    exploded = _exploded_ledger_dates(
        ledger, days_before=settings.bank_days_before_books, days_after=settings.bank_days_after_books
    )
    pairs = bank.select("b_idx", *_SIDE).join(exploded, on=_SIDE).with_columns(pl.lit(0).alias("amount_diff_minor"))
    return _finish(pairs, EXACT)


def _bucket_probe(bank: pl.DataFrame, exploded_ledger: pl.DataFrame, bucket: pl.Expr, keys: list[str]) -> pl.DataFrame:
    """Join on `keys` + amount bucket, the bank side probing its bucket and both neighbours."""
    ledger_keyed = exploded_ledger.select("l_idx", *keys, bucket.alias("bucket")).drop_nulls("bucket")
    bank_keyed = (
        bank.select("b_idx", *keys, bucket.alias("bucket"))
        .drop_nulls("bucket")
        .with_columns(pl.concat_list(pl.col("bucket") - 1, pl.col("bucket"), pl.col("bucket") + 1))
        .explode("bucket")
    )
    return bank_keyed.join(ledger_keyed, on=[*keys, "bucket"]).select("b_idx", "l_idx")


def tolerance_band(bank: pl.DataFrame, ledger: pl.DataFrame, *, settings: MatchingSettings) -> pl.DataFrame:
    """Pairs whose amounts differ by a little (never zero), same sign, bank date inside the window.

    Meant for the rows no other tier paired: popular price points all sit inside a
    few dollars of each other, so on all rows this band would pair everything.
    """
    if bank.is_empty() or ledger.is_empty():
        return empty_pairs()
    exploded = _exploded_ledger_dates(
        ledger, days_before=settings.bank_days_before_books, days_after=settings.bank_days_after_books
    )
    keys = ["account_id", "currency", "posted_date"]
    probes = []
    if settings.amount_tolerance_minor > 0:
        width = settings.amount_tolerance_minor
        probes.append(_bucket_probe(bank, exploded, pl.col("amount_minor") // width, keys))
    if settings.amount_tolerance_percent > 0:
        # the tolerance is a share of the ledger amount, so the ratio of a pair reaches 1 / (1 - p):
        # buckets that wide keep every pair within one bucket of each other
        step = -math.log1p(-settings.amount_tolerance_percent / 100)
        magnitude = (pl.col("amount_minor").abs().cast(pl.Float64).log() / step).floor().cast(pl.Int64)
        signed = pl.when(pl.col("amount_minor") != 0).then(magnitude * pl.col("amount_minor").sign())
        probes.append(_bucket_probe(bank, exploded, signed, keys))
    if not probes:
        return empty_pairs()
    candidates = pl.concat(probes).unique()
    window = pl.col("date_diff_days").is_between(-settings.bank_days_before_books, settings.bank_days_after_books)
    pairs = _with_diffs(candidates, bank, ledger).filter(
        _same_sign_within_tolerance(settings) & (pl.col("amount_diff_minor") != 0) & window
    )
    return _finish(pairs, TOLERANCE)


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


def without_rejected(pairs: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """Drop the pairs a person rejected (`rejected` has b_idx, l_idx)."""
    if rejected.is_empty():
        return pairs
    return pairs.join(rejected.select("b_idx", "l_idx").cast(pl.UInt32), on=["b_idx", "l_idx"], how="anti")


def candidate_pairs(
    bank: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    bank_tokens: pl.DataFrame,
    ledger_tokens: pl.DataFrame,
    settings: MatchingSettings,
    rejected: pl.DataFrame,
) -> pl.DataFrame:
    """All three tiers, one row per pair (the surest tier kept), rejected pairs removed.

    Rows a reference pairs at the exact amount inside the window skip the amount tier
    (reference keys first); the tolerance band runs only on the rows the first two
    tiers left without a candidate.
    """
    by_reference = reference_pairs(
        bank, ledger, bank_tokens=bank_tokens, ledger_tokens=ledger_tokens, settings=settings
    )
    # recurring amounts would otherwise pair an anchored row with every look-alike of the month
    anchored = without_rejected(by_reference, rejected).filter(
        (pl.col("amount_diff_minor") == 0)
        & pl.col("date_diff_days").is_between(-settings.bank_days_before_books, settings.bank_days_after_books)
    )
    by_amount = exact_amount_in_window(
        bank.join(anchored.select("b_idx"), on="b_idx", how="anti"),
        ledger.join(anchored.select("l_idx"), on="l_idx", how="anti"),
        settings=settings,
    )
    # no pair is in both tiers: a reference pair at the exact amount inside the window anchors its rows,
    # which the amount tier then skips (the exception, a rejected anchor, is removed here)
    sure = without_rejected(pl.concat([by_reference, by_amount]), rejected)
    bank_left = bank.join(sure.select("b_idx"), on="b_idx", how="anti")
    ledger_left = ledger.join(sure.select("l_idx"), on="l_idx", how="anti")
    band = without_rejected(tolerance_band(bank_left, ledger_left, settings=settings), rejected)
    # one integer key sorts millions of pairs several times faster than two columns
    return pl.concat([sure, band]).sort(pl.col("b_idx").cast(pl.UInt64) * (1 << 32) + pl.col("l_idx"))
