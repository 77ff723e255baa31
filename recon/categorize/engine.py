"""Apply a rule set to rows: every rule's conditions on every row at once, as Polars expressions.

What a row gets, precisely:

1. Rules are tried in evaluation order (see `rulefile`). A rule *matches* a row when
   its conditions hold (and, for a split, the row can be split that way).
2. By default a rule stops the search: the first matching rule wins and later
   rules are not applied to that row. A rule with `stop: false` applies and lets
   the search go on to later rules.
3. The first applied rule that says where the row goes (category, split, transfer,
   ignore: its *destination*) decides the destination alone: a later rule's
   destination is not used, so a row never gets two. Every other field (payee,
   memo, book_difference) is set by the first applied rule that sets it; a later
   rule never overwrites it. Tags add up over all applied rules.
4. The row records the first applied rule (`rule_order`), and all applied rules.

How: the conditions become one boolean matrix (rows x rules, Polars evaluates the
expressions in parallel); "first applied rule that sets this field" is then an
argmax over the matrix's columns (NumPy), and a rule's value expression (a memo
template, a split) is evaluated only on the rows that rule decides. This module
never reads or writes the store.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from recon.categorize.actions import CompiledActions, compile_actions
from recon.categorize.conditions import compile_condition
from recon.categorize.rows import RULE_INPUT, prepare
from recon.categorize.rulefile import LoadedRule, RuleSet

__all__ = ["DESTINATION_FIELDS", "OUTCOME_SCHEMA", "CompiledRule", "apply_rules", "compile_rules", "match_array"]

OUTCOME_SCHEMA = pl.Schema(
    {
        "txn_id": pl.String(),
        "rule_order": pl.Int64(),
        "applied_orders": pl.List(pl.Int64()),
        "category": pl.String(),
        "payee": pl.String(),
        "memo": pl.String(),
        "tags": pl.List(pl.String()),
        "splits": pl.String(),
        "transfer_account": pl.String(),
        "ignored": pl.Boolean(),
        "difference_account": pl.String(),
        "difference_max_minor": pl.Int64(),
        "difference_max_bp": pl.Int32(),
    }
)
"""One row per input row; `rule_order` is null where no rule matched."""

_VALUE_FIELDS = (
    "category", "payee", "memo", "splits", "transfer_account", "ignored",
    "difference_account", "difference_max_minor", "difference_max_bp",
)  # fmt: skip
DESTINATION_FIELDS = ("category", "splits", "transfer_account", "ignored")
"""Where the row goes: only one of them, from one rule (the schema allows one per rule)."""
ROWS_PER_CHUNK = 200_000  # bounds the rows x rules matrix: 200k x 500 rules is 100 MB of booleans


@dataclass(frozen=True, slots=True)
class CompiledRule:
    loaded: LoadedRule
    matches: pl.Expr
    actions: CompiledActions

    @property
    def sets_destination(self) -> bool:
        return any(getattr(self.actions, f) is not None for f in DESTINATION_FIELDS)


def compile_rules(ruleset: RuleSet) -> list[CompiledRule]:
    compiled = []
    for loaded in ruleset.rules:
        actions = compile_actions(loaded.rule.then, loaded.rule.when)
        matches = compile_condition(loaded.rule.when) & actions.fits
        compiled.append(CompiledRule(loaded, matches, actions))
    return compiled


def match_array(prepared: pl.DataFrame, compiled: list[CompiledRule]) -> np.ndarray:
    """Rows x rules booleans (columns in evaluation order): does the rule match the row."""
    if not compiled:
        return np.zeros((prepared.height, 0), dtype=bool)
    frame = prepared.select([c.matches.fill_null(False).alias(str(i)) for i, c in enumerate(compiled)])
    return frame.to_numpy().astype(bool, copy=False).reshape(prepared.height, len(compiled))


def apply_rules(rows: pl.DataFrame, ruleset: RuleSet, *, compiled: list[CompiledRule] | None = None) -> pl.DataFrame:
    """What the rules make of `rows` (the `RULE_INPUT` columns): a frame of `OUTCOME_SCHEMA`."""
    compiled = compiled if compiled is not None else compile_rules(ruleset)
    if not compiled or rows.is_empty():
        return rows.select("txn_id").join(pl.DataFrame(schema=OUTCOME_SCHEMA), on="txn_id", how="left")
    parts = [
        _apply_chunk(rows.slice(start, ROWS_PER_CHUNK), compiled) for start in range(0, rows.height, ROWS_PER_CHUNK)
    ]
    return pl.concat(parts)


def _first_true(matrix: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Per row: the first of `columns` (rule orders) that is true, or -1."""
    if columns.size == 0:
        return np.full(matrix.shape[0], -1)
    sub = matrix[:, columns]
    return np.where(sub.any(axis=1), columns[sub.argmax(axis=1)], -1)


