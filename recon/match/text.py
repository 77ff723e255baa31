"""Normalized text for comparing descriptions: `normalized_text`.

Normalizing runs in two halves, `masked_numbers` then `collapsed_words`, so that a
caller normalizing many texts can run the second, dearer half once per distinct
masked text: card numbers, dates and long ids are what make most bank texts differ,
and once they are gone the texts repeat.
"""

from __future__ import annotations

import polars as pl

_BOILERPLATE = (
    r"\b(ach|pos|debit|credit|card|purchase|payment|pmt|deposit|dep|online|transfer|xfer|"
    r"orig co name|co entry descr|orig id|co id|sec|web|ppd|ccd|id|ref|checkcard|visa|mastercard|recurring|"
    r"des|indn|trace|ind id|ind name|received|paid|from|to|the|inc|llc|ltd|corp|co)\b"
)
_DATES = r"\b\d{1,2}[/-]\d{1,2}([/-]\d{2,4})?\b|\b\d{4}-\d{2}-\d{2}\b"
_CARD_NUMBERS = r"x{2,}\d+|\*+\d+|#\d+|\b\d{6,}\b"


def masked_numbers(lowercase: pl.Expr) -> pl.Expr:
    """First half of `normalized_text`, on lowercased text: dates, card numbers and long ids blanked out."""
    return lowercase.fill_null("").str.replace_all(_DATES, " ").str.replace_all(_CARD_NUMBERS, " ")


def collapsed_words(masked: pl.Expr) -> pl.Expr:
    """Second half of `normalized_text`, on the output of `masked_numbers`: punctuation and
    bank boilerplate gone, one space between words."""
    return (
        masked.str.replace_all(r"[^a-z0-9]+", " ")
        .str.replace_all(_BOILERPLATE, " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def normalized_text(expr: pl.Expr) -> pl.Expr:
    """Text without bank boilerplate, card numbers, long ids, dates and punctuation, for comparing."""
    return collapsed_words(masked_numbers(expr.fill_null("").str.to_lowercase()))
