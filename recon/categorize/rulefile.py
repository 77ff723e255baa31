"""Load and validate rule files into a `RuleSet`: every mistake named by file, line and key.

Order of evaluation (what `stop` and "first match wins" refer to): files in sorted
path order, rules in file order; `priority` (default 0) moves a rule ahead of every
rule with a lower priority, ties keep that order. All problems of all files are
gathered and reported together (exit code 2); nothing runs on a rule set with a
problem, because a half-loaded rule set categorizes differently from the one written.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from recon.categorize.schema import Condition, Rule, RuleFileModel
from recon.categorize.yamlmarks import Loc, Located, read_yaml
from recon.config import BankFormat, Config
from recon.errors import UserError

__all__ = ["LoadedRule", "RuleFileError", "RuleProblem", "RuleSet", "load_rule_files", "load_rules", "shown_path"]

SOURCE_FORMATS = frozenset(typing.get_args(BankFormat))


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One mistake in a rule file: `path:line: key 'rules[0].when': message`."""

    path: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: key '{self.key}': {self.message}" if self.key else f"{where}: {self.message}"


class RuleFileError(UserError):
    """A rule file is invalid; no rule ran."""

    def __init__(self, problems: Sequence[RuleProblem]):
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:30]]
        if len(self.problems) > 30:
            shown.append(f"... and {len(self.problems) - 30} more problems")
        super().__init__("\n".join(shown))


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """A validated rule and where it was written.

    Attributes:
      rule: the rule.
      path: the rule file (absolute).
      line: 1-based line of the rule's first key.
      order: position in evaluation order (0 runs first).
      example_lines: line of each of the rule's examples.
    """

    rule: Rule
    path: Path
    line: int
    order: int
    example_lines: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def where(self) -> str:
        return f"{shown_path(self.path)}:{self.line}"


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules in evaluation order, and the files they came from."""

    rules: tuple[LoadedRule, ...]
    files: tuple[Path, ...]

    def by_name(self, name: str) -> LoadedRule | None:
        return next((r for r in self.rules if r.name == name), None)


def shown_path(path: Path, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the working directory) when it lies below it."""
    try:
        return str(path.resolve().relative_to((base or Path.cwd()).resolve()))
    except ValueError:
        return str(path)


def load_rules(config: Config) -> tuple[RuleSet, list[str]]:
    """The rule set the config's `[rules] paths` name (and warnings: none at present).

    A pattern that matches no file is an error like a mistake in a rule file: running without
    the rules it meant would replace their categorizations with nothing."""
    files, unmatched = config.expand(config.rules.paths)
    if unmatched:
        shown = shown_path(config.config_file) if config.config_file else "the config"
        raise RuleFileError(
            [
                RuleProblem(shown, None, "rules.paths", f"'{pattern}' matches no file (in {config.base_dir})")
                for pattern in unmatched
            ]
        )
    return load_rule_files(files, accounts=[a.id for a in config.accounts]), []


def load_rule_files(paths: Sequence[Path], *, accounts: Collection[str] | None = None) -> RuleSet:
    """Read, validate and order the rules of `paths`; raise RuleFileError listing every problem.

    `accounts` are the config's account ids: rules naming another account are refused.
    Without it (no config at hand) account names are not checked.
    """
    files = sorted({p.resolve() for p in paths}, key=str)
    problems: list[RuleProblem] = []
    parsed: list[tuple[Path, Located, RuleFileModel]] = []
    for path in files:
        located, read_problems = read_yaml(path)
        shown = shown_path(path)
        problems.extend(RuleProblem(shown, p.line, p.field, p.message) for p in read_problems)
        if located is None:
            continue
        if not isinstance(located.data, dict):
            what = "is empty" if located.data is None else "does not start with 'rules:'"
            problems.append(RuleProblem(shown, 1, None, f"the file {what}; write 'rules:' and a list of rules"))
            continue
        try:
            model = RuleFileModel.model_validate(located.data)
        except ValidationError as exc:
            problems.extend(_problems_of(exc, shown, located))
            continue
        parsed.append((path, located, model))
    problems.extend(_cross_file_problems(parsed, accounts))
    if problems:
        raise RuleFileError(problems)
    in_file_order = [
        (rule, path, located.lines.get(("rules", i), 1), _example_lines(located, i, rule))
        for path, located, model in parsed
        for i, rule in enumerate(model.rules)
    ]
    ordered = sorted(range(len(in_file_order)), key=lambda i: (-in_file_order[i][0].priority, i))
    rules = tuple(
        LoadedRule(*in_file_order[i][:3], order=order, example_lines=in_file_order[i][3])
        for order, i in enumerate(ordered)
    )
    return RuleSet(rules, tuple(files))


