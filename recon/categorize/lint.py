"""`recon rules check`: find rules that cannot do what their author meant.

Invalid files, unknown keys and bad regexes are refused when the rules load (see
`rulefile`). On a valid rule set this finds:

- error `unreachable`: a rule that can never apply, because an earlier rule that
  stops is proven broader (every row it matches, the earlier one matches too);
- warning `shadowed_destination`: a rule that says where rows go (category, split,
  transfer_to, ignore) after a `stop: false` rule that says so too and is proven
  broader: the earlier destination always wins, the later one is never used
  (proven, like `unreachable`; the later rule's payee, memo and tags still apply);
- warning `never_applies`: on the stored rows and the examples, an earlier
  stopping rule took every row the rule matched (not proven, but seen);
- warning `never_matches`: the rule matches none of the stored bank rows;
- warning `overlap`: two rules with different actions both match some row and
  neither is proven to contain the other; the earlier one wins there (or, without
  `stop`, its fields and its destination win). A narrow rule written before a broader one on purpose
  (ADP PAYROLL FEES before ADP PAYROLL) is not reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from recon.categorize.engine import CompiledRule, compile_rules, match_array
from recon.categorize.rows import RULE_INPUT, prepare
from recon.categorize.rulefile import LoadedRule, RuleSet
from recon.categorize.subsumption import Atom, atoms_imply, condition_atoms

__all__ = ["Finding", "lint"]

MAX_OVERLAPS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing `rules check` reports about a rule."""

    severity: Literal["error", "warning"]
    kind: str
    rule: LoadedRule
    message: str

    def __str__(self) -> str:
        return f"{self.rule.where}: {self.severity}: rule '{self.rule.name}': {self.message}"


def lint(
    ruleset: RuleSet, *, history: pl.DataFrame | None, examples: pl.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Finding]:  # fmt: skip
    """Check `ruleset`; `history` are the stored bank rows (None: no store), `examples` the example rows.

    `progress` is told what is being done (for long checks)."""
    say = progress or (lambda _message: None)
    compiled = compile_rules(ruleset)
    atoms = [condition_atoms(r.rule.when) for r in ruleset.rules]
    say(f"looking for rules that can never apply ({len(ruleset.rules)} rules)")
    findings = _unreachable(ruleset, atoms)
    proven = {f.rule.order for f in findings}
    findings += _shadowed_destinations(compiled, atoms, skip=set(proven))
    proven |= {f.rule.order for f in findings}
    samples = [f for f in (history, examples) if f is not None and not f.is_empty()]
    if not samples or not compiled:
        return findings
    rows = pl.concat([s.select(RULE_INPUT.names()) for s in samples])
    say(f"matching {len(compiled)} rules against {rows.height} stored and example rows")
    matrix = match_array(prepare(rows), compiled)
    descriptions = rows["description"].to_list()
    if history is not None:
        findings += _never_matches(compiled, matrix[: history.height], history.height)
    findings += _seen_never_applying(compiled, matrix, descriptions, skip=proven)
    findings += _overlaps(compiled, matrix, descriptions, skip=proven, atoms=atoms)
    return sorted(findings, key=lambda f: (f.severity != "error", f.rule.order, f.kind))


def _unreachable(ruleset: RuleSet, atoms: list[list[Atom]]) -> list[Finding]:
    findings = []
    # a split rule lets rows it cannot split through, so it does not prove anything
    stoppers = [i for i, r in enumerate(ruleset.rules) if r.rule.stop and not r.rule.then.split]
    candidates = _StopperIndex(stoppers, atoms)
    for j, later in enumerate(ruleset.rules):
        for i in candidates.for_rule(j):
            if atoms_imply(atoms[j], atoms[i]):
                earlier = ruleset.rules[i]
                findings.append(
                    Finding(
                        "error", "unreachable", later,
                        f"can never apply: every row it matches is matched first by rule '{earlier.name}' "
                        f"({earlier.where}), which stops. Put the narrower rule first, or give it a priority.",
                    )
                )  # fmt: skip
                break
    return findings


