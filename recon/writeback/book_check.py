"""After a text sink writes, the book's own tool reads it; what the tool refuses is put back.

recon's readers of beancount and journal files are careful, but the user's tool
(bean-check, hledger, ledger) is the judge of the book. A sink writes, asks the
tool, and when the tool refuses the result, `put_back` restores every file of the
plan as it was (atomically, through `recon.writeback.textfile`) and removes the
files the plan created, so nothing is ever half-written; `refused` is then the
`BookError` to raise, with the tool's own words.

This module never decides what to write, and never runs a tool that is not there:
`journal_checker` says which one is installed, or none.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from recon.writeback.base import BookError, FileChange, WritePlan
from recon.writeback.textfile import write_changes

__all__ = ["UNCHECKED_NOTE", "journal_check", "journal_checker", "put_back", "refused"]

UNCHECKED_NOTE = "neither hledger nor ledger is installed: the journal is written without checking it with them"
_TIMEOUT_SECONDS = 120
_SHOWN_LINES = 8


def put_back(plan: WritePlan) -> None:
    """Undo an applied plan: the files it changed get their old text back, the files it created go."""
    write_changes([FileChange(c.path, c.after, c.before) for c in plan.file_changes if c.before is not None])
    for change in plan.file_changes:
        if change.before is None:
            change.path.unlink(missing_ok=True)


def refused(book: Path, *, tool: str, message: str) -> BookError:
    """The error for a book its tool refused once written (raise it after `put_back`)."""
    return BookError(f"{book}: {tool} refused the book as recon would write it, so nothing was written: {message}")


def journal_checker() -> list[str] | None:
    """The command that checks a journal (parse, balance, assertions), the journal's path to be appended; or None.

    `hledger check` runs its default checks (parseable, balanced, balance assertions);
    ledger has no `check`, but `ledger bal` fails on an unbalanced entry or a false assertion.
    """
    if hledger := shutil.which("hledger"):
        return [hledger, "check", "-f"]
    if ledger := shutil.which("ledger"):
        return [ledger, "bal", "-f"]
    return None


def journal_check(command: Sequence[str], journal: Path) -> str | None:
    """The tool's complaint about the journal (its first lines), or None when it accepts it."""
    try:
        done = subprocess.run(
            [*command, str(journal)], capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return f"{Path(command[0]).name} did not answer within {_TIMEOUT_SECONDS} s"
    except OSError as exc:
        return f"{Path(command[0]).name} could not be run: {exc.strerror}"
    if done.returncode == 0:
        return None
    lines = [line.rstrip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return " | ".join(lines[:_SHOWN_LINES]) or f"exit status {done.returncode}"
