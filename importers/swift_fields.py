"""Splitting SWIFT MT940/MT942 text into statements of tagged fields, with line numbers.

What banks really send around the fields is cleaned away here, so that
`importers.mt940` only sees `:TAG:value` fields grouped by statement:

- SWIFT envelopes `{1:...}{2:...}{3:...}{4:` and the trailers `-}` / `-}{5:...}`;
- raw transmission bytes SOH (0x01) and ETX (0x03) around a message (mBank);
- legacy preambles before a statement (`ABNANL2A` / `940`, `0000 01INGBNL2AXXXX00001`,
  Rabobank's `:940:` first line);
- statement terminators `-` and `-XXX`, and blank lines.

A field's value runs over the following lines until the next tag. A lone `-` ends a
statement, except inside a multi-line field (`:86:`, `:61:`, `:NS:`) when the next
line continues the text: ING wraps a mandate id `MND-EV01` as `MND` / `-` / `EV01`.
Single-line fields (balances, references) never take continuation lines, so the
preamble lines after a `:62F:` are not glued onto it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["SwiftField", "SwiftStatement", "split_statements"]

_TAG = re.compile(r"^:(\d\d[A-Z]?|NS):(.*)$")
_TERMINATOR = re.compile(r"^-(\}.*|XXX)?$")
_MULTI_LINE = {"86", "61", "NS", "28C", "28"}  # :28C: is split over two lines in ING's sample


@dataclass(slots=True)
class SwiftField:
    """One `:TAG:value` field.

    Attributes:
      tag: the tag without colons, e.g. "61", "60F", "NS".
      line: 1-based line number of the tag.
      lines: the value, one entry per physical line (the first is the text after the tag).
    """

    tag: str
    line: int
    lines: list[str]

    @property
    def value(self) -> str:
        """The value with its lines joined by newlines."""
        return "\n".join(self.lines)


@dataclass(slots=True)
class SwiftStatement:
    """The fields of one statement, from its `:20:` to the next `:20:` or terminator."""

    line: int
    fields: list[SwiftField] = field(default_factory=list)
    last_line: int = 0
    """1-based line of the statement's last text."""
    terminator: str | None = None
    """The line that ended it ('-', '-XXX', '-}' or '-}{5:...}'); None when the next ':20:' or the text's end did."""
    enveloped: bool = False
    """Whether it stands in a SWIFT block 4 ('{4:'), which only '-}' closes."""


def split_statements(text: str) -> list[SwiftStatement]:
    """Group the fields of `text` by statement; text outside statements is dropped."""
    lines = _clean_lines(text)
    statements: list[SwiftStatement] = []
    enveloped = "{4:" in text
    current: SwiftField | None = None
    in_statement = False
    for index, (number, line) in enumerate(lines):
        tag_match = _TAG.match(line)
        if in_statement and not (tag_match and tag_match.group(1) == "20"):
            statements[-1].last_line = number
        if tag_match:
            tag, value = tag_match.group(1), tag_match.group(2)
            if tag == "20":
                statements.append(SwiftStatement(number, last_line=number, enveloped=enveloped))
                in_statement = True
            if not in_statement:
                current = None  # e.g. Rabobank's ':940:' header line
                continue
            current = SwiftField(tag, number, [value])
            statements[-1].fields.append(current)
            continue
        if _TERMINATOR.match(line.strip()) and not _continues(current, lines, index):
            if in_statement:
                statements[-1].terminator = line.strip()
            current, in_statement = None, False
            continue
        if current is not None and current.tag in _MULTI_LINE:
            current.lines.append(line)
        elif current is not None and line.strip():
            current = None  # a stray line after a single-line field: a preamble, not part of it
    return statements


def _clean_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each non-blank line, without envelopes and control bytes."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.replace("\x01", "").replace("\x03", "").rstrip()
        if line.startswith("{"):
            # '{1:F01...}{2:O940...}{4:' possibly followed by the first field on the same line
            block4 = line.find("{4:")
            line = line[block4 + 3 :] if block4 >= 0 else ""
        if line.strip():
            out.append((number, line))
    return out


def _continues(current: SwiftField | None, lines: list[tuple[int, str]], index: int) -> bool:
    """Whether a '-' line is text of a multi-line field rather than the end of the statement."""
    if current is None or current.tag not in {"86", "61", "NS"} or lines[index][1].strip() != "-":
        return False
    if index + 1 >= len(lines):
        return False
    following = lines[index + 1][1]
    return not following.startswith((":", "{", "-"))
