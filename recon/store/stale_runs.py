"""Runs a killed process left `running`: found when the store is next opened read-write, and marked.

DuckDB lets one process at a time open the file read-write, so a process that has just
opened it knows every other process that logged a run is gone: a run still `running`
is ours (this process may have several stores open on one file) or it was interrupted
(killed, or the machine stopped) before `logged_run` could record its end.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

__all__ = ["INTERRUPTED", "interrupted_since_last_finished", "mark_interrupted_runs", "runs_of_this_process"]

INTERRUPTED = "interrupted"

# run ids this process has started and not yet finished (recon.runlog adds and removes them)
runs_of_this_process: set[str] = set()


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection) -> int:
    """Mark the runs left `running` by processes that are gone; return how many. Needs the write lock."""
    ours = sorted(runs_of_this_process) or [""]
    noticed = datetime.now(UTC).replace(tzinfo=None)
    found = con.execute(
        "UPDATE runs SET status = ?, error = concat_ws(chr(10), error, ?) "
        "WHERE status = 'running' AND NOT list_contains(?, run_id) RETURNING run_id",
        [
            INTERRUPTED,
            f"interrupted: the process ended before the run did (killed, or the machine stopped); "
            f"noticed {noticed:%Y-%m-%d %H:%M:%S} UTC, when the store was next opened",
            ours,
        ],
    ).fetchall()
    return len(found)


def interrupted_since_last_finished(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, datetime]]:
    """(run_id, command, started_at) of the runs interrupted since the last run that finished, oldest first.

    Read with no writer holding the store, a run still `running` was interrupted too (not yet marked)."""
    rows = con.execute(
        "SELECT run_id, command, started_at FROM runs WHERE status IN (?, 'running') "
        "AND started_at >= coalesce((SELECT max(started_at) FROM runs WHERE finished_at IS NOT NULL), "
        "TIMESTAMP '0001-01-01') ORDER BY started_at",
        [INTERRUPTED],
    ).fetchall()
    return [(str(r[0]), str(r[1]), r[2]) for r in rows]
