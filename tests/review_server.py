"""Helpers for the review server tests: start `recon review` for real, talk HTTP to it with any headers."""

from __future__ import annotations

import http.client
import re
import select
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from recon.config import load_config
from recon.review_web.server import ReviewServer, make_server
from tests.browser import FLAGS, chromium


@dataclass(frozen=True, slots=True)
class Running:
    host: str
    port: int
    token: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/?token={self.token}"


def http_request(
    server: Running, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes | None = None
) -> tuple[int, str, dict[str, str]]:
    """One request with exactly these headers (Host included when given): status, body, response headers."""
    con = http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        con.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
        all_headers = {"Content-Length": str(len(body or b""))} | (headers or {})
        for key, value in all_headers.items():
            con.putheader(key, value)
        con.endheaders(body)
        response = con.getresponse()
        return response.status, response.read().decode(), dict(response.getheaders())
    finally:
        con.close()


@contextmanager
def server_in_thread(config: Path, *, by: str = "ana") -> Iterator[tuple[ReviewServer, Running]]:
    """The review server of `config` on a free loopback port, in a thread of this process; stopped at the end."""
    server = make_server(load_config(config).store_path, host="127.0.0.1", port=0, by=by)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, Running("127.0.0.1", server.port, server.token)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def review_process(config: Path, log: Path, *, by: str = "ana") -> Iterator[tuple[subprocess.Popen[str], Running]]:
    """`recon review --port 0` as a real process; yields it and the address it printed. Terminated at the end."""
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "recon", "review", "--config", str(config), "--port", "0", "--by", by],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 90)
            assert ready, f"recon review printed nothing within 90 s: {log.read_text()}"
            line = proc.stdout.readline()
            found = re.search(r"http://([\d.]+):(\d+)/\?token=(\S+)", line)
            assert found, f"no address in {line!r}; stderr: {log.read_text()}"
            yield proc, Running(found[1], int(found[2]), found[3])
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


@contextmanager
def chromium_driver(profile: Path) -> Iterator[Any]:
    """Headless Debian Chromium driven by Selenium through Debian's chromedriver; skips when either is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install '.[test]')")
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    if not driver_path:
        pytest.skip("Debian's chromium-driver is not installed (.ci/run installs it)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium()
    for flag in [*FLAGS, f"--user-data-dir={profile}", "--window-size=1280,1600"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(30)
        yield driver
    finally:
        driver.quit()
