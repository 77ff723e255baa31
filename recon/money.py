"""Money as signed integer minor units: exact parsing and formatting, never floats.

Every amount recon stores is an `int` count of the currency's minor unit (cents
for USD, yen for JPY, fils for BHD). Text is parsed with `Decimal` and refused
when it is not a plain decimal number or carries more decimals than the currency
has (rounding would silently change money).

Whole columns are parsed by `parse_amount_expr` in two steps that give the same
answer as `parse_amount`: a fast path (`plain_amount_expr`: one anchored pattern,
then a Decimal cast the pattern makes exact) settles the usual amounts, and the
exact regex path (`exact_amount_expr`) reads only the rows it left.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import polars as pl

__all__ = [
    "MAX_AMOUNT_MINOR",
    "AmountError",
    "currency_exponent",
    "exact_amount_expr",
    "format_minor",
    "minor_to_decimal_expr",
    "parse_amount",
    "parse_amount_expr",
    "plain_amount_expr",
    "plain_minor_expr",
    "to_minor",
    "unsettled",
    "without_thousands",
]

# ISO 4217 currencies whose minor unit is not 1/100; everything else has 2 decimals.
_EXPONENTS: dict[str, int] = {
    # no minor unit
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # thousandths
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # ten-thousandths
    "CLF": 4, "UYW": 4,
}  # fmt: skip
_EXPONENT_CODES = pl.Series(list(_EXPONENTS), dtype=pl.String)
_EXPONENT_VALUES = pl.Series(list(_EXPONENTS.values()), dtype=pl.Int64)
"""`_EXPONENTS` as two series: `replace_strict` given a dict rebuilds them on every call."""


def _exponent_expr(currency: pl.Expr) -> pl.Expr:
    """Polars expression: the currency's minor-unit exponent (2 for a currency not listed)."""
    return currency.replace_strict(_EXPONENT_CODES, _EXPONENT_VALUES, default=2, return_dtype=pl.Int64)


MAX_AMOUNT_MINOR = 10**18 - 1
"""The largest amount recon takes, in minor units, whatever the format: amounts are stored as 64-bit
integers, and this leaves room to add up many of them."""


class AmountError(ValueError):
    """The text is not an exact amount in the currency."""


