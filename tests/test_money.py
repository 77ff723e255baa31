from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recon.money import (
    MAX_AMOUNT_MINOR,
    AmountError,
    exact_amount_expr,
    format_minor,
    minor_to_decimal_expr,
    parse_amount,
    parse_amount_expr,
    plain_amount_expr,
)


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("12.34", "USD", 1234),
        ("-12.3", "USD", -1230),
        ("+7", "USD", 700),
        ("-0.00", "USD", 0),
        ("1500", "JPY", 1500),
        ("1.234", "BHD", 1234),
        ("(45.00)", "USD", -4500),
        ("45.00-", "USD", -4500),
        (" 3.10 ", "EUR", 310),
    ],
)
def test_parse_amount_exact(text: str, currency: str, expected: int) -> None:
    assert parse_amount(text, currency) == expected


@pytest.mark.parametrize("text", ["$120", "12,3x", "1e5", "NaN", "", "1.2.3", "--1", "inf"])
def test_parse_amount_refuses_what_is_not_a_plain_number(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, "USD")


def test_parse_amount_refuses_rounding() -> None:
    with pytest.raises(AmountError, match="more than 2 decimals"):
        parse_amount("0.125", "USD")
    with pytest.raises(AmountError, match="more than 0 decimals"):
        parse_amount("10.5", "JPY")


def test_decimal_comma_and_thousands() -> None:
    assert parse_amount("-1.001,00", "EUR", decimal_mark=",", thousands_sep=".") == -100100
    assert parse_amount("1,120.00", "USD", thousands_sep=",") == 112000


@given(st.integers(min_value=-(10**13), max_value=10**13), st.sampled_from(["USD", "JPY", "BHD", "EUR"]))
def test_format_then_parse_is_identity(minor: int, currency: str) -> None:
    assert parse_amount(format_minor(minor, currency), currency) == minor


@given(st.lists(st.text(alphabet="0123456789.-+ ,ab", max_size=12), max_size=30))
def test_vectorized_parser_agrees_with_scalar(texts: list[str]) -> None:
    frame = pl.DataFrame({"t": texts, "c": ["USD"] * len(texts)}, schema={"t": pl.String, "c": pl.String})
    vector = frame.select(parse_amount_expr(pl.col("t"), pl.col("c"))).to_series().to_list()
    for text, got in zip(texts, vector, strict=True):
        try:
            expected: int | None = parse_amount(text, "USD")
        except AmountError:
            expected = None
        # the scalar parser also accepts accounting forms "(1.00)" and "1.00-"; the vector one is strict
        if got is not None or ("(" not in text and not text.strip().endswith("-")):
            assert got == expected, text


def test_minor_to_decimal_expr_matches_format_minor() -> None:
    values = [0, 1, -1, 123456, -99, 10**12]
    for currency in ("USD", "JPY", "BHD"):
        frame = pl.DataFrame({"a": values, "c": [currency] * len(values)})
        texts = frame.select(minor_to_decimal_expr(pl.col("a"), pl.col("c"))).to_series().to_list()
        assert texts == [format_minor(v, currency) for v in values]
        assert [Decimal(t) for t in texts] == [
            Decimal(v).scaleb(-{"USD": 2, "JPY": 0, "BHD": 3}[currency]) for v in values
        ]


# --- the fast path of parse_amount_expr against the exact Decimal parser ---------------------------

CURRENCIES = ["USD", "JPY", "BHD", "CLF"]
# (decimal_mark, thousands_sep) pairs the profiles use
NOTATIONS = [(".", None), (".", ","), (",", "."), (",", " "), (",", None)]


def scalar_or_none(text: str, currency: str, decimal_mark: str, thousands_sep: str | None) -> int | None:
    try:
        return parse_amount(text, currency, decimal_mark=decimal_mark, thousands_sep=thousands_sep)
    except AmountError:
        return None


def amount_texts() -> st.SearchStrategy[str]:
    """Plain amounts as banks write them, and near misses: junk characters, long digit runs, exponents."""
    digits = st.text(alphabet="0123456789", min_size=0, max_size=17)
    plain = st.builds(
        lambda sign, whole, mark, frac, pad: f"{sign}{whole}{mark}{frac}{pad}",
        st.sampled_from(["", "-", "+", " -", "--"]),
        digits,
        st.sampled_from(["", ".", ","]),
        digits,
        st.sampled_from(["", " ", "0000", "e5", "x"]),
    )
    noisy = st.text(alphabet="0123456789.,-+ eE()$\u00a0\u0660", max_size=16)
    return st.one_of(plain, noisy)


