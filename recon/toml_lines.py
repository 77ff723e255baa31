"""Where each key of a TOML document stands: the line of every table, key and array element.

`tomllib` gives values without positions, so the config's errors would have no line. This
scanner walks the text (already accepted by `tomllib`, so it need not judge it) and records
the 1-based line of every path pydantic may name in an error: `("sources", 0, "format")` for
the `format` key of the first `[[sources]]`, the same for `sources = [{format = ...}]`,
`("accounts", 0, "book_balance", "amount")` inside an inline table, `("paths", 2)` for an
element of an array that spans lines. It must never raise on valid TOML.
"""

from __future__ import annotations

import bisect
import re
import tomllib

__all__ = ["KeyPath", "key_lines", "line_of"]

KeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}#\n]*")  # a number, boolean or date-time (which may hold a space)


def key_lines(text: str) -> dict[KeyPath, int]:
    """The line of every table header, key and array element in `text` (valid TOML), by path."""
    scanner = _Scanner(text)
    scanner.document()
    return scanner.lines


def line_of(lines: dict[KeyPath, int], loc: KeyPath) -> int | None:
    """The line of `loc`, or of its nearest enclosing key that stands in the file (a missing key's table)."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.lines: dict[KeyPath, int] = {}
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._array_tables: dict[KeyPath, int] = {}  # `[[name]]` path -> how many elements so far

    def document(self) -> None:
        table: KeyPath = ()
        while self._skip_blank():
            if self._peek("[["):
                table = self._array_table_header()
            elif self._peek("["):
                table = self._table_header()
            else:
                self._key_value(table)

    def _array_table_header(self) -> KeyPath:
        line = self._line()
        self.pos += 2
        names = self._key()
        self._expect("]]")
        array = (*self._resolve(names[:-1]), names[-1])
        index = self._array_tables.get(array, 0)
        self._array_tables[array] = index + 1
        self.lines.setdefault(array, line)
        self.lines[(*array, index)] = line
        return (*array, index)

    def _table_header(self) -> KeyPath:
        line = self._line()
        self.pos += 1
        path = self._resolve(self._key())
        self._expect("]")
        self.lines.setdefault(path, line)
        return path

    def _resolve(self, names: list[str]) -> KeyPath:
        """A header's names as a path: an array of tables met on the way means its last element."""
        path: KeyPath = ()
        for name in names:
            path += (name,)
            if path in self._array_tables:
                path += (self._array_tables[path] - 1,)
        return path

    def _key_value(self, table: KeyPath) -> None:
        line = self._line()
        names = self._key()
        for end in range(1, len(names) + 1):
            self.lines.setdefault(table + tuple(names[:end]), line)
        self._expect("=")
        self._skip_spaces()
        self._value(table + tuple(names))

    def _key(self) -> list[str]:
        names = []
        while True:
            self._skip_spaces()
            names.append(self._simple_key())
            self._skip_spaces()
            if not self._peek("."):
                return names
            self.pos += 1

    def _simple_key(self) -> str:
        if self._peek('"') or self._peek("'"):
            start = self.pos
            self._string()
            value = tomllib.loads("k = " + self.text[start : self.pos])["k"]
            return str(value)
        match = _BARE_KEY.match(self.text, self.pos)
        if match is None:
            raise ValueError(f"no key at offset {self.pos}")
        self.pos = match.end()
        return match.group()

    def _value(self, path: KeyPath) -> None:
        if self._peek('"') or self._peek("'"):
            self._string()
        elif self._peek("["):
            self._array(path)
        elif self._peek("{"):
            self._inline_table(path)
        else:
            match = _SCALAR.match(self.text, self.pos)
            self.pos = match.end() if match else len(self.text)

    def _array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while True:
            self._skip_blank()
            if self._peek("]"):
                self.pos += 1
                return
            self.lines.setdefault((*path, index), self._line())
            self._value((*path, index))
            self._skip_blank()
            if self._peek(","):
                self.pos += 1
            index += 1

    def _inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while True:
            self._skip_blank()
            if self._peek("}"):
                self.pos += 1
                return
            self._key_value(path)
            self._skip_blank()
            if self._peek(","):
                self.pos += 1

    def _string(self) -> None:
        quote = self.text[self.pos]
        multiline = self._peek(quote * 3)
        self.pos += 3 if multiline else 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and quote == '"':
                self.pos += 2
            elif multiline and self._peek(quote * 3):
                self.pos += 3
                while self._peek(quote):  # up to two quotes may end the content right before the delimiter
                    self.pos += 1
                return
            elif not multiline and char == quote:
                self.pos += 1
                return
            else:
                self.pos += 1

    def _skip_spaces(self) -> None:
        while self._peek(" ") or self._peek("\t"):
            self.pos += 1

    def _skip_blank(self) -> bool:
        """Skip whitespace, newlines and comments; False at the end of the text."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r\n":
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return True
        return False

    def _expect(self, token: str) -> None:
        self._skip_spaces()
        if not self._peek(token):
            raise ValueError(f"expected {token!r} at offset {self.pos}")
        self.pos += len(token)

    def _peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def _line(self) -> int:
        return bisect.bisect_right(self._line_starts, self.pos)
