"""Read a YAML file into plain data and remember the line of every key and item.

PyYAML's `safe_load` forgets where things were; rule-file errors must name the
line. So the file is composed into nodes (which carry marks) and converted here.
Two choices differ from `safe_load` on purpose:

- every scalar but null keeps its text exactly as written (`-15.00` stays the
  string "-15.00", `ON` stays "ON"): money is parsed from text with `Decimal`,
  never through a float, a description word is never turned into a boolean, and
  pydantic turns the text into a number, a date or a boolean where a field wants one;
- a key written twice in one mapping is an error, not a silent overwrite.

This module must never execute YAML tags (only the safe loader's node types).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from recon.errors import Problem

__all__ = ["Located", "read_yaml"]

Loc = tuple[int | str, ...]


@dataclass
class Located:
    """Plain data read from a YAML file, and the 1-based line of every key or list item in it.

    Attributes:
      data: dicts, lists, strings, booleans and None.
      lines: location (keys and list indexes, as pydantic reports them) -> line.
    """

    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """Line of the deepest part of `loc` that the file has (pydantic adds parts of its own)."""
        known: Loc = ()
        best = self.lines.get((), None)
        for part in loc:
            candidate = (*known, part)
            if candidate in self.lines:
                known = candidate
                best = self.lines[candidate]
        return best


MAX_NODES = 500_000  # aliases can make a small file expand to any size ("billion laughs"): refuse past this


class _TooLargeError(Exception):
    pass


class _DuplicateKeyError(Exception):
    def __init__(self, key: str, line: int, first_line: int):
        super().__init__(key)
        self.key, self.line, self.first_line = key, line, first_line


def read_yaml(path: Path) -> tuple[Located | None, list[Problem]]:
    """Read `path`; on failure return the problems (unreadable file, bad YAML, duplicate keys)."""
    shown = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(shown, None, None, "file not found")]
    except OSError as exc:
        return None, [Problem(shown, None, None, f"cannot read the file: {exc}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [_not_utf8(shown, data, exc.start)]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        return None, [Problem(shown, line, None, f"not valid YAML: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(shown, None, None, f"not valid YAML: {exc}")]
    located = Located(None)
    if node is None:
        return located, []
    try:
        located.data = _convert(node, (), located.lines)
    except _TooLargeError:
        return None, [Problem(shown, None, None, f"more than {MAX_NODES} values (with aliases expanded)")]
    except _DuplicateKeyError as dup:
        return None, [Problem(shown, dup.line, dup.key, f"key written twice (first on line {dup.first_line})")]
    return located, []


def _not_utf8(shown: str, data: bytes, offset: int) -> Problem:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Problem(
        shown, line, None,
        f"column {column}: byte 0x{data[offset]:02x} is not UTF-8; save the file as UTF-8",
    )  # fmt: skip


def _convert(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if len(lines) > MAX_NODES:
        raise _TooLargeError
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node)) if isinstance(key_node, yaml.ScalarNode) else str(key_node.value)
            if key in out:
                raise _DuplicateKeyError(key, key_node.start_mark.line + 1, lines[(*loc, key)])
            lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, (*loc, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*loc, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    if node.tag == "tag:yaml.org,2002:null":
        return None
    return node.value
