"""Two processes and one store file: DuckDB lets one open it read-write at a time, so the other waits
(retrying with backoff, `RECON_STORE_WAIT` seconds at most) and then goes on, or says who holds it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from recon.config import load_config
from recon.errors import StoreBusyError
from recon.store import open_store
from tests.helpers import count, recon
from tests.review_server import http_request, server_in_thread

HELD_SECONDS = 6

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("held", flush=True)
time.sleep(float(sys.argv[2])) if sys.argv[2] != "stdin" else sys.stdin.read()
con.close()
"""


@contextmanager
def held(store: Path, seconds: float | None = None) -> Iterator[subprocess.Popen[str]]:
    """Another process holding `store` read-write: for `seconds`, or until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store), "stdin" if seconds is None else str(seconds)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.communicate(timeout=30)


@pytest.fixture
def ran(demo: Path) -> Path:
    config = demo / "recon.toml"
    assert recon("run", "--config", config).returncode == 0
    return config


def test_a_run_waits_for_a_store_held_a_moment_and_succeeds(ran: Path) -> None:
    store = ran.parent / "recon.duckdb"
    with held(store):
        run = subprocess.Popen(
            [sys.executable, "-m", "recon", "run", "--config", str(ran)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(HELD_SECONDS)  # the run starts in 1-2 s and finds the store held for the rest
        assert run.poll() is None, run.communicate()  # still waiting, not failed
    _out, err = run.communicate(timeout=120)
    assert run.returncode == 0, err
    assert count(store, "SELECT count(*) FROM runs WHERE command = 'run' AND status = 'ok'") == 2


def test_a_run_gives_up_after_the_wait_and_names_the_holder(ran: Path) -> None:
    store = ran.parent / "recon.duckdb"
    with held(store) as holder:
        started = time.monotonic()
        result = recon("run", "--config", ran, env={"RECON_STORE_WAIT": "1.5"})
        waited = time.monotonic() - started
    assert result.returncode == 1
    assert "the store is in use by another recon process" in result.stderr
    assert f"process {holder.pid}" in result.stderr
    assert "gave up after waiting 1.5 s" in result.stderr
    assert "RECON_STORE_WAIT" in result.stderr
    assert "Traceback" not in result.stderr
    assert waited >= 1.5
    assert count(store, "SELECT count(*) FROM runs") == 1  # the refused run changed nothing


def test_a_bad_wait_setting_is_a_clear_error(ran: Path) -> None:
    result = recon("run", "--config", ran, env={"RECON_STORE_WAIT": "soon"})
    assert result.returncode == 2
    assert "RECON_STORE_WAIT: 'soon' is not a number of seconds" in result.stderr


def test_open_store_waits_then_raises(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    open_store(path).close()
    with held(path, seconds=1), open_store(path, wait_seconds=30) as store:  # waits for the holder to let go
        assert store.con.execute("SELECT 1").fetchone() == (1,)
    with held(path):
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match=r"gave up after waiting 0\.5 s"):
            open_store(path, wait_seconds=0.5)
        assert time.monotonic() - started >= 0.5


def test_the_review_page_is_rendered_after_the_store_is_closed(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process can open the store while the page is being rendered (and sent)."""
    from recon.review_web import server as review_server

    store = load_config(ran).store_path
    opened_meanwhile: list[int] = []
    render = review_server.render_page

    def render_and_check(*args: object, **kwargs: object) -> str:
        other = subprocess.run(
            [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1]).close()", str(store)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        opened_meanwhile.append(other.returncode)
        return render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(review_server, "render_page", render_and_check)
    with server_in_thread(ran) as (_, server):
        status, _body, _ = http_request(server, "GET", f"/?token={server.token}")
    assert status == 200
    assert opened_meanwhile == [0]
