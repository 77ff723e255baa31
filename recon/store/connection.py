"""Opening the store file and running work inside one transaction."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from recon.errors import RunError, StoreBusyError, UserError
from recon.store.migrations import LATEST_VERSION, current_version, migrate
from recon.store.stale_runs import mark_interrupted_runs

WAIT_VARIABLE = "RECON_STORE_WAIT"
DEFAULT_WAIT_SECONDS = 60.0
FIRST_RETRY_DELAY = 0.05
MAX_RETRY_DELAY = 2.0


class Store:
    """A DuckDB store file, migrated to the latest schema.

    Every change goes through `transaction()`: a batch, a match run or a write-back
    either commits whole or leaves the file as it was (a kill included: DuckDB's
    write-ahead log drops the uncommitted transaction when the file is next opened).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, *, on_close: Callable[[], None] | None = None):
        self.con = con
        self.path = path
        self._on_close = on_close

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def query(self, sql: str, params: list[object] | None = None) -> pl.DataFrame:
        """Run a query and return its result as a Polars frame (via Arrow, no copy per row)."""
        relation = self.con.sql(sql, params=params) if params else self.con.sql(sql)
        table = relation.to_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame

    def close(self) -> None:
        self.con.close()
        if self._on_close is not None:
            self._on_close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_wait_seconds() -> float:
    """How long a process waits for a store another process holds: `RECON_STORE_WAIT` seconds, default 60."""
    text = os.environ.get(WAIT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise UserError(f"environment variable {WAIT_VARIABLE}: {text!r} is not a number of seconds (0 or more)")
    return seconds


def _holder(message: str) -> str:
    """Who holds the lock, as DuckDB says it: "process 4242, python3.11"."""
    found = re.search(r"lock is held in (\S+) \(PID (\d+)\)", message)
    return f"process {found.group(2)}, {Path(found.group(1)).name}: " if found else ""


def _connect(path: Path, *, read_only: bool, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """Connect, retrying with exponential backoff while another process holds the file, up to `wait_seconds`."""
    started = time.monotonic()
    delay = FIRST_RETRY_DELAY
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise RunError(f"{path}: cannot open the store: {exc}") from None
            waited = time.monotonic() - started
            if waited >= wait_seconds:
                raise StoreBusyError(
                    f"{path}: the store is in use by another recon process ({_holder(str(exc))}a run, "
                    f"the review page, an import?); gave up after waiting {waited:.1f} s "
                    f"(set {WAIT_VARIABLE} to wait longer)"
                ) from None
            time.sleep(min(delay, wait_seconds - waited))
            delay = min(delay * 2, MAX_RETRY_DELAY)
        except duckdb.Error as exc:
            raise RunError(f"{path}: cannot open the store: {exc}") from None


def open_store(path: Path, *, read_only: bool = False, wait_seconds: float | None = None) -> Store:
    """Open (creating if needed) the store at `path`.

    While another process holds the file, wait for it (retrying with exponential backoff) up to `wait_seconds`
    (default: `store_wait_seconds()`), then refuse with StoreBusyError. Opened read-write, the store is migrated
    and the runs killed processes left `running` are marked interrupted.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise RunError(f"{path}: no store yet; run 'recon import' or 'recon run' first")
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    wait = store_wait_seconds() if wait_seconds is None else wait_seconds
    con = _connect(path, read_only=read_only, wait_seconds=wait)
    if new:
        os.chmod(path, 0o600)  # bank data: readable by its owner only
    if not read_only:
        migrate(con)
        mark_interrupted_runs(con)
    return Store(con, path)


def open_dry_run_store(path: Path, *, wait_seconds: float | None = None) -> Store:
    """A store to read what a dry run needs, that leaves nothing behind: `path` itself read-only; an empty
    store in memory when there is no file yet; a migrated temporary copy when the file's schema is older."""
    path = Path(path)
    if not path.exists():
        con = duckdb.connect(":memory:")
        migrate(con)
        return Store(con, path)
    wait = store_wait_seconds() if wait_seconds is None else wait_seconds
    con = _connect(path, read_only=True, wait_seconds=wait)
    version = current_version(con)
    if version > LATEST_VERSION:
        con.close()
        raise RunError(
            f"the store has schema version {version}, newer than this recon knows ({LATEST_VERSION}); upgrade recon"
        )
    if version == LATEST_VERSION:
        return Store(con, path)
    folder = Path(tempfile.mkdtemp(prefix="recon-dry-run-"))
    try:
        copy = folder / path.name
        # the read-only connection keeps writers out while the file and its write-ahead log are copied
        for part in (path, path.with_name(path.name + ".wal")):
            if part.exists():
                shutil.copyfile(part, folder / part.name)
        con.close()
        con = duckdb.connect(str(copy))
        migrate(con)
    except BaseException:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Store(con, path, on_close=lambda: shutil.rmtree(folder, ignore_errors=True))
