"""Telling someone about a run: a webhook POST and/or a command, with the summary as JSON.

Sent when the run failed or refused input (`on_failure`), or when more exceptions
stay open than `max_open_exceptions`. Network errors are retried with exponential
backoff; a notification that cannot be delivered is a warning of the run, never a
reason to lose its results: `send` never raises. The webhook URL comes from the
environment and is never printed, nor any exception text that might quote it:
messages name the variable instead. Redirects are not followed (the URL's token
must not travel to another host).
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any
from urllib.parse import urlsplit

from recon import http_retry
from recon.config import NotifySettings
from recon.http_retry import RetryPolicy


def should_notify(settings: NotifySettings, *, failed: bool, open_exceptions: int) -> str | None:
    """Why to notify, or None."""
    if failed and settings.on_failure:
        return "run failed"
    if settings.max_open_exceptions is not None and open_exceptions > settings.max_open_exceptions:
        return f"{open_exceptions} exceptions open, more than {settings.max_open_exceptions}"
    return None


def _post(url: str, body: bytes, settings: NotifySettings) -> None:
    policy = RetryPolicy(
        attempts=settings.retries + 1, first_delay=settings.backoff_seconds,
        max_delay=max(60.0, settings.backoff_seconds), timeout=settings.timeout_seconds,
    )  # fmt: skip
    headers = {"Content-Type": "application/json", "User-Agent": "recon"}
    try:
        answer = http_retry.send("POST", url, headers=headers, body=body, policy=policy, label="POST webhook")
    except http_retry.RetriesExhaustedError as exc:
        # the webhook's address is a secret (its path often is the token): say only what went wrong
        what = f"HTTP {exc.status}" if exc.status else "no answer"
        raise RuntimeError(f"{what} after {policy.attempts} attempts") from None
    if 300 <= answer.status < 400:
        raise RuntimeError(f"HTTP {answer.status}, a redirect, not followed")
    if answer.status >= 300:
        raise RuntimeError(f"HTTP {answer.status}")


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed port or IPv6 address
        return False


def send(settings: NotifySettings, payload: dict[str, Any]) -> list[str]:
    """Deliver the payload; return the problems (empty when all went out)."""
    body = json.dumps(payload, default=str).encode()
    problems = []
    if settings.webhook_url_env:
        url = os.environ.get(settings.webhook_url_env)
        if not url:
            problems.append(f"notify: environment variable {settings.webhook_url_env} is not set")
        elif not _is_http_url(url.strip()):
            problems.append(f"notify: the webhook URL from {settings.webhook_url_env} is not an http(s) URL")
        else:
            try:
                _post(url.strip(), body, settings)
            except RuntimeError as exc:
                problems.append(f"notify: webhook from {settings.webhook_url_env} failed: {exc}")
            except Exception as exc:  # whatever it is, its text may quote the URL: name its kind only
                problems.append(f"notify: webhook from {settings.webhook_url_env} failed: {type(exc).__name__}")
    if settings.command:
        try:
            done = subprocess.run(settings.command, input=body, capture_output=True, timeout=settings.timeout_seconds)
            if done.returncode != 0:
                problems.append(f"notify: command {settings.command[0]} exited {done.returncode}")
        except Exception as exc:  # a missing program, a timeout, ...: the run goes on
            problems.append(f"notify: command {settings.command[0]} failed: {type(exc).__name__}")
    return problems
