"""The OAuth2 access token the Xero sink sends, and the errors of talking to Xero.

Two ways, tried in this order:

1. the variable `[xero] token_env` names holds an access token: it is used as it is;
   when Xero refuses it, only its owner can get a new one;
2. the variables `client_id_env` and `client_secret_env` name hold a Custom Connection's
   client id and secret: a token is fetched with the client credentials grant
   (`POST token_url`, HTTP Basic auth, `grant_type=client_credentials`), kept for the
   run and fetched again when it is about to expire or when Xero refuses it.

With neither, the write-back stops before any request. No message of this module
contains a secret (the token, the client secret, the Basic header): `redact` takes
them out of every text that could carry one.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from recon.config import XeroSettings
from recon.errors import redact
from recon.http_retry import RetriesExhaustedError, RetryPolicy, redirect_note, send
from recon.writeback.base import BookError, WritebackError

__all__ = ["XeroCredentials", "XeroRefusedError", "XeroUnavailableError"]

EXPIRY_MARGIN_SECONDS = 60.0
"""A fetched token this close to its `expires_in` is not sent: it could expire on the way."""
DEFAULT_LIFETIME_SECONDS = 1800
"""Xero's tokens last 30 minutes; the lifetime assumed when the answer does not say."""


class XeroUnavailableError(WritebackError):
    """Xero did not answer usefully after every retry; the next run tries again."""


class XeroRefusedError(BookError):
    """Xero refused the request or the credentials; the user fixes the setup or the data."""


@dataclass(frozen=True, slots=True)
class _Fetched:
    token: str
    renew_at: float  # on the monotonic clock


class XeroCredentials:
    """This run's way to a Xero access token: `token()` before each request, `renewed()` after a 401."""

    def __init__(
        self,
        settings: XeroSettings,
        *,
        environ: Mapping[str, str],
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.environ = environ
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self._fetched: _Fetched | None = None

    def way(self) -> str:
        """Where the token comes from, in words (variable names only); raises when no way is set up."""
        if self._given_token():
            return f"token from {self.settings.token_env}"
        self._client_credentials()
        return f"client credentials ({self.settings.client_id_env})"

    @property
    def renewable(self) -> bool:
        """Whether recon can get a new token itself (client credentials) or only the token's owner can."""
        return not self._given_token()

    def token(self) -> str:
        """A token to send now: the given one, or the kept fetched one unless it is about to expire."""
        given = self._given_token()
        if given:
            return given
        if self._fetched is None or self.clock() >= self._fetched.renew_at:
            self._fetched = self._fetch()
        return self._fetched.token

    def renewed(self) -> str | None:
        """After Xero refused a token (401): a newly fetched one, or None when the token is given (token_env)."""
        if not self.renewable:
            return None
        self._fetched = self._fetch()
        return self._fetched.token

    def secrets(self) -> tuple[str, ...]:
        """Every secret value in play, for `redact`."""
        fetched = (self._fetched.token,) if self._fetched else ()
        names = (self.settings.token_env, self.settings.client_secret_env)
        given = tuple(value for name in names if (value := self.environ.get(name, "").strip()))
        return given + fetched

    def hint_for_refused_token(self) -> str:
        """What to do when Xero answers 401 to the token it was sent."""
        if self.renewable:
            return (
                f"; Xero refused a token it had just issued to the client credentials in "
                f"{self.settings.client_id_env}: is the Custom Connection still connected to this organisation?"
            )
        return f"; the access token in {self.settings.token_env} is expired or not valid: refresh it"

    # -- the two ways -------------------------------------------------------------------------------

    def _given_token(self) -> str:
        return self.environ.get(self.settings.token_env, "").strip()

    def _client_credentials(self) -> tuple[str, str]:
        s = self.settings
        client_id = self.environ.get(s.client_id_env, "").strip()
        secret = self.environ.get(s.client_secret_env, "").strip()
        if client_id and secret:
            return client_id, secret
        unset = [name for name, value in ((s.client_id_env, client_id), (s.client_secret_env, secret)) if not value]
        raise XeroRefusedError(
            f"no Xero credentials: environment variable {s.token_env} is not set, nor {' and '.join(unset)}. "
            f"For a nightly run set {s.client_id_env} and {s.client_secret_env} to a Custom Connection's client id "
            f"and secret (recon fetches the tokens), or set {s.token_env} to an OAuth2 access token "
            "([xero] token_env, client_id_env and client_secret_env name the variables)"
        )

    def _fetch(self) -> _Fetched:
        """A new token by the client credentials grant; raises naming the client id's variable, never a secret."""
        client_id, secret = self._client_credentials()
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")
        headers = {
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": "recon",
        }
        hidden = (secret, basic)
        where = f"Xero's token endpoint {self.settings.token_url}"
        try:
            response = send(
                "POST", self.settings.token_url, headers=headers, body=b"grant_type=client_credentials",
                policy=self.policy, sleep=self.sleep,
            )  # fmt: skip
        except RetriesExhaustedError as exc:
            raise XeroUnavailableError(
                redact(f"{where} did not answer: {exc}; the next run tries again", hidden)
            ) from None
        if (redirect := redirect_note(response.status, response.headers.get("Location"))) is not None:
            raise XeroRefusedError(f"{where} answered HTTP {response.status}, {redirect}: check [xero] token_url")
        answer = response.json()
        answer = answer if isinstance(answer, dict) else {}
        if response.status >= 300:
            error = str(answer.get("error") or "no error code")[:100]
            raise XeroRefusedError(
                redact(
                    f"{where} refused the client credentials in {self.settings.client_id_env} and "
                    f"{self.settings.client_secret_env}: HTTP {response.status} {error}; check them against the "
                    "Custom Connection in Xero's developer portal",
                    hidden,
                )
            )
        token = answer.get("access_token")
        if not isinstance(token, str) or not token.strip():
            raise XeroUnavailableError(f"{where} answered HTTP {response.status} without an access_token")
        lifetime = answer.get("expires_in")
        if not isinstance(lifetime, int | float) or isinstance(lifetime, bool) or lifetime <= 0:
            lifetime = DEFAULT_LIFETIME_SECONDS
        return _Fetched(token.strip(), self.clock() + lifetime - EXPIRY_MARGIN_SECONDS)