_TEXT_KINDS = ("contains", "starts_with", "ends_with", "equals")


class _StopperIndex:
    """The earlier stopping rules that could be broader than a given rule, without comparing every pair.

    A stopper is filed under one of its atoms that any proof must match: a text test by each of its
    texts (a rule proves `contains X` only with a text that has X in it, and likewise for the other text
    tests), an opaque test (regex, fuzzy, any, not) by its exact value. A rule then looks up the
    substrings of its own texts and its own opaque atoms. Stoppers without such an atom are always tried.
    """

    def __init__(self, stoppers: list[int], atoms: list[list[Atom]]):
        self.atoms = atoms
        self.by_text: dict[tuple[str, str], list[int]] = {}
        self.by_opaque: dict[Atom, list[int]] = {}
        self.always: list[int] = []
        for i in stoppers:
            text = next((a for a in atoms[i] if a.kind in _TEXT_KINDS), None)
            opaque = next((a for a in atoms[i] if a.kind == "opaque"), None)
            if text is not None:
                for value in text.value:  # type: ignore[attr-defined]
                    self.by_text.setdefault((text.field, value), []).append(i)
            elif opaque is not None:
                self.by_opaque.setdefault(opaque, []).append(i)
            else:
                self.always.append(i)

    def for_rule(self, j: int) -> list[int]:
        """Stoppers before rule `j` that may be broader than it, in evaluation order."""
        found = {i for i in self.always if i < j}
        for atom in self.atoms[j]:
            if atom.kind == "opaque":
                found.update(i for i in self.by_opaque.get(atom, ()) if i < j)
            elif atom.kind in _TEXT_KINDS:
                # every alternative must be proven; the first one is enough to narrow the search
                text = min(atom.value, key=len)  # type: ignore[call-overload]
                for key in self._keys_within(atom.field, text):
                    found.update(i for i in self.by_text[key] if i < j)
        return sorted(found)

    def _keys_within(self, field: str, text: str) -> list[tuple[str, str]]:
        if len(text) > _LONG_TEXT:  # fewer keys than substrings
            return [k for k in self.by_text if k[0] == field and k[1] in text]
        pieces = {(field, text[a:b]) for a in range(len(text) + 1) for b in range(a, len(text) + 1)}
        return [k for k in pieces if k in self.by_text]


_LONG_TEXT = 80


def _shadowed_destinations(compiled: list[CompiledRule], atoms: list[list[Atom]], *, skip: set[int]) -> list[Finding]:
    findings = []
    # a split rule lets rows it cannot split through: it does not always take the destination
    givers = [c for c in compiled if not c.loaded.rule.stop and c.sets_destination and not c.loaded.rule.then.split]
    for j, later in enumerate(compiled):
        if later.loaded.order in skip or not later.sets_destination:
            continue
        earlier = next((g for g in givers if g.loaded.order < j and atoms_imply(atoms[j], atoms[g.loaded.order])), None)
        if earlier is None:
            continue
        findings.append(
            Finding(
                "warning", "shadowed_destination", later.loaded,
                f"its {_destination(later)} is never used: every row it matches gets its destination "
                f"({_destination(earlier)}) from rule '{earlier.loaded.name}' ({earlier.loaded.where}) first, which "
                "has stop: false; a later rule may add payee, memo and tags, not a second destination",
            )
        )  # fmt: skip
    return findings


def _destination(rule: CompiledRule) -> str:
    then = rule.loaded.rule.then
    if then.category:
        return f"category '{then.category}'"
    if then.split:
        return "split"
    if then.transfer_to:
        return f"transfer_to '{then.transfer_to}'"
    return "ignore"


def _never_matches(compiled: list[CompiledRule], matrix: np.ndarray, stored: int) -> list[Finding]:
    if stored == 0:
        return []
    hits = matrix.sum(axis=0)
    return [
        Finding("warning", "never_matches", c.loaded, f"matches none of the {stored} stored bank rows")
        for c, n in zip(compiled, hits, strict=True)
        if n == 0
    ]


