"""Text templates of actions: `memo: "Invoice {1}"` fills in what the rule's regex captured.

`{1}`, `{2}` are the regex's groups by number, `{name}` a group written `(?P<name>...)`.
`{{` and `}}` stand for literal braces. A group that did not take part in the match
is filled in as empty text, and the result is trimmed of spaces at both ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Placeholder", "parse_template"]

_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A `{group}` in a template: the group's number (as text) or name."""

    group: str


def parse_template(text: str) -> list[str | Placeholder]:
    """Split a template into literal text and placeholders; ValueError on a stray brace or bad name."""
    parts: list[str | Placeholder] = []
    literal = ""
    position = 0
    for found in _PART.finditer(text):
        literal += text[position : found.start()]
        position = found.end()
        token = found.group(0)
        if token in ("{{", "}}"):
            literal += token[0]
            continue
        name = found.group(1)
        if name is None or not re.fullmatch(r"\w+", name.strip()):
            raise ValueError(
                f"'{token}' in \"{text}\": write {{1}} or {{name}} for a regex group, {{{{ and }}}} for a brace"
            )
        if literal:
            parts.append(literal)
            literal = ""
        parts.append(Placeholder(name.strip()))
    literal += text[position:]
    if literal:
        parts.append(literal)
    return parts
