"""Row features the later stages read: row indexes, normalized text, reference tokens, twin classes.

Reference tokens are the identifiers a payment carries on both sides: invoice and
bill numbers (`INV-10023` -> `inv10023`), check numbers (`chk1045`, from the bank's
check number field, "CHECK 1045", or a short all-digit ledger reference), long
numbers of 8+ digits (`n123456789`: end-to-end and trace ids) and whole reference
fields (`r...`: an end-to-end id as the source wrote it). A token with a letter
prefix (`inv`, `chk`, `po`...) also tells when two rows disagree: both name an
invoice, and not the same one.

This module never compares rows; it only describes each row on its own.

Written for a million rows on few cores. The per-row text work (lowercasing, token
patterns, masking numbers) and the sort by id run side by side in one select over the
rows as they come; the results are put in id order last. Work on text that repeats runs
once per distinct text: normalizing (bank texts repeat once their numbers are masked,
ledger descriptions and counterparties as they are) and the tokens of ledger
descriptions. Tokens are collected in long form, one row per (row, token), where sorting
them and dropping repeats are single passes over all tokens rather than one small list
operation per row.
"""

from __future__ import annotations

import polars as pl

from recon.match.engine import ENGINE
from recon.match.text import collapsed_words, masked_numbers, normalized_text

TOKEN_PATTERN = r"\b[a-z]{2,5}[-#]?\d{3,}\b|\b\d{8,}\b"
CHECK_IN_TEXT = r"\b(?:check|chk|cheque)\s*(?:no\.?|#)?\s*0*(\d{1,9})\b"
TOKENS_PER_ROW = 6
"""More tokens than this on one row are noise (a pasted list), not a reference."""
MIN_TOKEN_LENGTH = 4
"""Shorter tokens say nothing: `chk` is check number 0, `n12` an id that is mostly zeros."""


def _tokens_in_text(lowercase: pl.Expr) -> pl.Expr:
    """Prefixed and long-number tokens as lowercased free text shows them: a list per row."""
    return lowercase.fill_null("").str.extract_all(TOKEN_PATTERN)


def _joined(*fields: pl.Expr) -> pl.Expr:
    return pl.concat_str(list(fields), separator=" ", ignore_nulls=True)


def _lowercase(*columns: str) -> list[pl.Expr]:
    """The columns lowercased, one by one: joined with spaces they give the same text as the
    joined columns lowercased (no letter's case depends on a letter across a space).

    A column of nulls only may come typed as Null rather than String."""
    return [pl.col(column).cast(pl.String).str.to_lowercase() for column in columns]


def _normalized_text_token(token: pl.Expr) -> pl.Expr:
    """`inv-10023` -> `inv10023`, `000123456789` -> `n123456789`."""
    return (
        pl.when(token.str.contains(r"^\d"))
        .then(pl.lit("n") + token.str.strip_chars_start("0"))
        .otherwise(token.str.replace_all(r"[-#]", ""))
    )


def _check_token(digits: pl.Expr) -> pl.Expr:
    return pl.lit("chk") + digits.str.strip_chars_start("0")


def _whole_reference(reference: pl.Expr) -> pl.Expr:
    """The lowercased reference field itself as a token when it looks like an id (6+ characters with a digit)."""
    compact = reference.str.replace_all(r"[^a-z0-9]", "")  # null stays null: no token
    return pl.when((compact.str.len_chars() >= 6) & compact.str.contains(r"\d")).then(pl.lit("r") + compact)


def _token_candidates(sources: pl.LazyFrame, key: str, field_tokens: list[str]) -> pl.LazyFrame:
    """(key, token), one row per token a row yields: from its `text_tokens` list and from each
    of its `field_tokens` columns (null: no token)."""
    token = pl.col("token")
    in_text = (
        sources.select(key, pl.col("text_tokens").alias("token"))
        .explode("token", keep_nulls=False)
        .select(key, _normalized_text_token(token).alias("token"))
        .filter(~token.str.contains(r"^x+\d"))  # card masks such as xxxx1234
    )
    in_fields = [sources.select(key, pl.col(field).alias("token")).drop_nulls("token") for field in field_tokens]
    return pl.concat([in_text, *in_fields])


