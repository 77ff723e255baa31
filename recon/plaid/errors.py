"""What can go wrong with a Plaid Item, told so that the user knows what to do.

The tree (both are `recon.errors` classes, so the CLI prints them and exits with their code)::

    UserError
     +-- PlaidItemError      the user can fix it: a missing environment variable, an Item whose
                             login expired (ITEM_LOGIN_REQUIRED), a token or key Plaid refuses
    RunError
     +-- PlaidServiceError   Plaid did not answer usefully: rate limits or server errors after
                             every retry, a response recon cannot read

Messages never contain an access token or the secret: `redact` removes any of them that an
outside message (an exception of the client, an error text of the server) might carry.
"""

from __future__ import annotations

from recon.errors import RunError, UserError

__all__ = ["PlaidItemError", "PlaidServiceError"]


class PlaidItemError(UserError):
    """An Item cannot be synced until the user fixes something."""

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.code = code


class PlaidServiceError(RunError):
    """Plaid failed to answer usefully; trying again later may work."""

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.code = code
