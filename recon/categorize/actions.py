"""Compile a rule's actions into Polars expressions: the values it gives each row it matches.

Splits are computed in integer minor units of the row's currency, on the row's
magnitude, and every part takes the row's sign:

- a fixed `amount` part is that amount (it must be a whole number of minor units
  of the row's currency);
- a `percent` part is that percent of the whole row amount, rounded toward zero to
  the minor unit;
- the remainder part (the one marked `remainder: true`, else the last part) gets
  what is left, so the parts always sum exactly to the row amount.

A row too small for the split (the fixed and percent parts would add up to more
than the row, the remainder would be negative) cannot be split that way: the rule
does not match it (`fits` is false) and the row stays for the next rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from recon.categorize.rows import text_col
from recon.categorize.schema import Actions, BookDifference, Condition, SplitPart, capture_regexes
from recon.categorize.templates import Placeholder, parse_template
from recon.categorize.values import regex_group_names
from recon.money import minor_to_decimal_expr

__all__ = ["CompiledActions", "compile_actions"]


@dataclass(frozen=True, slots=True)
class CompiledActions:
    """The values a rule sets, as expressions (None: the rule leaves that field alone)."""

    category: pl.Expr | None
    payee: pl.Expr | None
    memo: pl.Expr | None
    tags: list[str] | None
    splits: pl.Expr | None
    transfer_account: pl.Expr | None
    ignored: pl.Expr | None
    difference_account: pl.Expr | None
    difference_max_minor: pl.Expr | None
    difference_max_bp: pl.Expr | None
    fits: pl.Expr


def compile_actions(actions: Actions, when: Condition) -> CompiledActions:
    splits, fits = _split(actions.split) if actions.split else (None, pl.lit(True))
    difference = actions.book_difference
    return CompiledActions(
        category=pl.lit(actions.category, dtype=pl.String) if actions.category else None,
        payee=_template(actions.payee, when) if actions.payee else None,
        memo=_template(actions.memo, when) if actions.memo else None,
        tags=list(dict.fromkeys(actions.tags)) if actions.tags else None,
        splits=splits,
        transfer_account=pl.lit(actions.transfer_to, dtype=pl.String) if actions.transfer_to else None,
        ignored=pl.lit(True) if actions.ignore else None,
        difference_account=pl.lit(difference.account, dtype=pl.String) if difference else None,
        difference_max_minor=_max_minor(difference) if difference else None,
        difference_max_bp=_max_bp(difference) if difference else None,
        fits=fits,
    )


def _template(text: str, when: Condition) -> pl.Expr:
    regexes = [(field, pattern, regex_group_names(pattern)) for field, pattern in capture_regexes(when)]
    pieces: list[pl.Expr] = []
    for part in parse_template(text):
        if isinstance(part, str):
            pieces.append(pl.lit(part, dtype=pl.String))
            continue
        pieces.append(_capture(part, regexes))
    # a group that did not take part leaves a gap: trim it at the ends ("Wire fee {direction}")
    return (pl.concat_str(pieces) if len(pieces) > 1 else pieces[0]).str.strip_chars()


def _capture(placeholder: Placeholder, regexes: list[tuple[str, str, list[str]]]) -> pl.Expr:
    # schema validation guarantees the group exists in exactly one of the rule's regexes
    if placeholder.group.isdigit():
        field, pattern, _ = regexes[0]
        index = int(placeholder.group)
    else:
        field, pattern, names = next(r for r in regexes if placeholder.group in r[2])
        index = names.index(placeholder.group) + 1
    return pl.col(text_col(field)).str.extract(f"(?i){pattern}", index).fill_null("")


def _split(parts: list[SplitPart]) -> tuple[pl.Expr, pl.Expr]:
    magnitude = pl.col("amount_minor").abs()
    sign = pl.col("amount_minor").sign()
    remainder_at = next((i for i, p in enumerate(parts) if p.remainder), len(parts) - 1)
    sizes: dict[int, pl.Expr] = {}
    exact: list[pl.Expr] = []
    for i, part in enumerate(parts):
        if i == remainder_at:
            continue
        if part.amount is not None:
            sizes[i] = pl.lit(part.amount, dtype=pl.Int64) // pl.col("_e4_per_minor")
            exact.append(pl.lit(part.amount, dtype=pl.Int64) % pl.col("_e4_per_minor") == 0)
        else:
            assert part.percent is not None
            share = Fraction(part.percent) / 100
            sizes[i] = magnitude * share.numerator // share.denominator
    sizes[remainder_at] = magnitude - pl.sum_horizontal(list(sizes.values())) if sizes else magnitude
    fits = pl.all_horizontal([*exact, sizes[remainder_at] >= 0])
    pieces: list[pl.Expr] = [pl.lit("[")]
    for i, part in enumerate(parts):
        signed = sizes[i] * sign
        pieces += [
            pl.lit(("" if i == 0 else ", ") + '{"category": ' + json.dumps(part.category) + ', "amount": "'),
            minor_to_decimal_expr(signed, pl.col("currency")),
            pl.lit('", "amount_minor": '),
            signed.cast(pl.String),
            pl.lit("}"),
        ]
    pieces.append(pl.lit("]"))
    return pl.concat_str(pieces), fits


def _max_minor(difference: BookDifference) -> pl.Expr:
    if difference.max_amount is None:
        return pl.lit(None, dtype=pl.Int64)
    # rounded down: a limit of 0.005 USD allows 0 cents, never 1
    return pl.lit(difference.max_amount, dtype=pl.Int64) // pl.col("_e4_per_minor")


def _max_bp(difference: BookDifference) -> pl.Expr:
    if difference.max_percent is None:
        return pl.lit(None, dtype=pl.Int32)
    return pl.lit(int(Fraction(difference.max_percent) * 100), dtype=pl.Int32)