def _description_candidates(rows: pl.LazyFrame, idx: str) -> pl.LazyFrame:
    """(idx, token) for the tokens in the description of `rows` (idx, description), found once
    per distinct description (ledger descriptions repeat) and joined to the rows that have them.

    The token patterns never span a space, so the tokens of "description reference" are those
    of the description and those of the reference."""
    (description,) = _lowercase("description")
    distinct = rows.select(pl.col("description").unique()).select(
        "description",
        text_tokens=_tokens_in_text(description),
        check_in_text=_check_token(description.str.extract(CHECK_IN_TEXT, 1)),
    )
    per_description = _token_candidates(distinct, "description", ["check_in_text"])
    return rows.join(per_description, on="description").select(idx, "token")


def _token_lists(candidates: pl.LazyFrame, idx: str, height: int) -> pl.LazyFrame:
    """`tokens` of each row: distinct, sorted, at most `TOKENS_PER_ROW` of them; an empty list for none.

    `candidates` are (idx, token) rows; idx runs over 0..height-1."""
    ranked = candidates.filter(pl.col("token").str.len_chars() >= MIN_TOKEN_LENGTH).sort(idx, "token")
    repeat = (pl.col(idx) == pl.col(idx).shift(1)) & (pl.col("token") == pl.col("token").shift(1))
    ranked = ranked.filter(~repeat.fill_null(False))  # sorted: a repeat follows its first
    lists = ranked.group_by(idx, maintain_order=True).agg(pl.col("token").head(TOKENS_PER_ROW).alias("tokens"))
    every_row = pl.LazyFrame({idx: pl.int_range(height, dtype=pl.UInt32, eager=True)})
    return every_row.join(lists, on=idx, how="left", maintain_order="left").select(
        pl.col("tokens").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )


def _collapsed_per_distinct(masked: pl.LazyFrame) -> pl.LazyFrame:
    """`normalized`: `collapsed_words` of each row's `masked` text, computed once per distinct masked text."""
    normalized = collapsed_words(pl.col("masked")).alias("normalized")
    distinct = masked.unique().with_columns(normalized)
    return masked.join(distinct, on="masked", how="left", maintain_order="left").select("normalized")


