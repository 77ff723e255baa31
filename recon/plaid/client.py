"""The seam to Plaid: the real `plaid-python` client, its credentials, retries and error messages.

`PlaidFeed.sync_page` makes one `/transactions/sync` call and returns the response as plain
Python data (dates as `datetime.date`, amounts as the JSON numbers Plaid sent). Rate limits (429)
and server errors (5xx), timeouts and connections that fail, are retried with exponential backoff,
a bounded number of times, each retry announced; everything else becomes a `PlaidItemError` or
`PlaidServiceError` whose message says what happened and what to do, without any secret in it.
Redirects are never followed: every request carries the API keys and an access token, which must
not travel to whatever host a `Location` names.

This module never touches the store.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import plaid
import urllib3
from plaid.api import plaid_api
from plaid.model.transactions_sync_request import TransactionsSyncRequest

from recon.errors import UserError, redact
from recon.http_retry import redirect_note
from recon.plaid.errors import PlaidItemError, PlaidServiceError

__all__ = ["PlaidCredentials", "PlaidFeed", "RetryPolicy"]

CLIENT_ID_ENV = "PLAID_CLIENT_ID"
SECRET_ENV = "PLAID_SECRET"
PLAID_API_VERSION = "2020-09-14"
PAGE_SIZE = 500  # the most Plaid gives per /transactions/sync page

# Errors the user fixes (Plaid's error_type); everything else is Plaid's side or transient.
_USER_ERROR_TYPES = {"ITEM_ERROR", "INVALID_INPUT", "INVALID_REQUEST", "INSTITUTION_ERROR"}
_HINTS = {
    "ITEM_LOGIN_REQUIRED": "the bank wants the account holder to log in again: "
    "run Plaid Link in update mode for this Item, then sync again",
    "INVALID_ACCESS_TOKEN": "the access token is not valid in this Plaid environment (sandbox or production?)",
    "INVALID_API_KEYS": f"{CLIENT_ID_ENV} / {SECRET_ENV} are not valid in this Plaid environment",
    "PRODUCT_NOT_READY": "Plaid has not finished loading this Item's transactions yet; sync again later",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a call that hit a rate limit, a server error or a timeout.

    The n-th retry waits `first_delay * 2**(n-1)` seconds, at most `max_delay`. `timeout` bounds
    each attempt, from connecting to the last byte of the answer.
    """

    attempts: int = 5
    first_delay: float = 1.0
    max_delay: float = 30.0
    timeout: float = 30.0

    def delays(self) -> Iterator[float]:
        for n in range(self.attempts - 1):
            yield min(self.first_delay * 2**n, self.max_delay)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> RetryPolicy:
        """Defaults, overridden by RECON_PLAID_RETRY_ATTEMPTS, RECON_PLAID_RETRY_DELAY and RECON_PLAID_TIMEOUT
        (seconds)."""
        values: dict[str, Any] = {}
        for name, key, kind in (
            ("RECON_PLAID_RETRY_ATTEMPTS", "attempts", int),
            ("RECON_PLAID_RETRY_DELAY", "first_delay", float),
            ("RECON_PLAID_TIMEOUT", "timeout", float),
        ):
            text = environ.get(name)
            if text is None:
                continue
            try:
                values[key] = kind(text)
            except ValueError:
                raise UserError(f"environment variable {name}: '{text}' is not a number") from None
            if values[key] < (1 if key == "attempts" else 0) or (key == "timeout" and values[key] <= 0):
                raise UserError(f"environment variable {name}: '{text}' is too small")
        return cls(**values)


