"""The nightly job as cron runs it: one at a time, logged, quiet unless there is trouble."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.helpers import recon, snapshot
from tests.test_kill import _big_ledger


def _fitids(demo: Path) -> list[str]:
    lines = [line for p in sorted((demo / "bank").glob("*.ofx")) for line in p.read_text().splitlines()]
    return [line for line in lines if line.startswith("<FITID>")]


@pytest.mark.slow
def test_a_second_run_exits_with_the_lock_message_and_changes_nothing(demo: Path, tmp_path: Path) -> None:
    _big_ledger(demo / "ledger" / "zz-big.csv", 150_000)
    config = demo / "recon.toml"
    config.write_text(config.read_text().replace('paths = ["ledger/gl.csv"]', 'paths = ["ledger/*.csv"]'))
    reference = tmp_path / "reference"
    shutil.copytree(demo, reference)
    assert recon("run", "--config", reference / "recon.toml").returncode == 0

    first = subprocess.Popen(
        [sys.executable, "-m", "recon", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert first.stderr is not None
    for line in first.stderr:
        if "importing" in line:
            break
    second = recon("run", "--config", config, env={"RECON_STORE_WAIT": "0.5"})
    _out, _ = first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 1
    assert "in use by another recon process" in second.stderr
    assert "Traceback" not in second.stderr
    assert snapshot(demo / "recon.duckdb") == snapshot(reference / "recon.duckdb")


def test_json_log_lines_and_the_runs_table(demo: Path) -> None:
    result = recon("--log-format", "json", "run", "--config", demo / "recon.toml")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert {e["event"] for e in events} >= {"import.start", "import.done", "match.start", "report.start"}
    assert all({"ts", "level", "message"} <= e.keys() for e in events)
    done = [e for e in events if e["event"] == "import.done"]
    overlap = len(_fitids(demo)) - len(set(_fitids(demo)))
    assert sum(e["rows_new"] for e in done) == sum(e["rows_read"] for e in done) - overlap

    con = duckdb.connect(str(demo / "recon.duckdb"), read_only=True)
    status, started, finished, summary = con.execute(
        "SELECT status, started_at, finished_at, summary FROM runs WHERE command = 'run'"
    ).fetchall()[0]
    con.close()
    assert status == "ok"
    assert finished >= started
    summary = json.loads(summary)
    assert summary["import"]["files"] == 3
    assert len(summary["import"]["inputs"]) == 3
    import hashlib

    for item in summary["import"]["inputs"]:
        assert item["sha256"] == hashlib.sha256(Path(item["file"]).read_bytes()).hexdigest()
    assert summary["match"]["auto"] > 0


def test_what_recon_creates_is_readable_by_its_owner_only(demo: Path, tmp_path: Path) -> None:
    assert recon("run", "--config", demo / "recon.toml").returncode == 0
    export = tmp_path / "matches.csv"
    assert recon("export", "matches", "--config", demo / "recon.toml", "-o", export).returncode == 0
    created = [demo / "recon.duckdb", demo / "out", export, *(demo / "out").iterdir()]
    assert {path.name: oct(path.stat().st_mode & 0o077) for path in created} == {p.name: "0o0" for p in created}


def test_quiet_prints_only_trouble(demo: Path) -> None:
    result = recon("--quiet", "run", "--config", demo / "recon.toml")
    assert result.returncode == 0
    assert result.stderr == ""
    (demo / "ledger" / "gl.csv").write_text("id,date,amount,description\nX,2026-01-01,abc,bad\n")
    result = recon("--quiet", "run", "--config", demo / "recon.toml")
    assert result.returncode == 2
    assert "field 'amount': 'abc' is not an exact amount" in result.stderr
    assert "importing" not in result.stderr


def test_dry_run_reads_everything_and_stores_nothing(demo: Path) -> None:
    result = recon("run", "--config", demo / "recon.toml", "--dry-run")
    assert result.returncode == 0, result.stderr
    ofx = [line for p in sorted((demo / "bank").glob("*.ofx")) for line in p.read_text().splitlines()]
    fitids = [line for line in ofx if line.startswith("<FITID>")]
    book_rows = len((demo / "ledger" / "gl.csv").read_text().splitlines()) - 1
    read, new = len(fitids) + book_rows, len(set(fitids)) + book_rows
    assert new < read  # the two downloads overlap: the dry run counts the overlap as known, as a real run would
    assert f"dry run: {read} rows read, {new} would be new" in result.stdout
    assert not (demo / "recon.duckdb").exists()  # no store file is created either


def test_json_logs_are_json_to_the_last_line_and_quiet_keeps_only_trouble(demo: Path) -> None:
    quiet = recon("--log-format", "json", "--quiet", "run", "--config", demo / "recon.toml")
    assert quiet.returncode == 0, quiet.stderr
    assert [json.loads(line)["level"] for line in quiet.stderr.splitlines()] == []  # a good night: nothing
    failed = recon("--log-format", "json", "match", "--config", demo / "no-such.toml")
    assert failed.returncode == 2
    (event,) = [json.loads(line) for line in failed.stderr.splitlines()]
    assert (event["level"], event["event"], event["exit_code"]) == ("error", "command.failed", 2)
    assert "no-such.toml" in event["message"]
