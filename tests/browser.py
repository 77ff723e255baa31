"""Headless Chromium for tests: the real browser renders the page and gives back its DOM or a screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    return found


def dump_dom(url: str, *, timeout: float = 60) -> str:
    """The DOM of `url` after Chromium loaded and rendered it."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def screenshot(url: str, out: Path, *, width: int = 1280, height: int = 1600) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--screenshot={out}", url],
            capture_output=True,
            timeout=60,
            check=True,
        )  # fmt: skip
    return out
