"""Telling someone about a run: a webhook POST and/or a command, with the summary as JSON.

Sent when the run failed or refused input (`on_failure`), or when more exceptions
stay open than `max_open_exceptions`. Network errors are retried with exponential
backoff; a notification that cannot be delivered is a warning of the run, never a
reason to lose its results. The webhook URL comes from the environment and is never
printed: messages name the variable instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from recon.config import NotifySettings


def should_notify(settings: NotifySettings, *, failed: bool, open_exceptions: int) -> str | None:
    """Why to notify, or None."""
    if failed and settings.on_failure:
        return "run failed"
    if settings.max_open_exceptions is not None and open_exceptions > settings.max_open_exceptions:
        return f"{open_exceptions} exceptions open, more than {settings.max_open_exceptions}"
    return None


def _post(url: str, body: bytes, settings: NotifySettings) -> None:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": "recon"}
    )
    delay = settings.backoff_seconds
    for attempt in range(settings.retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout_seconds) as response:
                if response.status < 300:
                    return
                error = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if 400 <= exc.code < 500 and exc.code != 429:
                raise RuntimeError(error) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            error = type(exc).__name__
        if attempt < settings.retries:
            time.sleep(delay)
            delay *= 2
    raise RuntimeError(f"{error} after {settings.retries + 1} attempts")


def send(settings: NotifySettings, payload: dict[str, Any]) -> list[str]:
    """Deliver the payload; return the problems (empty when all went out)."""
    body = json.dumps(payload, default=str).encode()
    problems = []
    if settings.webhook_url_env:
        url = os.environ.get(settings.webhook_url_env)
        if not url:
            problems.append(f"notify: environment variable {settings.webhook_url_env} is not set")
        else:
            try:
                _post(url, body, settings)
            except RuntimeError as exc:
                problems.append(f"notify: webhook from {settings.webhook_url_env} failed: {exc}")
    if settings.command:
        try:
            done = subprocess.run(settings.command, input=body, capture_output=True, timeout=settings.timeout_seconds)
            if done.returncode != 0:
                problems.append(f"notify: command {settings.command[0]} exited {done.returncode}")
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"notify: command {settings.command[0]} failed: {type(exc).__name__}")
    return problems
