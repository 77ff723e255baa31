"""A run killed midway cannot record its end: the next process to open the store read-write (the
lock proves the killer's victim is gone) marks it `interrupted`, and `recon doctor` warns about it
until a run finishes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import recon
from tests.test_kill import _big_ledger


def _runs(store: Path) -> list[tuple[str, str, bool, str | None]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT command, status, finished_at IS NULL, error FROM runs ORDER BY started_at")
        return [(str(c), str(s), bool(n), e) for c, s, n, e in rows.fetchall()]
    finally:
        con.close()


def _kill_a_run_while_it_imports(config: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "recon", "run", "--config", str(config)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if "zz-big.csv" in line:  # the run is recorded as running by now, and busy for seconds more
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_a_killed_run_is_marked_interrupted_and_doctor_warns_until_a_run_finishes(demo: Path) -> None:
    config = demo / "recon.toml"
    store = demo / "recon.duckdb"
    assert recon("run", "--config", config).returncode == 0
    _big_ledger(demo / "ledger" / "zz-big.csv", 60_000)
    config.write_text(config.read_text().replace('paths = ["ledger/gl.csv"]', 'paths = ["ledger/*.csv"]'))

    _kill_a_run_while_it_imports(config)
    assert _runs(store)[-1][:3] == ("run", "running", True)  # what the killed process left
    doctor = recon("doctor", "--config", config)
    assert doctor.returncode == 0, doctor.stdout  # a warning, not a problem
    assert "WARNING  runs: 1 run(s) interrupted (killed?) since the last run that finished: 'run' started" in (
        doctor.stdout
    )
    assert "all checks passed" not in doctor.stdout
    assert "no problems, 1 warning(s)" in doctor.stdout

    assert recon("report", "--config", config).returncode == 0  # any read-write open notices it
    command, status, unfinished, error = _runs(store)[-1]
    assert (command, status, unfinished) == ("run", "interrupted", True)
    assert error is not None
    assert error.startswith("interrupted: the process ended before the run did")
    assert "1 run(s) interrupted" in recon("doctor", "--config", config).stdout

    assert recon("run", "--config", config).returncode == 0
    assert [status for _, status, _, _ in _runs(store)] == ["ok", "interrupted", "ok"]
    assert "all checks passed" in recon("doctor", "--config", config).stdout


def test_a_run_of_this_process_is_not_taken_for_an_interrupted_one(tmp_path: Path) -> None:
    """This process may open the store again while its own run is going (DuckDB shares the file within it)."""
    from recon.runlog import logged_run
    from recon.store import open_store

    path = tmp_path / "s.duckdb"
    with open_store(path) as store, logged_run(store, "run") as run:
        with open_store(path) as again:
            status = again.con.execute("SELECT status FROM runs WHERE run_id = ?", [run.run_id]).fetchone()
        assert status == ("running",)
    assert _runs(path) == [("run", "ok", False, None)]