def _apply_chunk(rows: pl.DataFrame, compiled: list[CompiledRule]) -> pl.DataFrame:
    prepared = prepare(rows.select(RULE_INPUT.names())).with_row_index("_row")
    matrix = match_array(prepared, compiled)
    count = len(compiled)
    stoppers = np.array([i for i, c in enumerate(compiled) if c.loaded.rule.stop], dtype=np.int64)
    stop_at = _first_true(matrix, stoppers)
    stop_at = np.where(stop_at < 0, count, stop_at)
    applied = matrix & (np.arange(count)[None, :] <= stop_at[:, None])

    first = _first_true(applied, np.arange(count))
    columns: dict[str, pl.Series] = {
        "txn_id": prepared["txn_id"],
        "rule_order": pl.Series("rule_order", first, dtype=pl.Int64).replace(-1, None),
    }
    destination_rules = np.array([i for i, c in enumerate(compiled) if c.sets_destination], dtype=np.int64)
    destination_at = _first_true(applied, destination_rules)
    for field in _VALUE_FIELDS:
        columns[field] = _field_values(field, prepared, _decider(field, applied, compiled, destination_at), compiled)
    columns["tags"] = _tags(applied, compiled)
    columns["applied_orders"] = _applied_orders(applied)
    return pl.DataFrame(columns).with_columns(pl.col("ignored").fill_null(False)).select(OUTCOME_SCHEMA.names())


def _decider(field: str, applied: np.ndarray, compiled: list[CompiledRule], destination_at: np.ndarray) -> np.ndarray:
    """Per row: the rule order whose value of `field` the row gets, or -1."""
    setters = np.array([i for i, c in enumerate(compiled) if getattr(c.actions, field) is not None], dtype=np.int64)
    if field not in DESTINATION_FIELDS:
        return _first_true(applied, setters)
    # the rule that decided the destination, where it is this field (a category rule leaves `splits` empty)
    return np.where(np.isin(destination_at, setters), destination_at, -1)


def _field_values(field: str, prepared: pl.DataFrame, decider: np.ndarray, compiled: list[CompiledRule]) -> pl.Series:
    dtype = OUTCOME_SCHEMA[field]
    literals: dict[int, object] = {}
    pieces = []
    for order in np.unique(decider[decider >= 0]).tolist():
        value: pl.Expr = getattr(compiled[order].actions, field)
        if value.meta.is_literal():  # the same for every row: no need to look at the rows
            literals[order] = pl.select(value.cast(dtype)).item()
            continue
        rows = prepared.filter(pl.Series(decider == order))
        pieces.append(rows.select("_row", value.cast(dtype).alias(field)))
    result = pl.Series(field, decider).replace_strict(literals, default=None, return_dtype=dtype)
    if not pieces:
        return result
    computed = pl.concat(pieces)
    frame = prepared.select("_row", result).join(computed, on="_row", how="left", maintain_order="left", suffix="_x")
    return frame.select(pl.coalesce(f"{field}_x", field).alias(field))[field]


def _tags(applied: np.ndarray, compiled: list[CompiledRule]) -> pl.Series:
    taggers = [i for i, c in enumerate(compiled) if c.actions.tags]
    if not taggers:
        return pl.Series("tags", dtype=pl.List(pl.String)).extend_constant(None, applied.shape[0])
    rows, columns = np.nonzero(applied[:, taggers])
    tags_of = pl.DataFrame(
        {"_column": range(len(taggers)), "tags": [compiled[i].actions.tags for i in taggers]},
        schema={"_column": pl.Int64, "tags": pl.List(pl.String)},
    )
    pairs = pl.DataFrame({"_row": rows, "_column": columns.astype(np.int64)}).join(
        tags_of, on="_column", how="left", maintain_order="left"
    )
    # np.nonzero walks row by row, rule order within: so unique() keeps the first rule's tags first
    per_row = (
        pairs.explode("tags").group_by("_row", maintain_order=True).agg(pl.col("tags").unique(maintain_order=True))
    )
    frame = pl.DataFrame({"_row": np.arange(applied.shape[0])})
    return frame.join(per_row, on="_row", how="left", maintain_order="left")["tags"]


def _applied_orders(applied: np.ndarray) -> pl.Series:
    rows, orders = np.nonzero(applied)
    per_row = (
        pl.DataFrame({"_row": rows, "applied_orders": orders.astype(np.int64)})
        .group_by("_row", maintain_order=True)
        .agg("applied_orders")
    )
    frame = pl.DataFrame({"_row": np.arange(applied.shape[0])})
    return frame.join(per_row, on="_row", how="left", maintain_order="left")["applied_orders"]