@settings(deadline=None)  # Polars under a loaded machine
@given(
    st.lists(amount_texts(), max_size=40),
    st.sampled_from(CURRENCIES),
    st.sampled_from(NOTATIONS),
    st.booleans(),
)
def test_fast_path_is_exact_or_silent(
    texts: list[str], currency: str, notation: tuple[str, str | None], per_row: bool
) -> None:
    decimal_mark, thousands_sep = notation
    frame = pl.DataFrame({"t": texts, "c": [currency] * len(texts)}, schema={"t": pl.String, "c": pl.String})
    code: pl.Expr | str = pl.col("c") if per_row else currency
    got = frame.select(
        fast=plain_amount_expr(pl.col("t"), code, decimal_mark=decimal_mark, thousands_sep=thousands_sep),
        both=parse_amount_expr(pl.col("t"), pl.col("c"), decimal_mark=decimal_mark, thousands_sep=thousands_sep),
        exact=exact_amount_expr(pl.col("t"), pl.col("c"), decimal_mark=decimal_mark, thousands_sep=thousands_sep),
    )
    for text, fast, both, exact in zip(texts, *got.get_columns(), strict=True):
        expected = scalar_or_none(text, currency, decimal_mark, thousands_sep)
        if fast is not None:  # what the fast path settles is exactly what Decimal says
            assert fast == expected, (text, currency, notation)
        assert both == exact, (text, currency, notation)  # the fast path never changes an answer


@settings(deadline=None)
@given(st.lists(st.integers(min_value=-(10**13), max_value=10**13), max_size=40), st.sampled_from(CURRENCIES))
def test_fast_path_settles_what_banks_write(minors: list[int], currency: str) -> None:
    texts = [format_minor(m, currency) for m in minors]
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    assert frame.select(plain_amount_expr(pl.col("t"), currency)).to_series().to_list() == minors


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("1.005", "USD", None),  # a Decimal cast would round this to 1.00 or 1.01: the fast path leaves it
        ("1.0050", "BHD", 1005),
        ("12.5", "JPY", None),
        ("12.000", "JPY", 12),
        ("-0.00", "USD", 0),
        ("1e5", "USD", None),
        ("99999999999999.99", "USD", 9999999999999999),
        ("123456789012345.00", "USD", None),  # 15 digits: left to the exact path
        ("(1.00)", "USD", None),
    ],
)
def test_fast_path_edges(text: str, currency: str, expected: int | None) -> None:
    got = pl.DataFrame({"t": [text]}).select(plain_amount_expr(pl.col("t"), currency)).item()
    assert got == expected
    assert got is None or got == parse_amount(text, currency)


def test_one_amount_limit_on_every_path() -> None:
    assert parse_amount("9999999999999999.99", "USD") == MAX_AMOUNT_MINOR
    with pytest.raises(AmountError, match=r"amount out of range: '-10000000000000000\.00'"):
        parse_amount("-10000000000000000.00", "USD")
    # CLF has 4 decimals: 15 integer digits pass the exact path's pattern but not Int64 once scaled
    frame = pl.DataFrame({"text": ["99999999999999.9999", "999999999999999.5"], "currency": ["CLF", "CLF"]})
    parsed = frame.select(parse_amount_expr(pl.col("text"), pl.col("currency"))).to_series().to_list()
    assert parsed == [MAX_AMOUNT_MINOR, None]


@pytest.mark.parametrize("text", [".-5", "-.5", ".5", "1..234,00", "+.1"])
def test_a_thousands_separator_that_does_not_follow_a_digit_is_not_a_number(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, "EUR", decimal_mark=",", thousands_sep=".")
    frame = pl.DataFrame({"t": [text], "c": ["EUR"]})
    both = frame.select(parse_amount_expr(pl.col("t"), pl.col("c"), decimal_mark=",", thousands_sep="."))
    assert both.item() is None
    assert parse_amount("1.234,50", "EUR", decimal_mark=",", thousands_sep=".") == 123450
