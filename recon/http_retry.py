"""One HTTP request to a service (a REST book such as Xero, a webhook), retried the way rate-limited APIs ask.

`send` makes the request with the standard library and retries what is worth
retrying: 429 (after the server's `Retry-After`, seconds or an HTTP date), 5xx,
timeouts and connections that fail, with exponential backoff and jitter, a
bounded number of times. Every other answer, 4xx included, is returned as it is
for the caller to read. Redirects are never followed: the request carries a
bearer token that must not travel to another host.

It must never put a header value into a message: errors name the method, the
path, the status and the number of attempts, nothing the request carried.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HttpResponse", "RetriesExhaustedError", "RetryPolicy", "redirect_note", "retry_after_seconds", "send"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How patiently to retry.

    Attributes:
      attempts: requests in all, the first included.
      first_delay: the wait before the second attempt; it doubles each time, with jitter (50-100 %).
      max_delay: no wait is longer; a `Retry-After` beyond it gives up at once (a daily limit, say).
      timeout: seconds a connection or a read may take.
    """

    attempts: int = 5
    first_delay: float = 1.0
    max_delay: float = 60.0
    timeout: float = 30.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1-based), jittered so that parallel clients spread out."""
        base = min(self.first_delay * 2 ** (retry - 1), self.max_delay)
        return base * rng.uniform(0.5, 1.0)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A final answer: status, headers (case-insensitive) and body."""

    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class RetriesExhaustedError(Exception):
    """Every attempt hit a rate limit, a server error or a timeout; `status` is the last HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None, headers: Message | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is returned to the caller as it is


_OPENER = urllib.request.build_opener(_NoRedirect)


def redirect_note(status: int, location: str | None) -> str | None:
    """For a 3xx answer, what a message says of it: where `Location` pointed, by scheme and host only (its
    path or query may carry anything), and that it was not followed; None for any other status."""
    if not 300 <= status < 400:
        return None
    try:
        target = urlsplit(location or "")
        where = f" to {target.scheme}://{target.hostname}" if target.scheme and target.hostname else ""
    except ValueError:
        where = ""
    return f"a redirect{where}, not followed (the credentials go with every request)"


def retry_after_seconds(value: str | None, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """`Retry-After` as seconds to wait: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def send(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    body: bytes | None = None,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    label: str | None = None,
) -> HttpResponse:
    """Make the request; return the first answer that is not worth retrying, or raise `RetriesExhaustedError`.

    Messages name the request as `label`, else as its method and path: give a label when the path
    itself is a secret (a webhook's)."""
    rng = rng or random.Random()
    what = label or f"{method} {urlsplit(url).path}"
    for attempt in range(1, policy.attempts + 1):
        request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
        wait: float | None = None
        try:
            with _OPENER.open(request, timeout=policy.timeout) as answer:
                return HttpResponse(answer.status, answer.headers, answer.read())
        except urllib.error.HTTPError as exc:
            response = HttpResponse(exc.code, exc.headers, _read(exc))
            if exc.code != 429 and exc.code < 500:
                return response
            failure = RetriesExhaustedError(
                f"{what}: HTTP {exc.code} after {attempt} attempt(s)", status=exc.code, headers=exc.headers
            )
            if exc.code == 429:
                wait = retry_after_seconds(exc.headers.get("Retry-After"))
                if wait is not None and wait > policy.max_delay:
                    raise RetriesExhaustedError(
                        f"{what}: HTTP 429, the server asks to wait {wait:.0f} s, longer than max_delay_seconds "
                        f"({policy.max_delay:.0f} s)",
                        status=429,
                        headers=exc.headers,
                    ) from None
        except TimeoutError:
            failure = RetriesExhaustedError(
                f"{what}: no answer within {policy.timeout:g} s, {attempt} attempt(s)", status=None
            )
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, reset, cut short
            reason = getattr(exc, "reason", exc)
            kind = "timed out" if isinstance(reason, TimeoutError) else type(reason).__name__
            failure = RetriesExhaustedError(f"{what}: cannot connect ({kind}, {attempt} attempt(s))", status=None)
        if attempt == policy.attempts:
            raise failure
        if wait is None:
            wait = policy.backoff(attempt, rng)
        else:
            wait += rng.uniform(0, 0.1) * wait  # the server's time, never less
        sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _read(exc: urllib.error.HTTPError) -> bytes:
    try:
        return exc.read()
    except OSError:
        return b""
