"""Errors recon reports to its users, each one knowing where it happened.

The tree::

    ReconError                      anything recon reports instead of a traceback
     +-- UserError                  the user can fix it; exit code 2
     |    +-- ConfigError           a key of the config file is missing, unknown or invalid
     |    +-- InputError            a bank or ledger file cannot be read; carries path, line, field
     +-- RunError                   something failed while running; exit code 1
          +-- StoreBusyError        another process held the store longer than RECON_STORE_WAIT

Data problems inside a file are first collected as `Problem` values (one per bad
row or field, like beancount's error tuples) so that a batch reports all of them
at once; the importer layer then refuses the whole file with one `InputError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ConfigError",
    "InputError",
    "Problem",
    "ReconError",
    "RunError",
    "StoreBusyError",
    "UserError",
    "redact",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, with where it is.

    Attributes:
      path: the file it was found in.
      line: 1-based line number, or None where the format has no lines (XML: see `element`).
      field: the column, tag or key that holds the bad value, if known.
      message: what is wrong, in plain words, quoting the bad value.
      element: for XML formats, the path of the element (e.g. "Stmt[1]/Ntry[3]/Amt").
    """

    path: str
    line: int | None
    field: str | None
    message: str
    element: str | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.element:
            where += f": {self.element}"
        if self.field:
            return f"{where}: field '{self.field}': {self.message}"
        return f"{where}: {self.message}"


class ReconError(Exception):
    """Something recon reports to the user as a message, never a traceback."""

    exit_code = 1


class UserError(ReconError):
    """A mistake in what the user gave recon; fixing the input fixes it."""

    exit_code = 2


class ConfigError(UserError):
    """The configuration file is invalid."""


class InputError(UserError):
    """An input file cannot be imported; nothing of it was stored."""

    def __init__(self, problems: Sequence[Problem] | str, *, path: str | Path | None = None):
        if isinstance(problems, str):
            problems = [Problem(str(path) if path else "?", None, None, problems)]
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:20]]
        if len(self.problems) > 20:
            shown.append(f"... and {len(self.problems) - 20} more problems")
        super().__init__("\n".join(shown))


class RunError(ReconError):
    """A failure while running that is not the input's fault."""


class StoreBusyError(RunError):
    """The store file is in use by another recon process."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value (a token, a client secret) replaced by '***', for messages and logs."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
