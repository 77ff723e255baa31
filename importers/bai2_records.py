"""BAI2 physical lines to logical records: a record and its `88` continuations.

A BAI2 record is `CODE,field,field,.../`: fields separated by commas, the record ended
by a slash. A record too long for one line goes on in `88` records. Banks differ in
what they write, and all of it is in the corpus: the `/` may be missing (Citi's 88
lines, SVB's last 99), lines may be padded with spaces to a fixed width, and the last
line may have no newline.

How a continuation joins depends on the record: for a `16` detail it extends the free
text, which runs to the end of the record and may hold commas; for every other record
its fields are appended to the record's fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FieldCursor", "Orphan", "Record", "group_records", "split_fields"]


@dataclass(slots=True)
class Record:
    """One logical record.

    Attributes:
      code: the two-digit record code ('01', '16', ...).
      line: 1-based line of the record's first physical line.
      bodies: the text after 'CODE,' of the record and of each of its 88 continuations.
      lines: the physical lines, for the raw record.
    """

    code: str
    line: int
    bodies: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def physical_count(self) -> int:
        """How many physical records (the record and its 88s) the trailers count for it."""
        return len(self.bodies)


@dataclass(frozen=True, slots=True)
class Orphan:
    """A line that is not a record, or an 88 with nothing to continue."""

    line: int
    text: str


def group_records(text: str) -> tuple[list[Record], list[Orphan]]:
    """The logical records of `text`, and the lines that could not be placed."""
    records: list[Record] = []
    orphans: list[Orphan] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        code, comma, body = line.partition(",")
        code = code.strip()
        if not comma or len(code) != 2 or not code.isdigit():
            orphans.append(Orphan(number, line))
        elif code == "88":
            if records:
                records[-1].bodies.append(body)
                records[-1].lines.append(line)
            else:
                orphans.append(Orphan(number, line))
        else:
            records.append(Record(code, number, [body], [line]))
    return records, orphans


def split_fields(record: Record) -> list[str]:
    """All fields of a non-text record, its continuations' fields appended in order."""
    fields: list[str] = []
    for body in record.bodies:
        end = body.find("/")
        fields.extend((body if end < 0 else body[:end]).split(","))
    return [f.strip() for f in fields]


class FieldCursor:
    """Reads the fields of one body left to right; the free text is whatever is left.

    A field that ends with '/' ends the record: every later field is empty.
    """

    def __init__(self, body: str):
        self._body = body
        self._pos = 0
        self._ended = False

    def next(self) -> str:
        if self._ended:
            return ""
        end = self._body.find(",", self._pos)
        if end < 0:
            value, self._pos, self._ended = self._body[self._pos :], len(self._body), True
        else:
            value, self._pos = self._body[self._pos : end], end + 1
        if value.endswith("/"):
            value, self._ended = value[:-1], True
        return value.strip()

    def rest(self) -> str:
        if self._ended:
            return ""
        self._ended = True
        value = self._body[self._pos :]
        return value[:-1] if value.endswith("/") else value
