"""Row features the later stages read: row indexes, normalized text, reference tokens, twin classes.

Reference tokens are the identifiers a payment carries on both sides: invoice and
bill numbers (`INV-10023` -> `inv10023`), check numbers (`chk1045`, from the bank's
check number field, "CHECK 1045", or a short all-digit ledger reference), long
numbers of 8+ digits (`n123456789`: end-to-end and trace ids) and whole reference
fields (`r...`: an end-to-end id as the source wrote it). A token with a letter
prefix (`inv`, `chk`, `po`...) also tells when two rows disagree: both name an
invoice, and not the same one.

This module never compares rows; it only describes each row on its own.
"""

from __future__ import annotations

import polars as pl

from recon.match.comparisons import normalized_text

TOKEN_PATTERN = r"\b[a-z]{2,5}[-#]?\d{3,}\b|\b\d{8,}\b"
CHECK_IN_TEXT = r"\b(?:check|chk|cheque)\s*(?:no\.?|#)?\s*0*(\d{1,9})\b"
TOKENS_PER_ROW = 6
"""More tokens than this on one row are noise (a pasted list), not a reference."""


def _text_tokens(text: pl.Expr) -> pl.Expr:
    """Prefixed and long-number tokens found in free text, normalized."""
    found = text.fill_null("").str.to_lowercase().str.extract_all(TOKEN_PATTERN)
    return found.list.eval(
        pl.when(pl.element().str.contains(r"^\d"))
        .then(pl.lit("n") + pl.element().str.strip_chars_start("0"))
        .otherwise(pl.element().str.replace_all(r"[-#]", ""))
    ).list.filter(~pl.element().str.contains(r"^x+\d"))  # card masks such as xxxx1234


def _check_token(digits: pl.Expr) -> pl.Expr:
    return pl.lit("chk") + digits.str.strip_chars_start("0")


def _whole_reference(reference: pl.Expr) -> pl.Expr:
    """The reference field itself as a token when it looks like an id (6+ characters with a digit)."""
    compact = reference.fill_null("").str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")
    return pl.when((compact.str.len_chars() >= 6) & compact.str.contains(r"\d")).then(pl.lit("r") + compact)


def _token_list(found_in_text: pl.Expr, from_fields: pl.Expr) -> pl.Expr:
    # one list.eval rather than a chain of list operations: each of those walks a million lists
    return pl.concat_list(found_in_text, from_fields).list.eval(
        pl.element().filter(pl.element().str.len_chars() > 3).unique().sort().head(TOKENS_PER_ROW)
    )


def _normalized_per_distinct(frame: pl.DataFrame, column: str) -> pl.Series:
    """`normalized_text` of a column whose values repeat (ledger descriptions, counterparties),
    computed once per distinct value."""
    distinct = frame.select(pl.col(column).unique()).with_columns(normalized_text(pl.col(column)).alias("_normalized"))
    return (
        frame.select(column)
        .join(distinct, on=column, how="left", maintain_order="left", nulls_equal=True)
        .get_column("_normalized")
    )


def _twin_class(*text_columns: str) -> pl.Expr:
    """Rows with the same class are indistinguishable: same account, amount, date, text and references."""
    key = pl.struct(
        "account_id", "currency", "amount_minor", "posted_date", *text_columns, pl.col("tokens").list.join(" ")
    )
    # a 64-bit hash: equal rows get the same class; a collision between different rows is ~1 in 10^19
    return key.hash(seed=0).alias("twin_class")


def bank_features(bank: pl.DataFrame) -> pl.DataFrame:
    """Bank rows sorted by txn_id with `b_idx`, `norm_description`, `tokens` and `twin_class`."""
    text = pl.concat_str(
        [pl.col("description"), pl.col("payee"), pl.col("reference")], separator=" ", ignore_nulls=True
    )
    check_number = pl.col("check_number").str.strip_chars().str.extract(r"^0*(\d{1,9})$", 1)
    tokens = _token_list(
        _text_tokens(text),
        pl.concat_list(
            _check_token(check_number),
            _check_token(pl.col("description").str.to_lowercase().str.extract(CHECK_IN_TEXT, 1)),
            _whole_reference(pl.col("reference")),
        ),
    )
    frame = (
        bank.sort("txn_id")
        .with_row_index("b_idx")
        .with_columns(
            normalized_text(
                pl.concat_str([pl.col("description"), pl.col("payee")], separator=" ", ignore_nulls=True)
            ).alias("norm_description"),
            tokens.alias("tokens"),
        )
        .with_columns(pl.col("norm_description").str.replace_all(" ", "").alias("compact_text"))
    )
    return frame.with_columns(_twin_class("norm_description"))


def ledger_features(ledger: pl.DataFrame) -> pl.DataFrame:
    """Ledger rows sorted by entry_id with `l_idx`, normalized texts, `tokens` and `twin_class`."""
    reference_digits = pl.col("reference").str.strip_chars().str.extract(r"^(?:#|no\.?\s*)?0*(\d{1,7})$", 1)
    text = pl.concat_str([pl.col("description"), pl.col("reference")], separator=" ", ignore_nulls=True)
    tokens = _token_list(
        _text_tokens(text),
        pl.concat_list(
            _check_token(reference_digits),
            _check_token(pl.col("description").str.to_lowercase().str.extract(CHECK_IN_TEXT, 1)),
            _whole_reference(pl.col("reference")),
        ),
    )
    frame = ledger.sort("entry_id").with_row_index("l_idx")
    frame = frame.with_columns(
        _normalized_per_distinct(frame, "description").alias("norm_description"),
        _normalized_per_distinct(frame, "counterparty").alias("norm_counterparty"),
        tokens.alias("tokens"),
    ).with_columns(pl.col("norm_counterparty").str.replace_all(" ", "").alias("compact_counterparty"))
    return frame.with_columns(_twin_class("norm_description", "norm_counterparty"))


def exploded_tokens(frame: pl.DataFrame, idx: str) -> pl.DataFrame:
    """One row per (row, token): idx, account_id, currency, token and its letter `prefix`."""
    return (
        frame.select(idx, "account_id", "currency", "tokens")
        .explode("tokens")
        .drop_nulls("tokens")
        .rename({"tokens": "token"})
        .with_columns(pl.col("token").str.extract(r"^([a-z]+)\d", 1).alias("prefix"))
    )
