"""Static reasoning on conditions: does every row that matches rule B also match rule A?

Used by `rules check` to find rules that can never apply. It is sound, not complete:
`implies(b, a)` answers True only when it can prove it (contains "STRIPE TRANSFER"
implies contains "STRIPE"; an amount between -20 and -10 implies sign negative);
regexes, fuzzy tests, `any` and `not` are compared only for being identical. The
history-based checks in `lint` catch what this cannot prove.
"""

from __future__ import annotations

from dataclasses import dataclass

from recon.categorize.conditions import normalize_text
from recon.categorize.schema import TEXT_FIELDS, AmountTest, Condition, DateTest, TextTest

__all__ = ["Atom", "atoms_imply", "condition_atoms", "implies"]

_NO_LIMIT = None


@dataclass(frozen=True, slots=True)
class Atom:
    """One conjunct: kind, field, and what it allows (a set of alternatives, an interval, ...)."""

    kind: str
    field: str
    value: object


def implies(b: Condition, a: Condition) -> bool:
    """True when every row matching `b` is proven to match `a`."""
    return atoms_imply(condition_atoms(b), condition_atoms(a))


def condition_atoms(condition: Condition) -> list[Atom]:
    """The conjuncts of `condition`, for `atoms_imply` (worth computing once per rule when comparing many)."""
    return _atoms(condition)


def atoms_imply(known: list[Atom], wanted: list[Atom]) -> bool:
    """`implies` on conditions already split into atoms."""
    return all(_proven(known, atom) for atom in wanted)


def _atoms(condition: Condition) -> list[Atom]:
    atoms: list[Atom] = []
    for field in TEXT_FIELDS:
        test = getattr(condition, field)
        if test is not None:
            atoms += _text_atoms(field, test)
    if condition.amount is not None:
        atoms += _amount_atoms(condition.amount)
    for field in ("account", "currency", "source"):
        values = getattr(condition, field)
        if values is not None:
            atoms.append(Atom("in", field, frozenset(values)))
    if condition.date is not None:
        atoms += _date_atoms(condition.date)
    for inner in condition.all or []:
        atoms += _atoms(inner)
    if condition.any is not None:
        atoms.append(Atom("opaque", "any", tuple(c.model_dump_json() for c in condition.any)))
    if condition.not_ is not None:
        atoms.append(Atom("opaque", "not", condition.not_.model_dump_json()))
    return atoms


def _text_atoms(field: str, test: TextTest) -> list[Atom]:
    atoms = []
    for kind in ("contains", "starts_with", "ends_with", "equals"):
        values = getattr(test, kind)
        if values is not None:
            atoms.append(Atom(kind, field, frozenset(normalize_text(v) for v in values)))
    if test.regex is not None:
        atoms.append(Atom("opaque", field, ("regex", test.regex)))
    if test.similar_to is not None:
        atoms.append(Atom("opaque", field, ("similar", tuple(test.similar_to), test.min_similarity)))
    if test.is_empty is not None:
        atoms.append(Atom("empty", field, test.is_empty))
    return atoms


def _amount_atoms(test: AmountTest) -> list[Atom]:
    low, high = _NO_LIMIT, _NO_LIMIT
    if test.between is not None:
        low, high = sorted(test.between)
    if test.at_least is not None:
        low = test.at_least if low is None else max(low, test.at_least)
    if test.at_most is not None:
        high = test.at_most if high is None else min(high, test.at_most)
    if test.sign == "negative":
        high = -1 if high is None else min(high, -1)
    elif test.sign == "positive":
        low = 1 if low is None else max(low, 1)
    elif test.sign == "zero":
        low, high = 0, 0
    atoms = [Atom("range", "amount", (low, high))]
    if test.equals is not None:
        atoms.append(Atom("one_of", "amount", frozenset(test.equals)))
    return atoms


def _date_atoms(test: DateTest) -> list[Atom]:
    atoms = [Atom("range", "date", (test.from_, test.to))]
    if test.day_of_month is not None:
        atoms.append(Atom("in", "day_of_month", frozenset(test.day_of_month)))
    if test.weekday is not None:
        atoms.append(Atom("in", "weekday", frozenset(test.weekday)))
    return atoms


def _proven(known: list[Atom], wanted: Atom) -> bool:
    return any(_atom_implies(have, wanted) for have in known if have.field == wanted.field) or (
        wanted.kind == "range" and _range_from_one_of(known, wanted)
    )


def _atom_implies(have: Atom, wanted: Atom) -> bool:
    if wanted.kind == "opaque" or have.kind == "opaque":
        return have == wanted
    if wanted.kind in ("in", "one_of"):
        return have.kind == wanted.kind and have.value <= wanted.value  # type: ignore[operator]
    if wanted.kind == "range":
        return have.kind == "range" and _within(have.value, wanted.value)  # type: ignore[arg-type]
    if wanted.kind == "empty":
        if wanted.value:
            return have == wanted
        # a text that contains (starts, ends, equals) a non-empty text is not empty
        return have.kind in ("contains", "starts_with", "ends_with", "equals") or have == wanted
    return _text_implies(have, wanted)


def _text_implies(have: Atom, wanted: Atom) -> bool:
    alternatives: frozenset[str] = have.value  # type: ignore[assignment]
    options: frozenset[str] = wanted.value  # type: ignore[assignment]

    def each(test: object) -> bool:
        return all(any(test(h, w) for w in options) for h in alternatives)  # type: ignore[operator]

    if wanted.kind == "contains" and have.kind in ("contains", "starts_with", "ends_with", "equals"):
        return each(lambda h, w: w in h)
    if wanted.kind == "starts_with" and have.kind in ("starts_with", "equals"):
        return each(lambda h, w: h.startswith(w))
    if wanted.kind == "ends_with" and have.kind in ("ends_with", "equals"):
        return each(lambda h, w: h.endswith(w))
    if wanted.kind == "equals" and have.kind == "equals":
        return alternatives <= options
    return False


def _within(inner: tuple[object, object], outer: tuple[object, object]) -> bool:
    (low, high), (outer_low, outer_high) = inner, outer
    low_ok = outer_low is None or (low is not None and low >= outer_low)  # type: ignore[operator]
    high_ok = outer_high is None or (high is not None and high <= outer_high)  # type: ignore[operator]
    return low_ok and high_ok


def _range_from_one_of(known: list[Atom], wanted: Atom) -> bool:
    # amount equals [-15.00] implies amount between -20.00 and -10.00
    bounds: tuple[int | None, int | None] = wanted.value  # type: ignore[assignment]
    low, high = bounds
    for have in known:
        if have.kind == "one_of" and have.field == wanted.field:
            values: frozenset[int] = have.value  # type: ignore[assignment]
            return all((low is None or v >= low) and (high is None or v <= high) for v in values)
    return False
