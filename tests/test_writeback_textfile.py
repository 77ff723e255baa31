"""Editing book text: only the lines asked for change, line endings stay, files are replaced whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recon.writeback.base import FileChange, WritebackError
from recon.writeback.textfile import LineEdits, unified_diff, write_changes


def test_edits_keep_every_other_byte_and_the_files_line_endings() -> None:
    text = "2024-01-01 ! a\r\n  Assets:Bank  1 USD\r\n  Income:X\r\n"
    edits = LineEdits(text)
    edits.replace(1, edits.line(1).replace("!", "*"))
    edits.insert_after(2, '    bank-id: "X"')
    edits.append(["", 'include "recon.beancount"'])
    assert edits.render() == (
        '2024-01-01 * a\r\n  Assets:Bank  1 USD\r\n    bank-id: "X"\r\n  Income:X\r\n\r\ninclude "recon.beancount"\r\n'
    )
    assert edits.line_after_edit(3) == 4


def test_a_last_line_without_line_ending_gets_one_before_what_follows() -> None:
    edits = LineEdits("a\nb")
    edits.insert_after(2, "c")
    assert edits.render() == "a\nb\nc\n"
    untouched = LineEdits("a\nb")
    assert untouched.render() == "a\nb"
    assert not untouched.changed


def test_diff_of_a_new_file_is_against_dev_null() -> None:
    diff = unified_diff(FileChange(Path("x"), None, "one\n"), label="books/recon.journal")
    assert diff.startswith("--- /dev/null\n+++ b/books/recon.journal\n")


def test_write_refuses_a_file_changed_since_it_was_planned(tmp_path: Path) -> None:
    book = tmp_path / "main.journal"
    book.write_text("old\n")
    change = FileChange(book, "old\n", "new\n")
    book.write_text("edited by hand meanwhile\n")
    with pytest.raises(WritebackError, match="changed since recon read it"):
        write_changes([change])
    assert book.read_text() == "edited by hand meanwhile\n"


def test_replace_keeps_the_books_permissions_and_new_files_take_them(tmp_path: Path) -> None:
    book = tmp_path / "main.journal"
    book.write_text("old\n")
    os.chmod(book, 0o640)
    recon_file = tmp_path / "recon.journal"
    write_changes([FileChange(recon_file, None, "new\n", mode_like=book), FileChange(book, "old\n", "new\n")])
    assert (book.stat().st_mode & 0o777, recon_file.stat().st_mode & 0o777) == (0o640, 0o640)
    assert book.read_text() == recon_file.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.journal", "recon.journal"]
