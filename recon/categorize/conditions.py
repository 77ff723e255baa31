"""Compile a rule's conditions into one Polars boolean expression over the prepared rows.

Every test is evaluated on all rows at once; a test on a missing value (no date,
no payee) is false, never null, so that `not` and `any` mean what they say.
Text tests ignore case and runs of spaces; `regex` uses the Rust regex syntax that
Polars runs (no look-around, no back-references: the rule file check says so).
Fuzzy similarity (`similar_to`) is rapidfuzz's token_set_ratio (0-100: word order
and extra words do not lower it) computed once per distinct text, not per row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process, utils

from recon.categorize.rows import lower_col, text_col
from recon.categorize.schema import TEXT_FIELDS, AmountTest, Condition, DateTest, TextTest
from recon.categorize.values import LAST_DAY

__all__ = ["DEFAULT_MIN_SIMILARITY", "compile_condition", "normalize_text"]

DEFAULT_MIN_SIMILARITY = 85


def normalize_text(text: str) -> str:
    """A rule's text as the row's text is compared: lower case, single spaces, trimmed."""
    return " ".join(text.split()).lower()


def compile_condition(condition: Condition) -> pl.Expr:
    tests: list[pl.Expr] = []
    for field in TEXT_FIELDS:
        text_test = getattr(condition, field)
        if text_test is not None:
            tests.append(_text(field, text_test))
    if condition.amount is not None:
        tests.append(_amount(condition.amount))
    if condition.account is not None:
        tests.append(_false_if_null(pl.col("account_id").is_in(condition.account)))
    if condition.currency is not None:
        tests.append(_false_if_null(pl.col("currency").str.to_uppercase().is_in(condition.currency)))
    if condition.source is not None:
        tests.append(_false_if_null(pl.col("source").is_in(condition.source)))
    if condition.date is not None:
        tests.append(_date(condition.date))
    if condition.all is not None:
        tests.append(pl.all_horizontal([compile_condition(c) for c in condition.all]))
    if condition.any is not None:
        tests.append(pl.any_horizontal([compile_condition(c) for c in condition.any]))
    if condition.not_ is not None:
        tests.append(~compile_condition(condition.not_))
    return pl.all_horizontal(tests)


def _false_if_null(expr: pl.Expr) -> pl.Expr:
    return expr.fill_null(False)


def _any_of(exprs: list[pl.Expr]) -> pl.Expr:
    return exprs[0] if len(exprs) == 1 else pl.any_horizontal(exprs)


def _text(field: str, test: TextTest) -> pl.Expr:
    lower = pl.col(lower_col(field))
    tests: list[pl.Expr] = []
    if test.contains:
        tests.append(_any_of([lower.str.contains(normalize_text(t), literal=True) for t in test.contains]))
    if test.starts_with:
        tests.append(_any_of([lower.str.starts_with(normalize_text(t)) for t in test.starts_with]))
    if test.ends_with:
        tests.append(_any_of([lower.str.ends_with(normalize_text(t)) for t in test.ends_with]))
    if test.equals:
        tests.append(lower.is_in([normalize_text(t) for t in test.equals]))
    if test.regex is not None:
        tests.append(pl.col(text_col(field)).str.contains(f"(?i){test.regex}"))
    if test.similar_to:
        threshold = test.min_similarity or DEFAULT_MIN_SIMILARITY
        scorers = [
            pl.col(text_col(field)).map_batches(
                _similar(target, threshold), return_dtype=pl.Boolean, is_elementwise=True
            )
            for target in test.similar_to
        ]
        tests.append(_any_of(scorers))
    if test.is_empty is not None:
        empty = pl.col(text_col(field)) == ""
        tests.append(empty if test.is_empty else ~empty)
    return _false_if_null(pl.all_horizontal(tests))


def _similar(target: str, threshold: int) -> Callable[[pl.Series], pl.Series]:
    def score(texts: pl.Series) -> pl.Series:
        distinct = texts.unique()
        if distinct.is_empty():
            return pl.Series(texts.name, [], dtype=pl.Boolean)
        scores = process.cdist(
            [target], distinct.to_list(), scorer=fuzz.token_set_ratio, processor=utils.default_process,
            score_cutoff=threshold, workers=-1, dtype=np.uint8,
        )  # fmt: skip
        similar = distinct.filter(pl.Series(scores[0] >= threshold))
        return texts.is_in(similar.implode())

    return score


def _amount(test: AmountTest) -> pl.Expr:
    amount = pl.col("_amount_e4")
    tests: list[pl.Expr] = []
    if test.equals is not None:
        tests.append(amount.is_in(test.equals))
    if test.between is not None:
        low, high = sorted(test.between)
        tests.append(amount.is_between(low, high, closed="both"))
    if test.at_least is not None:
        tests.append(amount >= test.at_least)
    if test.at_most is not None:
        tests.append(amount <= test.at_most)
    if test.sign == "negative":
        tests.append(amount < 0)
    elif test.sign == "positive":
        tests.append(amount > 0)
    elif test.sign == "zero":
        tests.append(amount == 0)
    return _false_if_null(pl.all_horizontal(tests))


def _date(test: DateTest) -> pl.Expr:
    day = pl.col("posted_date")
    tests: list[pl.Expr] = []
    if test.day_of_month is not None:
        days = [d for d in test.day_of_month if d != LAST_DAY]
        options = [day.dt.day().is_in(days)] if days else []
        if LAST_DAY in test.day_of_month:
            options.append(day.dt.month_end() == day)
        tests.append(_any_of(options))
    if test.weekday is not None:
        tests.append(day.dt.weekday().is_in(test.weekday))
    if test.from_ is not None:
        tests.append(day >= test.from_)
    if test.to is not None:
        tests.append(day <= test.to)
    return _false_if_null(pl.all_horizontal(tests))
