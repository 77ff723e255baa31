from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recon.money import AmountError, format_minor, minor_to_decimal_expr, parse_amount, parse_amount_expr


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
