"""Kill `recon run` in the middle of an import: the store keeps whole batches only, and a rerun
ends exactly where an uninterrupted run ends."""

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import count, recon, snapshot

BIG_ROWS = 120_000


def _big_ledger(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with path.open("w") as fh:
        fh.write("id,date,amount,description,counterparty,reference,account\n")
        for i in range(rows):
            cents = rng.randint(-500_000, 500_000)
            fh.write(f"B{i},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{cents / 100:.2f},"
                     f"Entry {i},Vendor {i % 97},,Assets:Bank:Checking\n")  # fmt: skip


@pytest.fixture
def big_demo(demo: Path) -> Path:
    big = demo / "ledger" / "zz-big.csv"  # sorted after gl.csv: imported last
    _big_ledger(big, BIG_ROWS)
    config = demo / "recon.toml"
    config.write_text(config.read_text().replace('paths = ["ledger/gl.csv"]', 'paths = ["ledger/*.csv"]'))
    return demo


def _start_and_kill_during_big_import(config: Path, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "recon", "run", "--config", str(config)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "zz-big.csv" in line:
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_kill_midway_then_rerun_equals_an_uninterrupted_run(big_demo: Path, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    shutil.copytree(big_demo, reference)
    assert recon("run", "--config", reference / "recon.toml").returncode == 0

    config = big_demo / "recon.toml"
    store = big_demo / "recon.duckdb"
    small_ledger_rows = count(reference / "recon.duckdb", "SELECT count(*) FROM ledger_entries") - BIG_ROWS
    for delay in (0.2, 0.6, 1.0):
        _start_and_kill_during_big_import(config, delay)
        if not store.exists():
            continue
        # whole batches only: the big file is either entirely in the store or not at all
        stored = count(store, "SELECT count(*) FROM ledger_entries")
        assert stored in (small_ledger_rows, small_ledger_rows + BIG_ROWS)
        assert count(store, "SELECT count(*) FROM ledger_entries WHERE external_id LIKE 'B%'") in (0, BIG_ROWS)

    result = recon("run", "--config", config)
    assert result.returncode == 0, result.stderr
    assert snapshot(store) == snapshot(reference / "recon.duckdb")