def _first_stopper(compiled: list[CompiledRule], matrix: np.ndarray) -> np.ndarray:
    """Per row: order of the first matching rule that stops (len(compiled) where none)."""
    stops = np.array([c.loaded.rule.stop for c in compiled], dtype=bool)
    stopping = matrix & stops
    return np.where(stopping.any(axis=1), stopping.argmax(axis=1), len(compiled))


def _seen_never_applying(
    compiled: list[CompiledRule], matrix: np.ndarray, descriptions: list[str], *, skip: set[int]
) -> list[Finding]:
    first_stop = _first_stopper(compiled, matrix)
    findings = []
    for j, rule in enumerate(compiled):
        rows = np.flatnonzero(matrix[:, j])
        if rule.loaded.order in skip or rows.size == 0:
            continue
        takers = first_stop[rows]
        if (takers < j).all():
            taker = compiled[int(np.bincount(takers).argmax())].loaded
            findings.append(
                Finding(
                    "warning", "never_applies", rule.loaded,
                    f"matches {rows.size} stored or example rows, but earlier rules take all of them first, "
                    f"most often '{taker.name}' ({taker.where}); e.g. '{descriptions[rows[0]]}'",
                )
            )  # fmt: skip
    return findings


def _overlaps(
    compiled: list[CompiledRule], matrix: np.ndarray, descriptions: list[str], *, skip: set[int],
    atoms: list[list[Atom]],
) -> list[Finding]:  # fmt: skip
    multi = np.flatnonzero(matrix.sum(axis=1) >= 2)
    if multi.size == 0:
        return []
    # rule pairs that share a row: a self-join of the few (row, rule) hits per row, not a rules x rules product
    rows, rules = np.nonzero(matrix[multi])
    hits = pl.DataFrame({"row": multi[rows], "rule": rules.astype(np.int64)})
    shared = (
        hits.join(hits, on="row", suffix="_later")
        .filter(pl.col("rule") < pl.col("rule_later"))
        .group_by("rule", "rule_later")
        .agg(pl.col("row").min().alias("sample"), pl.len().alias("rows"))
        .sort("rule", "rule_later")
    )
    findings: list[Finding] = []
    actions = [c.loaded.rule.then.model_dump_json() for c in compiled]
    for i, j, sample, together in shared.iter_rows():
        earlier, later = compiled[i].loaded, compiled[j].loaded
        if later.order in skip or actions[i] == actions[j]:
            continue
        if not earlier.rule.stop and not _same_fields_differ(earlier, later):
            continue
        if atoms_imply(atoms[i], atoms[j]):
            continue  # an exception written before its general rule: the intended way to order rules
        how = "and stops first" if earlier.rule.stop else "first, and its values win"
        findings.append(
            Finding(
                "warning", "overlap", later,
                f"overlaps rule '{earlier.name}' ({earlier.where}) with different actions on {together} stored "
                f"or example rows, e.g. '{descriptions[sample]}'; '{earlier.name}' applies {how}",
            )
        )  # fmt: skip
        if len(findings) >= MAX_OVERLAPS_SHOWN:
            break
    return findings


def _same_fields_differ(earlier: LoadedRule, later: LoadedRule) -> bool:
    a, b = earlier.rule.then, later.rule.then
    if any(_destination_of(a)) and any(_destination_of(b)) and _destination_of(a) != _destination_of(b):
        return True  # two destinations (a category, an ignore): the earlier one's wins
    return any(
        getattr(a, name) is not None and getattr(b, name) is not None and getattr(a, name) != getattr(b, name)
        for name in type(a).model_fields
        if name != "tags"
    )


def _destination_of(then: object) -> tuple[object, ...]:
    return tuple(getattr(then, n) for n in ("category", "split", "transfer_to", "ignore"))
