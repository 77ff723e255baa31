"""The `runs` table: a log of every command that changed the store (start, end, counts, errors)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from recon.config import Config
from recon.errors import ReconError, UserError
from recon.store import Store
from recon.store.stale_runs import runs_of_this_process


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class RunLog:
    """One run: its id, and the counts it gathers for the summary."""

    def __init__(self, run_id: str, command: str):
        self.run_id = run_id
        self.command = command
        self.summary: dict[str, Any] = {}
        self.status = "ok"
        self.error: str | None = None

    def failed(self, status: str, error: str) -> None:
        """Mark the run as failed without raising: a nightly run goes on after one source fails."""
        if self.status == "ok" or status == "failed":
            self.status = status
        self.error = error if self.error is None else f"{self.error}\n{error}"


@contextmanager
def logged_run(store: Store, command: str) -> Iterator[RunLog]:
    """Record the run's start, then its end with status and summary, whatever happens."""
    run = RunLog(uuid.uuid4().hex, command)
    runs_of_this_process.add(run.run_id)  # not "interrupted" when this process opens the store again meanwhile
    store.con.execute(
        "INSERT INTO runs (run_id, command, started_at, status) VALUES (?, ?, ?, 'running')",
        [run.run_id, command, _now()],
    )
    try:
        yield run
    except UserError as exc:
        run.failed("input_error", str(exc))
        raise
    except ReconError as exc:
        run.failed("failed", str(exc))
        raise
    except BaseException as exc:
        run.failed("failed", f"{type(exc).__name__}: {exc}")
        raise
    finally:
        try:
            store.con.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ?, error = ? WHERE run_id = ?",
                [_now(), run.status, json.dumps(run.summary, default=str), run.error, run.run_id],
            )
        finally:
            runs_of_this_process.discard(run.run_id)


@contextmanager
def unlogged_run(command: str) -> Iterator[RunLog]:
    """A run that gathers its counts like `logged_run` but records nothing: a dry run stores nothing."""
    yield RunLog(uuid.uuid4().hex, command)


def sync_accounts(store: Store, config: Config) -> None:
    """Make the `accounts` table say what the config says."""
    with store.transaction() as con:
        for account in config.accounts:
            con.execute(
                "INSERT INTO accounts VALUES (?, ?, ?) ON CONFLICT (account_id) DO UPDATE "
                "SET currency = excluded.currency, ledger_account = excluded.ledger_account",
                [account.id, account.currency, account.ledger_account],
            )