def _normalized_per_distinct(frame: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """`normalized`: `normalized_text` of a column whose values repeat (ledger descriptions,
    counterparties), computed once per distinct value."""
    values = frame.select(column)
    distinct = values.unique().with_columns(normalized_text(pl.col(column)).alias("normalized"))
    return values.join(distinct, on=column, how="left", maintain_order="left", nulls_equal=True).select("normalized")


def _twin_class(*text_columns: str) -> pl.Expr:
    """Rows with the same class are indistinguishable: same account, amount, date, text and references."""
    key = pl.struct("account_id", "currency", "amount_minor", "posted_date", *text_columns, "tokens")
    # a 64-bit hash: equal rows get the same class; a collision between different rows is ~1 in 10^19
    return key.hash(seed=0).alias("twin_class")


def _sources(frame: pl.DataFrame, idx: str, id_column: str, **columns: pl.Expr) -> pl.DataFrame:
    """`columns` computed on the unsorted rows, with `_order`, the permutation that sorts the rows
    by `id_column`, and `idx`, each row's index once sorted.

    One lazy select, so Polars computes the columns side by side, and lowercases a column once
    for all the columns that read it."""
    # single-threaded: the other columns keep the other cores busy, and it is the cheaper sort
    sorting = pl.arg_sort_by(id_column, multithreaded=False)
    return frame.lazy().select(sorting.alias("_order"), sorting.arg_sort().alias(idx), **columns).collect(engine=ENGINE)


def _with_columns(frame: pl.DataFrame, *columns: pl.Series, twin_class: pl.Expr) -> pl.DataFrame:
    """`frame` with the `columns`, then the `twin_class` computed from them, in one query."""
    return frame.lazy().with_columns(*columns).with_columns(twin_class).collect(engine=ENGINE)


def _in_order(frame: pl.LazyFrame, order: pl.Series) -> pl.LazyFrame:
    """The rows of `frame` in `order` (a permutation).

    Work on text runs on the unsorted rows and is put in order last: hashing strings
    gathered out of order misses the cache far more."""
    return frame.select(pl.all().gather(order))


def bank_features(bank: pl.DataFrame) -> pl.DataFrame:
    """Bank rows sorted by txn_id with `b_idx`, `norm_description`, `tokens` and `twin_class`."""
    description, payee, reference = _lowercase("description", "payee", "reference")
    check_number = pl.col("check_number").str.strip_chars().str.extract(r"^0*(\d{1,9})$", 1)
    fields = {
        "check_number": _check_token(check_number),
        "check_in_text": _check_token(description.str.extract(CHECK_IN_TEXT, 1)),
        "whole_reference": _whole_reference(reference),
    }
    bank = bank.rechunk()  # gathering rows from many chunks is several times slower
    sources = _sources(
        bank,
        "b_idx",
        "txn_id",
        text_tokens=_tokens_in_text(_joined(description, payee, reference)),
        masked=masked_numbers(_joined(description, payee)),
        **fields,
    )
    order = sources.get_column("_order")
    frame, tokens, normalized = pl.collect_all(
        [
            _in_order(bank.lazy(), order).with_row_index("b_idx"),
            _token_lists(_token_candidates(sources.lazy(), "b_idx", list(fields)), "b_idx", bank.height),
            _in_order(_collapsed_per_distinct(sources.lazy().select("masked")), order),
        ],
        engine=ENGINE,
    )
    return _with_columns(
        frame,
        normalized.get_column("normalized").alias("norm_description"),
        tokens.get_column("tokens"),
        twin_class=_twin_class("norm_description"),
    )


def ledger_features(ledger: pl.DataFrame) -> pl.DataFrame:
    """Ledger rows sorted by entry_id with `l_idx`, normalized texts, `tokens` and `twin_class`."""
    (reference,) = _lowercase("reference")
    reference_digits = pl.col("reference").str.strip_chars().str.extract(r"^(?:#|no\.?\s*)?0*(\d{1,7})$", 1)
    fields = {"reference_digits": _check_token(reference_digits), "whole_reference": _whole_reference(reference)}
    ledger = ledger.rechunk()  # gathering rows from many chunks is several times slower
    sources = _sources(
        ledger, "l_idx", "entry_id", description=pl.col("description"), text_tokens=_tokens_in_text(reference), **fields
    )
    order = sources.get_column("_order")
    candidates = pl.concat(
        [
            _token_candidates(sources.lazy(), "l_idx", list(fields)),
            _description_candidates(sources.lazy().select("l_idx", "description"), "l_idx"),
        ]
    )
    frame, tokens, norm_description, norm_counterparty = pl.collect_all(
        [
            _in_order(ledger.lazy(), order).with_row_index("l_idx"),
            _token_lists(candidates, "l_idx", ledger.height),
            _in_order(_normalized_per_distinct(ledger.lazy(), "description"), order),
            _in_order(_normalized_per_distinct(ledger.lazy(), "counterparty"), order),
        ],
        engine=ENGINE,
    )
    return _with_columns(
        frame,
        norm_description.get_column("normalized").alias("norm_description"),
        norm_counterparty.get_column("normalized").alias("norm_counterparty"),
        tokens.get_column("tokens"),
        twin_class=_twin_class("norm_description", "norm_counterparty"),
    )


def exploded_tokens(frame: pl.DataFrame, idx: str) -> pl.LazyFrame:
    """One row per (row, token): idx, account_id, currency, token and its letter `prefix`."""
    return (
        frame.lazy()
        .select(idx, "account_id", "currency", pl.col("tokens").alias("token"))
        .explode("token", keep_nulls=False)
        .with_columns(pl.col("token").str.extract(r"^([a-z]+)\d", 1).alias("prefix"))
    )
