"""`recon sync` as a real process against the local Plaid: a kill between two pages loses and doubles
nothing, exit codes name what to fix, and no secret ever appears in what recon writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.plaid_server import SECRET, PlaidServer
from tests.plaid_setup import (
    MAIN_ENV,
    OTHER_ENV,
    TOKEN_MAIN,
    TOKEN_OTHER,
    cursor_of,
    main_bank,
    other_bank,
    plaid_env,
    stored,
    truth,
    write_config,
)

pytestmark = pytest.mark.slow


class Site:
    def __init__(self, folder: Path):
        self.main = main_bank()
        self.other = other_bank()
        self.server = PlaidServer([self.main, self.other], page_size=4)
        self.config = write_config(folder, self.server, other=True)
        self.store = folder / "recon.duckdb"
        self.env = {**os.environ, **plaid_env(other=True), "RECON_PLAID_RETRY_DELAY": "0.001"}

    def command(self) -> list[str]:
        return [sys.executable, "-m", "recon", "sync", "--config", str(self.config)]

    def sync(self, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(), env=env or self.env, capture_output=True, text=True, timeout=120, check=False
        )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path)
    yield s
    s.server.close()


def test_a_kill_between_two_pages_loses_nothing_and_doubles_nothing(site: Site) -> None:
    site.main.new_day(new=6)
    site.other.new_day(new=3)
    first = site.sync()
    assert first.returncode == 0, first.stderr
    before = stored(site.store)
    cursor = cursor_of(site.store)
    assert before == truth(site.main, site.other)
    assert cursor

    site.main.new_day(new=12)  # several pages now
    pending = site.main.add(pending=True, amount=Decimal("30.00"))
    site.main.post(pending, tip=Decimal("4.50"))
    gate = threading.Event()
    blocked = site.server.fail(token=site.main.access_token, page=2, block=gate)
    proc = subprocess.Popen(site.command(), env=site.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert blocked.reached.wait(timeout=60), "the client never asked for page 2"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        gate.set()
    assert cursor_of(site.store) == cursor
    assert stored(site.store) == before

    second = site.sync()
    assert second.returncode == 0, second.stderr
    after = stored(site.store)
    assert after == truth(site.main, site.other)
    assert len({row[1] for row in after}) == len(after)
    assert pending not in {row[1] for row in after}


def test_a_missing_variable_exits_2_naming_it(site: Site) -> None:
    env = dict(site.env)
    del env["PLAID_SECRET"]
    result = site.sync(env)
    assert result.returncode == 2
    assert "environment variable PLAID_SECRET is not set" in result.stdout + result.stderr
    env = {**site.env, "PLAID_SECRET": SECRET}
    del env[OTHER_ENV]
    result = site.sync(env)
    assert result.returncode == 2
    assert f"environment variable {OTHER_ENV}" in result.stdout + result.stderr
    assert f"{MAIN_ENV}: " in result.stdout  # the main Item was synced all the same


def test_failures_are_summarised_per_item(site: Site) -> None:
    site.main.new_day(new=4)
    site.server.fail(token=TOKEN_OTHER, status=400, error_type="ITEM_ERROR", error_code="ITEM_LOGIN_REQUIRED",
                     message="the login details of this item have changed")  # fmt: skip
    result = site.sync()
    assert result.returncode == 2
    assert f"{OTHER_ENV}: FAILED (ITEM_LOGIN_REQUIRED)" in result.stdout
    assert "Plaid Link in update mode" in result.stderr
    site.server.fail(token=TOKEN_OTHER, status=500, times=20)
    result = site.sync()
    assert result.returncode == 1
    assert "failed 5 attempts" in result.stdout


def _store_text(store: Path) -> str:
    """Every value of every table of the store, as text."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(str(con.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)
    finally:
        con.close()


def test_no_secret_appears_in_output_logs_or_the_store(site: Site) -> None:
    site.main.new_day(new=5)
    site.other.new_day(new=5)
    outputs = [site.sync()]
    echo = f"token {TOKEN_OTHER} and secret {SECRET} and id {TOKEN_MAIN} are not valid"
    site.server.fail(token=TOKEN_OTHER, status=400, error_type="INVALID_INPUT", error_code="INVALID_ACCESS_TOKEN",
                     message=echo)  # fmt: skip
    site.server.fail(token=TOKEN_MAIN, status=500, times=20, message=echo)
    outputs.append(site.sync())
    site.server.fail(token=TOKEN_OTHER, status=429, error_type="RATE_LIMIT_EXCEEDED", error_code="RATE_LIMIT",
                     times=20, message=echo)  # fmt: skip
    site.server.fail(token=TOKEN_MAIN, drop_field="has_more")
    outputs.append(site.sync())
    outputs.append(site.sync({**site.env, "PLAID_SECRET": ""}))
    text = "\n".join(o.stdout + o.stderr for o in outputs) + _store_text(site.store)
    assert "***" in text  # the echoes were there, redacted
    for secret in (TOKEN_MAIN, TOKEN_OTHER, SECRET):
        assert secret not in text


def test_the_nightly_run_pulls_plaid_and_a_failing_item_does_not_stop_the_rest(site: Site) -> None:
    site.main.new_day(new=5)
    site.other.new_day(new=2)
    env = {**site.env}
    del env[OTHER_ENV]  # the second Item's token is missing: that Item fails, the first is stored
    result = subprocess.run(
        [sys.executable, "-m", "recon", "run", "--config", str(site.config)],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr  # as `recon sync` exits: the user sets the variable
    assert OTHER_ENV in result.stdout + result.stderr
    assert "failed:" in result.stdout
    assert "plaid" in result.stdout
    assert stored(site.store) == truth(site.main)
    assert (site.config.parent / "out" / "exceptions.html").exists()  # the run went on to the report
    con = duckdb.connect(str(site.store), read_only=True)
    summary = con.execute("SELECT summary FROM runs WHERE command = 'run'").fetchall()[0][0]
    con.close()
    assert '"plaid_cursors"' in summary
    assert cursor_of(site.store) in summary
    for secret in (TOKEN_MAIN, TOKEN_OTHER, SECRET):
        assert secret not in result.stdout + result.stderr


def test_doctor_reaches_plaid_and_names_an_invalid_token(site: Site) -> None:
    site.main.new_day(new=2)
    command = [sys.executable, "-m", "recon", "doctor", "--config", str(site.config)]
    good = subprocess.run(command, env=site.env, capture_output=True, text=True, timeout=120, check=False)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "access token is valid" in good.stdout
    bad_env = {**site.env, OTHER_ENV: "access-sandbox-not-a-real-token"}
    bad = subprocess.run(command, env=bad_env, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 1
    assert f"PROBLEM  plaid Item {OTHER_ENV}" in bad.stdout
    assert "INVALID_ACCESS_TOKEN" in bad.stdout or "access token is invalid" in bad.stdout
    assert "access-sandbox-not-a-real-token" not in bad.stdout + bad.stderr
    assert SECRET not in bad.stdout + bad.stderr
    # doctor reads only: no cursor moved, no row stored
    assert not site.store.exists()
