"""A dry run reads and checks every source and stores nothing: no store file appears, no run is
recorded, and an existing store is left byte for byte as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.helpers import count, recon, snapshot


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", [["run", "--dry-run"], ["import", "--dry-run"]])
def test_a_dry_run_without_a_store_leaves_no_file(demo: Path, command: list[str]) -> None:
    before = sorted(p.relative_to(demo) for p in demo.rglob("*"))
    result = recon(*command, "--config", demo / "recon.toml")
    assert result.returncode == 0, result.stderr
    assert "144 would be new, 13 already known" in result.stdout  # it read and checked everything
    assert sorted(p.relative_to(demo) for p in demo.rglob("*")) == before


@pytest.mark.parametrize("command", [["run", "--dry-run"], ["import", "--dry-run"]])
def test_a_dry_run_on_a_store_changes_nothing(demo: Path, command: list[str]) -> None:
    config = demo / "recon.toml"
    store = demo / "recon.duckdb"
    assert recon("run", "--config", config).returncode == 0
    (demo / "bank" / "extra.ofx").write_text(
        (demo / "bank").joinpath(sorted(p.name for p in (demo / "bank").glob("*.ofx"))[0]).read_text()
        .replace("<FITID>", "<FITID>X")
    )  # fmt: skip
    before, digest, runs = snapshot(store), _digest(store), count(store, "SELECT count(*) FROM runs")
    result = recon(*command, "--config", config)
    assert result.returncode == 0, result.stderr
    assert "50 would be new, 157 already known" in result.stdout
    assert snapshot(store) == before
    assert count(store, "SELECT count(*) FROM runs") == runs
    assert _digest(store) == digest
    assert not store.with_name(store.name + ".wal").exists()


def test_a_dry_run_on_a_store_of_an_older_schema_reads_a_migrated_copy(demo: Path) -> None:
    import duckdb

    config = demo / "recon.toml"
    store = demo / "recon.duckdb"
    assert recon("run", "--config", config).returncode == 0
    con = duckdb.connect(str(store))
    con.execute("DROP TABLE bank_row_events")
    con.execute("DELETE FROM schema_migrations WHERE version >= 8")
    con.close()
    digest = _digest(store)
    result = recon("run", "--dry-run", "--config", config)
    assert result.returncode == 0, result.stderr
    assert "0 would be new, 157 already known" in result.stdout
    assert _digest(store) == digest
    assert count(store, "SELECT max(version) FROM schema_migrations") == 7


def test_a_dry_run_on_a_store_of_a_newer_recon_is_refused(demo: Path) -> None:
    import duckdb

    config, store = demo / "recon.toml", demo / "recon.duckdb"
    assert recon("run", "--config", config).returncode == 0
    con = duckdb.connect(str(store))
    con.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', now())")
    con.close()
    result = recon("run", "--dry-run", "--config", config)
    assert result.returncode == 1
    assert "schema version 99, newer than this recon knows" in result.stderr
