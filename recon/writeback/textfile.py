"""Editing a user's text book safely: lines in place, atomic replace, a diff to show.

The user's book is precious. `LineEdits` changes only the lines it is told to
(replace one line, insert lines after one, append at the end) and keeps every
other byte as it was, line endings included. `write_changes` replaces each file
atomically: the new content goes to a temporary file in the same folder, is
flushed and fsynced, gets the old file's permissions, then `os.replace`s the old
file, so a kill leaves either the old book or the new one, never half of each. It
refuses to write a file that changed since it was planned (someone saved it in an
editor meanwhile): the next run plans again from what is there.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path

from recon.writeback.base import BookError, FileChange, WritebackError

__all__ = ["LineEdits", "WritebackError", "read_text", "unified_diff", "write_changes"]


def read_text(path: Path) -> str:
    """A book file's text exactly as stored (no newline translation)."""
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError as exc:
        raise BookError(f"{path}: not UTF-8 text (byte {exc.start}); recon will not rewrite it") from None
    except OSError as exc:
        raise WritebackError(f"{path}: cannot read the book: {exc.strerror}") from None


class LineEdits:
    """Edits to a text by its original 1-based line numbers, rendered in one pass."""

    def __init__(self, text: str):
        self.original = text
        self.lines = text.splitlines(keepends=True)
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self._replaced: dict[int, str] = {}
        self._inserted: dict[int, list[str]] = {}
        self._appended: list[str] = []

    def line(self, lineno: int) -> str:
        """The line's text without its line ending."""
        return self.lines[lineno - 1].rstrip("\r\n")

    def replace(self, lineno: int, text: str) -> None:
        """Replace the line's text, keeping its line ending."""
        self._replaced[lineno] = text

    def insert_after(self, lineno: int, text: str) -> None:
        """Insert a line after `lineno` (after lines inserted there before)."""
        self._inserted.setdefault(lineno, []).append(text)

    def append(self, block: list[str]) -> None:
        """Append lines at the end of the text."""
        self._appended.extend(block)

    def line_after_edit(self, lineno: int) -> int:
        """Where an original line stands once the insertions above it are made."""
        return lineno + sum(len(lines) for after, lines in self._inserted.items() if after < lineno)

    @property
    def changed(self) -> bool:
        return bool(self._replaced or self._inserted or self._appended)

    def render(self) -> str:
        out: list[str] = []
        for number, raw in enumerate(self.lines, start=1):
            if number in self._replaced:
                ending = raw[len(raw.rstrip("\r\n")) :]
                raw = self._replaced[number] + ending
            if number in self._inserted and not raw.endswith(("\n", "\r")):
                raw += self.newline  # an insertion after the last line that had no line ending
            out.append(raw)
            out.extend(text + self.newline for text in self._inserted.get(number, []))
        if self._appended:
            if out and not out[-1].endswith(("\n", "\r")):
                out.append(self.newline)
            out.extend(text + self.newline for text in self._appended)
        return "".join(out)


def unified_diff(change: FileChange, *, label: str) -> str:
    before = (change.before or "").splitlines(keepends=True)
    after = change.after.splitlines(keepends=True)
    old = f"a/{label}" if change.before is not None else "/dev/null"
    return "".join(difflib.unified_diff(before, after, fromfile=old, tofile=f"b/{label}"))


def write_changes(changes: list[FileChange]) -> None:
    """Write each file atomically, in order; refuse any file that changed since it was planned."""
    for change in changes:
        current = read_text(change.path) if change.path.exists() else None
        if current != change.before:
            raise WritebackError(
                f"{change.path}: the file changed since recon read it; nothing written to it, "
                "the next write-back plans again"
            )
    for change in changes:
        _replace_atomically(change.path, change.after, mode_like=change.mode_like)


def _replace_atomically(path: Path, text: str, *, mode_like: Path | None = None) -> None:
    folder = path.parent
    model = path if path.exists() else mode_like
    mode = model.stat().st_mode & 0o7777 if model is not None and model.exists() else None
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".recon-tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WritebackError(f"{path}: cannot write the book: {exc.strerror}; the file is unchanged") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - some systems cannot open a folder
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