def currency_exponent(currency: str) -> int:
    """Number of decimals of the currency's minor unit (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(value: Decimal, currency: str, *, written: str | None = None) -> int:
    """Convert an exact decimal to minor units, refusing anything that would need rounding or is out of range.

    `written` is the text as the file has it ('1,575'), quoted in the error instead of the value read.
    """
    exponent = currency_exponent(currency)
    scaled = value.scaleb(exponent)
    quoted = written if written is not None else str(value)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"'{quoted}' has more than {exponent} decimals for {currency}")
    minor = int(scaled)
    if abs(minor) > MAX_AMOUNT_MINOR:
        raise AmountError(f"amount out of range: '{quoted}' is more than {format_minor(MAX_AMOUNT_MINOR, currency)}")
    return 0 if minor == 0 else minor  # -0 is 0


def parse_amount(
    text: str,
    currency: str,
    *,
    decimal_mark: str = ".",
    thousands_sep: str | None = None,
) -> int:
    """Parse decimal text such as '-1,234.50' into minor units of `currency`.

    Accepts an optional sign (leading '+'/'-', or a trailing '-', or parentheses for
    negatives, as accounting exports write them). Refuses currency symbols, letters,
    exponents, NaN and infinities: a bank amount is never written that way.
    """
    raw = text
    s = text.strip()
    if not s:
        raise AmountError("empty amount")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip()
    if s.endswith("-"):
        negative, s = not negative, s[:-1].strip()
    if s and s[0] in "+-":
        negative = negative != (s[0] == "-")
        s = s[1:].strip()
    if thousands_sep:
        if re.search(_misplaced(thousands_sep), s):
            raise AmountError(f"'{raw}' is not a number: '{thousands_sep}' separates thousands, after a digit")
        s = s.replace(thousands_sep, "")
    if decimal_mark != ".":
        if "." in s:
            raise AmountError(f"'{raw}' is not a number with decimal mark '{decimal_mark}'")
        s = s.replace(decimal_mark, ".")
    if not s or not all(c.isdigit() or c == "." for c in s) or s.count(".") > 1 or s == ".":
        raise AmountError(f"'{raw}' is not a number")
    try:
        value = Decimal(s)
    except InvalidOperation:  # pragma: no cover - the character check above is stricter
        raise AmountError(f"'{raw}' is not a number") from None
    minor = to_minor(value, currency, written=raw.strip())
    return -minor if negative else minor


def format_minor(amount_minor: int, currency: str) -> str:
    """Minor units back to exact decimal text: 123456, 'USD' -> '1234.56'."""
    exponent = currency_exponent(currency)
    if exponent == 0:
        return str(amount_minor)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}"


def minor_to_decimal_expr(amount: pl.Expr, currency: pl.Expr) -> pl.Expr:
    """Polars expression: minor units + currency -> exact decimal text, vectorized."""
    exponent = _exponent_expr(currency)
    sign = pl.when(amount < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    magnitude = amount.abs()
    scale = pl.lit(10, dtype=pl.Int64).pow(exponent)
    whole = (magnitude // scale).cast(pl.String)
    frac = (magnitude % scale).cast(pl.String).str.zfill(exponent)
    return pl.when(exponent == 0).then(sign + whole).otherwise(sign + whole + pl.lit(".") + frac)


_PLAIN_NUMBER = r"^[+-]?(\d{1,15}(\.\d*)?|\.\d+)$"

# The fast path settles only amounts of at most 14 integer digits and 4 significant decimals,
# so that the value times 10**4 always fits an Int64 (and a Decimal cast never has to round).
_FAST_SCALE = 4


def _fast_pattern(decimal_mark: str, decimals: int) -> str:
    """Sign, 1-14 digits, then at most `decimals` significant decimals and some trailing zeros."""
    mark = re.escape(decimal_mark)
    significant = rf"[0-9]{{0,{decimals}}}" if decimals else ""
    leading_mark = rf"{mark}[0-9]{{1,{decimals}}}0{{0,20}}" if decimals else rf"{mark}0{{1,20}}"
    return rf"^[+-]?([0-9]{{1,14}}({mark}{significant}0{{0,20}})?|{leading_mark})$"


def _misplaced(thousands_sep: str) -> str:
    """A thousands separator that does not follow a digit ("-.5", ".-5" with '.' for thousands): not a number."""
    return f"(^|[^0-9]){re.escape(thousands_sep)}"


def without_thousands(text: pl.Expr, thousands_sep: str) -> pl.Expr:
    """`text` without its thousands separators; "x" (not a number) where one is misplaced."""
    signless = text.str.replace(r"^[+-]\s*", "")
    return (
        pl.when(signless.str.contains(_misplaced(thousands_sep)))
        .then(pl.lit("x"))
        .otherwise(text.str.replace_all(thousands_sep, "", literal=True))
    )


def plain_amount_expr(
    text: pl.Expr,
    currency: pl.Expr | str,
    *,
    decimal_mark: str = ".",
    thousands_sep: str | None = None,
) -> pl.Expr:
    """The fast path of `parse_amount_expr`: minor units where the text is a plain number, else null.

    A plain number is what nearly every bank writes: an optional sign, up to 14 digits,
    the decimal mark and no more significant decimals than the currency has. Null means
    "not settled here", not "refused": the caller hands those rows to
    `exact_amount_expr`. A value it gives is always exact (tests compare it with
    `parse_amount` on random text). `currency` is one code for the whole column
    (faster) or an expression per row.
    """
    s = text.str.strip_chars()
    if thousands_sep:
        s = without_thousands(s, thousands_sep)
    return plain_minor_expr(s, currency, decimal_mark=decimal_mark)


def plain_minor_expr(plain_text: pl.Expr, currency: pl.Expr | str, *, decimal_mark: str = ".") -> pl.Expr:
    """`plain_amount_expr` on text already stripped and rid of thousands separators.

    It reads `plain_text` twice, so give it a column, not a costly expression (eager
    Polars computes a repeated expression twice). One anchored pattern admits the text,
    then a Decimal cast at a scale the pattern guarantees is enough, so it never rounds.
    """
    decimals = currency_exponent(currency) if isinstance(currency, str) else _FAST_SCALE
    plain = plain_text.str.contains(_fast_pattern(decimal_mark, decimals))
    number = plain_text if decimal_mark == "." else plain_text.str.replace(decimal_mark, ".", literal=True)
    # the Decimal's integer is the amount in 10**-decimals units; out of Int64 range it is null
    scaled = pl.when(plain).then(number).cast(pl.Decimal(38, decimals), strict=False).to_physical()
    scaled = scaled.cast(pl.Int64, strict=False)
    if isinstance(currency, str):
        return scaled
    # per-row currencies: settled at 4 decimals, then only where no decimal is lost
    exponent = _exponent_expr(currency)
    unit = pl.lit(10, dtype=pl.Int64).pow(pl.lit(_FAST_SCALE, dtype=pl.Int64) - exponent)
    return pl.when(scaled % unit == 0).then(scaled // unit)


def exact_amount_expr(
    text: pl.Expr,
    currency: pl.Expr,
    *,
    decimal_mark: str = ".",
    thousands_sep: str | None = None,
) -> pl.Expr:
    """The exact path of `parse_amount_expr`, for any text: slower, it runs only where the fast path gave up."""
    s = text.str.strip_chars().str.replace(r"^([+-])\s+", "${1}")  # "- 12.00" as the scalar parser reads it
    if thousands_sep:
        s = without_thousands(s, thousands_sep)
    if decimal_mark != ".":
        s = (
            pl.when(s.str.contains(".", literal=True))
            .then(pl.lit("x"))
            .otherwise(s.str.replace(decimal_mark, ".", literal=True))
        )
    exponent = _exponent_expr(currency)
    whole = s.str.extract(r"^[+-]?(\d*)", 1).replace("", "0").cast(pl.Int64, strict=False)
    frac = s.str.extract(r"\.(\d*)$", 1).fill_null("")
    fits = frac.str.strip_chars_end("0").str.len_chars() <= exponent
    frac_minor = (
        pl.concat_str(frac, pl.lit("0000")).str.slice(0, exponent).replace("", "0").cast(pl.Int64, strict=False)
    )
    # whole < 10**(18 - exponent) keeps the amount within MAX_AMOUNT_MINOR (10**18 - 1) and the product in Int64
    in_range = whole < pl.lit(10, dtype=pl.Int64).pow(pl.lit(18, dtype=pl.Int64) - exponent)
    magnitude = whole * pl.lit(10, dtype=pl.Int64).pow(exponent) + frac_minor
    signed = pl.when(s.str.starts_with("-")).then(-magnitude).otherwise(magnitude)
    return pl.when(s.str.contains(_PLAIN_NUMBER) & fits & in_range).then(signed).otherwise(None)


def unsettled(text: pl.Expr, fast: pl.Expr) -> pl.Expr:
    """`text` where `fast` is null and the text not empty, else null (empty text is never an amount).

    The exact path then runs on a mostly-null column, where string work costs next to nothing.
    """
    return pl.when(fast.is_null() & (text.str.len_bytes() > 0)).then(text)


def parse_amount_expr(
    text: pl.Expr,
    currency: pl.Expr,
    *,
    decimal_mark: str = ".",
    thousands_sep: str | None = None,
) -> pl.Expr:
    """Vectorized `parse_amount`: decimal text -> Int64 minor units, null where the text is not exact.

    Null marks a refusal (not a number, or more decimals than the currency has); the
    caller turns each null into a `Problem` with its line. Empty text is also null.
    Plain numbers take the fast path (`plain_amount_expr`); only the rest go through
    the exact regex path (`exact_amount_expr`), which gives the same answer for any text.
    """
    fast = plain_amount_expr(text, currency, decimal_mark=decimal_mark, thousands_sep=thousands_sep)
    exact = exact_amount_expr(unsettled(text, fast), currency, decimal_mark=decimal_mark, thousands_sep=thousands_sep)
    return pl.coalesce(fast, exact)