def _example_lines(located: Located, index: int, rule: Rule) -> tuple[int, ...]:
    return tuple(located.line_of(("rules", index, "examples", j)) or 1 for j in range(len(rule.examples)))


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out


def _problems_of(exc: ValidationError, shown: str, located: Located) -> Iterator[RuleProblem]:
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if _is_file_part(p))
        line = located.line_of(loc)
        if err["type"] == "extra_forbidden":
            message = _unknown_key_message(loc)
        elif err["type"] == "missing":
            message = "missing: this key is required"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        yield RuleProblem(shown, line, _dotted(loc) or None, message)


def _is_file_part(part: int | str) -> bool:
    # pydantic adds the names of union members and validators (e.g. 'list[str]', 'function-after[...]')
    return isinstance(part, int) or not any(ch in part for ch in "[]()")


def _unknown_key_message(loc: Loc) -> str:
    model = _model_at(loc[:-1])
    key = str(loc[-1])
    if model is None:
        return "unknown key"
    known = sorted(f.alias or name for name, f in model.model_fields.items())
    kind = {"Actions": "action", "Condition": "condition"}.get(model.__name__, "key")
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {kind} '{key}' (known: {', '.join(known)}){hint}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = RuleFileModel
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = next((f for n, f in model.model_fields.items() if part in (n, f.alias)), None)
        model = _model_in(field.annotation) if field else None
    return model


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None


def _cross_file_problems(
    parsed: list[tuple[Path, Located, RuleFileModel]], accounts: Collection[str] | None
) -> Iterator[RuleProblem]:
    first_seen: dict[str, str] = {}
    known_accounts = ", ".join(sorted(accounts)) if accounts is not None else ""
    for path, located, model in parsed:
        shown = shown_path(path)
        for i, rule in enumerate(model.rules):
            at: Loc = ("rules", i)
            if rule.name in first_seen:
                yield RuleProblem(
                    shown, located.line_of((*at, "name")), _dotted((*at, "name")),
                    f"a rule named '{rule.name}' is already defined at {first_seen[rule.name]}; names must be unique",
                )  # fmt: skip
            else:
                first_seen[rule.name] = f"{shown}:{located.line_of(at)}"
            for loc, value, what in _named_values(rule, at):
                if what == "source" and value not in SOURCE_FORMATS:
                    message = f"unknown source '{value}' (known: {', '.join(sorted(SOURCE_FORMATS))})"
                elif what == "account" and accounts is not None and value not in accounts:
                    message = f"unknown account '{value}' (defined in the config: {known_accounts})"
                else:
                    continue
                if loc not in located.lines:  # written as one value, not a list: no [0] in the key
                    loc = loc[:-1]
                yield RuleProblem(shown, located.line_of(loc), _dotted(loc), message)


def _named_values(rule: Rule, at: Loc) -> Iterator[tuple[Loc, str, str]]:
    """Every account id and source name the rule mentions, with its location."""
    for loc, condition in _conditions(rule.when, (*at, "when")):
        for j, account in enumerate(condition.account or []):
            yield (*loc, "account", j), account, "account"
        for j, source in enumerate(condition.source or []):
            yield (*loc, "source", j), source, "source"
    if rule.then.transfer_to:
        yield (*at, "then", "transfer_to"), rule.then.transfer_to, "account"
    for j, example in enumerate(rule.examples):
        if example.account:
            yield (*at, "examples", j, "account"), example.account, "account"
        if example.source:
            yield (*at, "examples", j, "source"), example.source, "source"


def _conditions(condition: Condition, loc: Loc) -> Iterator[tuple[Loc, Condition]]:
    yield loc, condition
    for key in ("all", "any"):
        for j, inner in enumerate(getattr(condition, key) or []):
            yield from _conditions(inner, (*loc, key, j))
    if condition.not_ is not None:
        yield from _conditions(condition.not_, (*loc, "not"))
