"""Opening the store file and running work inside one transaction."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from recon.errors import RunError, StoreBusyError
from recon.store.migrations import migrate


class Store:
    """A DuckDB store file, migrated to the latest schema.

    Every change goes through `transaction()`: a batch, a match run or a write-back
    either commits whole or leaves the file as it was (a kill included: DuckDB's
    write-ahead log drops the uncommitted transaction when the file is next opened).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path):
        self.con = con
        self.path = path

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

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: Path, *, read_only: bool = False) -> Store:
    """Open (creating if needed) the store at `path`; refuse clearly when another process holds it."""
    path = Path(path)
    if read_only and not path.exists():
        raise RunError(f"{path}: no store yet; run 'recon import' or 'recon run' first")
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StoreBusyError(
                f"{path}: the store is in use by another recon process; wait for it to finish"
            ) from None
        raise RunError(f"{path}: cannot open the store: {exc}") from None
    except duckdb.Error as exc:
        raise RunError(f"{path}: cannot open the store: {exc}") from None
    if new:
        os.chmod(path, 0o600)  # bank data: readable by its owner only
    if not read_only:
        migrate(con)
    return Store(con, path)
