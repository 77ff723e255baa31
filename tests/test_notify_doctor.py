"""Alerts and health checks: a failed run notifies a webhook (retrying), doctor names what is wrong."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest

from recon.config import NotifySettings
from recon.notify import send, should_notify
from tests.helpers import recon
from tests.redirect_servers import redirect_to_a_recorder


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    failures_left = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Hook.failures_left > 0:
            _Hook.failures_left -= 1
            self.send_response(500)
            self.end_headers()
            return
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[str]:
    _Hook.received = []
    _Hook.failures_left = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook?token=s3cr3t-token"
    server.shutdown()
    server.server_close()


def test_webhook_is_retried_with_backoff_until_it_is_delivered(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_URL", hook)
    _Hook.failures_left = 2
    settings = NotifySettings(webhook_url_env="HOOK_URL", retries=3, backoff_seconds=0.01)
    assert send(settings, {"run_id": "r1"}) == []
    assert _Hook.received == [{"run_id": "r1"}]


def test_undeliverable_webhook_is_a_message_without_the_url(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_URL", hook)
    _Hook.failures_left = 10
    problems = send(NotifySettings(webhook_url_env="HOOK_URL", retries=1, backoff_seconds=0.01), {"x": 1})
    assert problems == ["notify: webhook from HOOK_URL failed: HTTP 500 after 2 attempts"]
    assert "s3cr3t" not in problems[0]


def test_a_webhook_whose_path_is_its_secret_is_named_without_it(hook: str) -> None:
    from recon import http_retry

    _Hook.failures_left = 10
    secret_path = hook.replace("/hook?token=s3cr3t-token", "/services/T000/B000/s3cr3t-path")
    policy = http_retry.RetryPolicy(attempts=2, first_delay=0.01, max_delay=0.01, timeout=2)
    with pytest.raises(http_retry.RetriesExhaustedError) as refused:
        http_retry.send("POST", secret_path, headers={}, body=b"{}", policy=policy, label="POST webhook")
    assert "POST webhook" in str(refused.value)
    assert "s3cr3t" not in str(refused.value)


def test_thresholds() -> None:
    settings = NotifySettings(max_open_exceptions=10, on_failure=False)
    assert should_notify(settings, failed=True, open_exceptions=3) is None
    assert should_notify(settings, failed=False, open_exceptions=11) == "11 exceptions open, more than 10"
    assert should_notify(NotifySettings(), failed=True, open_exceptions=0) == "run failed"


def test_a_run_with_refused_input_notifies_with_its_summary(
    demo: Path, hook: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = demo / "recon.toml"
    config.write_text(config.read_text() + '\n[notify]\nwebhook_url_env = "HOOK_URL"\nbackoff_seconds = 0.01\n')
    (demo / "ledger" / "gl.csv").write_text("id,date,amount,description\nX,2026-13-01,1.00,bad date\n")
    monkeypatch.setenv("HOOK_URL", hook)
    result = recon("run", "--config", config)
    assert result.returncode == 2
    assert len(_Hook.received) == 1
    payload = _Hook.received[0]
    assert payload["reason"] == "run failed"
    assert payload["exit_code"] == 2
    assert payload["refused_files"] == [str(demo / "ledger" / "gl.csv")]
    assert payload["rows_new"] > 0
    assert "s3cr3t" not in result.stdout + result.stderr


def test_doctor_passes_on_the_demo_and_names_what_is_missing(demo: Path) -> None:
    config = demo / "recon.toml"
    ok = recon("doctor", "--config", config)
    assert ok.returncode == 0, ok.stdout
    assert "all checks passed" in ok.stdout
    config.write_text(
        config.read_text()
        + '\n[[sources]]\naccount = "checking"\nformat = "plaid"\naccess_token_env = "NO_SUCH_TOKEN_VAR"\n'
    )
    (demo / "ledger" / "gl.csv").unlink()
    bad = recon("doctor", "--config", config)
    assert bad.returncode == 1
    assert "no file matches 'ledger/gl.csv'" in bad.stdout
    assert "NO_SUCH_TOKEN_VAR" in bad.stdout


_TOKEN = "SUPERSECRETTOKEN"


def _all_bytes(folder: Path) -> bytes:
    """Every file under `folder` (the store, the reports), as bytes."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_a_webhook_url_without_a_scheme_is_a_warning_that_never_shows_the_url(
    demo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = demo / "recon.toml"
    config.write_text(
        config.read_text() + '\n[notify]\nwebhook_url_env = "RECON_WEBHOOK_URL"\nmax_open_exceptions = 0\n'
    )
    monkeypatch.setenv("RECON_WEBHOOK_URL", f"hooks.slack.example/services/T000/B000/{_TOKEN}")
    result = recon("run", "--config", config)
    assert result.returncode == 0, result.stderr
    assert "notify: the webhook URL from RECON_WEBHOOK_URL is not an http(s) URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert _TOKEN not in result.stdout + result.stderr
    assert _TOKEN.encode() not in _all_bytes(demo)  # the store file's bytes and the reports
    status = duckdb.connect(str(demo / "recon.duckdb"), read_only=True)
    try:
        assert status.execute("SELECT status, error FROM runs WHERE command = 'run'").fetchall() == [("ok", None)]
    finally:
        status.close()


@pytest.mark.parametrize(
    "url",
    [
        f"hooks.example/{_TOKEN}",
        f"ftp://hooks.example/{_TOKEN}",
        f"http:///{_TOKEN}",
        f"http://hooks.example:port{_TOKEN}/x",
        f"http://[{_TOKEN}/x",
        f"http://{'a' * 70}.example/{_TOKEN}",  # a host label too long for IDNA: a UnicodeError
    ],
)
def test_no_webhook_url_makes_send_raise_or_say_the_url(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_URL", url)
    problems = send(NotifySettings(webhook_url_env="HOOK_URL", retries=0, timeout_seconds=2), {"x": 1})
    assert len(problems) == 1
    assert problems[0].startswith("notify: ")
    assert "HOOK_URL" in problems[0]
    assert _TOKEN not in problems[0]


def test_a_webhook_that_redirects_is_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    with redirect_to_a_recorder() as redirect:
        monkeypatch.setenv("HOOK_URL", f"{redirect.url}/services/{_TOKEN}")
        problems = send(NotifySettings(webhook_url_env="HOOK_URL", retries=0), {"x": 1})
    assert problems == ["notify: webhook from HOOK_URL failed: HTTP 307, a redirect, not followed"]
    assert redirect.received == []
