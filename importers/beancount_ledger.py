"""Beancount books as the book side: one ledger row per posting, read by beancount itself.

The file is loaded with `beancount.loader.load_file` (includes, plugins, booking
and validation as `bean-check` does them); every loader error becomes a Problem
with its file and line, so a book beancount refuses is refused here too.
Padding entries the loader inserts for `pad` directives are not rows: nobody
booked them. Rows are ordered by file (the main file first, then the included
files in the order the loader met them) and line, not by date, so an entry added
later to an included file never changes the identity of an older one.

Description is payee + narration, counterparty the payee. A transaction's first
link (`^ut14167001`) is a durable id of its own: `external_id` is the link and the
posting's account. The `bank-id` metadata and the `*` flag that write-back adds
are never part of the identity.

Note: beancount's loader may keep a pickle cache beside a large book
(`.NAME.picklecache`), as `bean-check` does; set BEANCOUNT_DISABLE_LOAD_CACHE to avoid it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from importers.base import Extract, Side, read_head
from importers.book_rows import BANK_ID_KEY, BookPosting, book_extract
from recon.errors import Problem

__all__ = ["BeancountBook", "LoadedBook", "load_book"]

PADDING_FLAG = "P"


class LoadedBook:
    """A beancount book as the loader returns it, with its problems and its files in load order."""

    def __init__(self, path: Path, entries: list[Any], problems: list[Problem], files: list[Path]):
        self.path = path
        self.entries = entries
        self.problems = problems
        self.files = files

    def postings(self) -> list[BookPosting]:
        """Every posting of every booked transaction, ordered by file and line."""
        from beancount.core import data

        rank = {f: i for i, f in enumerate(self.files)}
        lines = _FileLines()
        out: list[BookPosting] = []
        for entry in self.entries:
            if not isinstance(entry, data.Transaction) or entry.flag == PADDING_FLAG:
                continue
            out.extend(_transaction_postings(entry, lines))
        out.sort(key=lambda p: (rank.get(p.file, len(rank)), p.line, p.posting_line))
        return out


def load_book(path: Path) -> LoadedBook:
    """Load a beancount file with beancount's own loader; errors become Problems with file and line."""
    from beancount import loader

    entries, errors, options = loader.load_file(str(path))
    problems = [_problem(err, path) for err in errors]
    files = [Path(f) for f in options.get("include", [])] or [path]
    return LoadedBook(path, entries, problems, files)


class BeancountBook:
    format = "beancount"
    side: Side = "ledger"

    def identify(self, path: Path) -> bool:
        if path.suffix.lower() in (".beancount", ".bean"):
            return True
        head = read_head(path).decode("utf-8", errors="replace")
        return any(line[:4].isdigit() and " open " in line[:20] for line in head.splitlines())

    def extract(self, path: Path, *, currency: str) -> Extract:
        book = load_book(path.resolve())
        extract, _ = book_extract(book.postings(), main_file=path.resolve(), currency=currency)
        extract.problems[:0] = book.problems
        return extract


class _FileLines:
    """The text lines of the book's files, read once each, for the `raw` column."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def get(self, filename: str, lineno: int) -> str:
        if filename not in self._lines:
            try:
                self._lines[filename] = Path(filename).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self._lines[filename] = []
        lines = self._lines[filename]
        return lines[lineno - 1] if 0 < lineno <= len(lines) else ""


def _transaction_postings(entry: Any, lines: _FileLines) -> list[BookPosting]:
    filename = str(entry.meta.get("filename", ""))
    lineno = int(entry.meta.get("lineno", 0))
    description = " ".join(part for part in (entry.payee, entry.narration) if part)
    link = sorted(entry.links)[0] if entry.links else None
    bank_id = entry.meta.get(BANK_ID_KEY, "")  # a transaction's bank-id holds for its postings without one
    seen: dict[str, int] = {}
    out: list[BookPosting] = []
    for posting in entry.postings:
        units = posting.units
        if units is None or not isinstance(units.number, Decimal):
            continue
        meta = posting.meta or {}
        seen[posting.account] = seen.get(posting.account, 0) + 1
        external_id = None
        if link:
            nth = seen[posting.account]
            external_id = f"{link}@{posting.account}" + (f"#{nth}" if nth > 1 else "")
        posting_line = int(meta.get("lineno", lineno))
        out.append(
            BookPosting(
                file=Path(str(meta.get("filename", filename))), line=lineno, posting_line=posting_line,
                date=entry.date, account=posting.account, quantity=units.number, commodity=units.currency,
                description=description, counterparty=entry.payee or None, reference=None,
                external_id=external_id, bank_ids=tuple(str(meta.get(BANK_ID_KEY) or bank_id).split()),
                cleared=entry.flag == "*" and posting.flag in (None, "*"),
                raw=lines.get(filename, lineno) + "\n" + lines.get(filename, posting_line),
            )
        )  # fmt: skip
    return out


def _problem(error: Any, path: Path) -> Problem:
    source = getattr(error, "source", None) or {}
    filename = str(source.get("filename") or path)
    line = source.get("lineno")
    message = str(getattr(error, "message", error)).strip()
    return Problem(filename, int(line) if isinstance(line, int) and line > 0 else None, None, message)