@dataclass(frozen=True, slots=True)
class PlaidCredentials:
    """The API keys, read from the environment; `repr` never shows them."""

    client_id: str = field(repr=False)
    secret: str = field(repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> PlaidCredentials:
        return cls(_required_env(environ, CLIENT_ID_ENV), _required_env(environ, SECRET_ENV))


def _required_env(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise PlaidItemError(f"environment variable {name} is not set", code="MISSING_ENVIRONMENT_VARIABLE")
    return value


class _NoRedirects:
    """The client's pool manager, asked never to follow a redirect (urllib3 follows them by default,
    headers and body included: the keys and the token would go wherever `Location` points)."""

    def __init__(self, pool: urllib3.PoolManager):
        self._pool = pool

    def request(self, method: str, url: str, **kwargs: Any) -> urllib3.BaseHTTPResponse:
        return self._pool.request(method, url, redirect=False, **kwargs)


class PlaidFeed:
    """`/transactions/sync` through `plaid-python`, with retries and readable errors."""

    def __init__(
        self,
        host: str,
        credentials: PlaidCredentials,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[str], None] | None = None,
    ):
        keys = {"clientId": credentials.client_id, "secret": credentials.secret, "plaidVersion": PLAID_API_VERSION}
        configuration = plaid.Configuration(host=host, api_key=keys)
        configuration.retries = False  # urllib3 must not retry on its own: `_with_retries` counts and says each one
        client = plaid.ApiClient(configuration)
        client.rest_client.pool_manager = _NoRedirects(client.rest_client.pool_manager)
        self.host = host
        self.api = plaid_api.PlaidApi(client)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.on_retry = on_retry
        self._secrets = [credentials.secret, credentials.client_id]

    def sync_page(self, access_token: str, cursor: str | None) -> dict[str, Any]:
        """One page of changes after `cursor` (None: from the beginning)."""
        request = TransactionsSyncRequest(access_token=access_token, count=PAGE_SIZE)
        if cursor:
            request.cursor = cursor
        secrets = [*self._secrets, access_token]
        response = self._with_retries(
            lambda: self.api.transactions_sync(request, _request_timeout=self.retry.timeout), secrets
        )
        return dict(response.to_dict())

    def _with_retries(self, call: Callable[[], Any], secrets: list[str]) -> Any:
        delays = self.retry.delays()
        attempt = 1
        while True:
            try:
                return call()
            except plaid.ApiException as exc:
                status = int(exc.status or 0)
                if 300 <= status < 400:
                    raise self._redirect_error(exc) from None
                if status != 429 and status < 500:
                    raise _api_error(exc, secrets) from None
                failure = _api_error(exc, secrets, attempts=attempt)
                why = f"HTTP {status}"
            except urllib3.exceptions.HTTPError as exc:
                failure, why = self._connection_error(exc, attempt)
            except (TypeError, ValueError, plaid.OpenApiException) as exc:
                raise _unreadable(exc, secrets) from None
            delay = next(delays, None)
            if delay is None:
                raise failure from None
            if self.on_retry:
                next_try = f"attempt {attempt + 1} of {self.retry.attempts}"
                self.on_retry(f"Plaid at {self.host}: {why}; retrying in {delay:g} s ({next_try})")
            self.sleep(delay)
            attempt += 1

    def _connection_error(self, exc: urllib3.exceptions.HTTPError, attempts: int) -> tuple[PlaidServiceError, str]:
        """The error after the last attempt, and the short reason a retry line gives."""
        timeout = f"{self.retry.timeout:g} s"
        after = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
        if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
            why = f"no answer within {timeout}"
            message = f"Plaid at {self.host} did not answer within {timeout} ({after})"
            return PlaidServiceError(message, code="TIMEOUT"), why
        if isinstance(exc, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
            exc, urllib3.exceptions.NewConnectionError
        ):
            why = f"no connection within {timeout}"
            message = f"Plaid at {self.host} did not accept a connection within {timeout} ({after})"
            return PlaidServiceError(message, code="TIMEOUT"), why
        why = f"cannot connect ({type(exc).__name__})"
        message = f"cannot reach Plaid at {self.host}: {type(exc).__name__} ({after})"
        return PlaidServiceError(message, code="CONNECTION_FAILED"), why

    def _redirect_error(self, exc: plaid.ApiException) -> PlaidServiceError:
        note = redirect_note(int(exc.status or 0), (exc.headers or {}).get("Location"))
        return PlaidServiceError(
            f"Plaid at {self.host} answered HTTP {exc.status}, {note}: check the source's host or environment",
            code="REDIRECT",
        )


def _error_fields(exc: plaid.ApiException) -> dict[str, Any]:
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _api_error(exc: plaid.ApiException, secrets: list[str], *, attempts: int = 1) -> Exception:
    """Plaid's error body as a message: code, type, Plaid's words, what to do, request id."""
    body = _error_fields(exc)
    status = int(exc.status or 0)
    code = str(body.get("error_code") or f"HTTP_{status}")
    error_type = str(body.get("error_type") or "")
    said = str(body.get("error_message") or exc.reason or "no message")
    message = f"Plaid refused /transactions/sync: {code} ({error_type or 'no error type'}, HTTP {status}): {said}"
    if code in _HINTS:
        message += f"; {_HINTS[code]}"
    if status == 429 or error_type == "RATE_LIMIT_EXCEEDED":
        message += f"; rate limit still hit after {attempts} attempts, try again later"
    elif status >= 500:
        message += f"; Plaid's servers failed {attempts} attempts, try again later"
    if body.get("request_id"):
        message += f" (request_id {body['request_id']})"
    message = redact(message, secrets)
    if status < 500 and status != 429 and error_type in _USER_ERROR_TYPES:
        return PlaidItemError(message, code=code)
    return PlaidServiceError(message, code=code)


_MISSING_ARGUMENT = re.compile(r"missing \d+ required positional arguments?: (.+)$")


def _unreadable(exc: Exception, secrets: list[str]) -> PlaidServiceError:
    """The response did not have Plaid's shape (the client refused to read it)."""
    text = str(exc)
    missing = _MISSING_ARGUMENT.search(text)
    if missing:
        text = f"a required field is missing: {missing.group(1)}"
    return PlaidServiceError(
        redact(f"Plaid's /transactions/sync response cannot be read: {text}", secrets), code="UNREADABLE_RESPONSE"
    )
