"""What travels to Plaid's host and how long recon waits for it, against real local servers and the real
plaid-python client: a redirect is an error and nothing reaches the host it names; a host that accepts and
never answers costs `timeout` per attempt, each retry a warning, and the message says so."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recon.config import Config, load_config
from recon.plaid import sync_plaid_sources
from recon.plaid.client import RetryPolicy
from recon.store import open_store
from tests.helpers import recon
from tests.plaid_server import CLIENT_ID, SECRET
from tests.plaid_setup import MAIN_ENV, TOKEN_MAIN, cursor_of, plaid_env, stored
from tests.redirect_servers import redirect_to_a_recorder


def _config(folder: Path, host: str) -> Config:
    path = folder / "recon.toml"
    path.write_text(
        '[store]\npath = "recon.duckdb"\n\n[[accounts]]\nid = "checking"\ncurrency = "USD"\n\n'
        f'[[sources]]\naccount = "checking"\nformat = "plaid"\naccess_token_env = "{MAIN_ENV}"\nhost = "{host}"\n',
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture
def silent_host() -> Iterator[tuple[str, list[socket.socket]]]:
    """A host that accepts every connection and never answers; the list holds the connections it accepted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(50)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return  # closed

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", accepted
    listener.close()
    for connection in accepted:
        connection.close()


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_an_error_and_nothing_reaches_the_host_it_names(tmp_path: Path, status: int) -> None:
    warnings: list[str] = []
    with redirect_to_a_recorder(status) as redirect:
        config = _config(tmp_path, redirect.url)
        with open_store(config.store_path) as store:
            reports = sync_plaid_sources(
                store, config, run_id="r", environ=plaid_env(), retry=RetryPolicy(attempts=3, first_delay=0.001),
                warn=warnings.append,
            )  # fmt: skip
            assert stored(store) == []
            assert cursor_of(store) is None
    assert redirect.received == []  # neither the keys nor the token nor the body went there
    report = reports[0]
    assert report.error_code == "REDIRECT"
    assert report.error == (
        f"Plaid at {redirect.url} answered HTTP {status}, a redirect to http://localhost, not followed "
        "(the credentials go with every request): check the source's host or environment"
    )
    assert warnings == [f"  failed: {report.error}"]  # a redirect is not retried


def test_a_host_that_never_answers_costs_the_timeout_per_attempt_with_a_warning_per_retry(
    tmp_path: Path, silent_host: tuple[str, list[socket.socket]]
) -> None:
    host, accepted = silent_host
    config = _config(tmp_path, host)
    progress: list[str] = []
    warnings: list[str] = []
    started = time.monotonic()
    with open_store(config.store_path) as store:
        reports = sync_plaid_sources(
            store, config, run_id="r", environ=plaid_env(),
            retry=RetryPolicy(attempts=3, first_delay=0.01, max_delay=0.01, timeout=0.3),
            progress=progress.append, warn=warnings.append,
        )  # fmt: skip
    assert time.monotonic() - started < 10  # not 120 s per attempt
    assert len(accepted) == 3  # one connection per attempt: urllib3 retries nothing behind recon's back
    report = reports[0]
    assert report.error_code == "TIMEOUT"
    assert report.error == f"Plaid at {host} did not answer within 0.3 s (after 3 attempts)"
    assert warnings == [
        f"Plaid at {host}: no answer within 0.3 s; retrying in 0.01 s (attempt 2 of 3)",
        f"Plaid at {host}: no answer within 0.3 s; retrying in 0.01 s (attempt 3 of 3)",
        f"  failed: {report.error}",
    ]
    assert not any("failed" in line for line in progress)


@pytest.mark.slow
def test_recon_sync_takes_its_timeout_from_the_environment_and_warns(
    tmp_path: Path, silent_host: tuple[str, list[socket.socket]], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, _ = silent_host
    _config(tmp_path, host)
    patience = {"RECON_PLAID_TIMEOUT": "0.3", "RECON_PLAID_RETRY_ATTEMPTS": "2", "RECON_PLAID_RETRY_DELAY": "0.01"}
    for name, value in {**plaid_env(), **patience}.items():
        monkeypatch.setenv(name, value)
    result = recon("--log-format", "json", "sync", "--config", tmp_path / "recon.toml", timeout=60)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    said = [(line["level"], line["message"]) for line in lines if line["event"] == "plaid.sync"]
    error = f"Plaid at {host} did not answer within 0.3 s (after 2 attempts)"
    assert ("warning", f"Plaid at {host}: no answer within 0.3 s; retrying in 0.01 s (attempt 2 of 2)") in said
    assert ("warning", f"  failed: {error}") in said
    assert f"{MAIN_ENV}: FAILED (TIMEOUT): {error}" in result.stdout
    for secret in (CLIENT_ID, SECRET, TOKEN_MAIN):
        assert secret not in result.stdout + result.stderr
