"""Plaid Items as the config names them, and what syncing each one did.

An Item is one bank login at Plaid, reached with one access token. The config names the
environment variable holding the token (`access_token_env`), never the token; sources that name
the same variable are accounts of the same Item, told apart by `plaid_account_id`. The variable's
name is the Item's key in the store (`plaid_items.item_key`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from recon.config import PLAID_HOSTS, AccountSettings, Config

__all__ = ["PLAID_HOSTS", "ItemReport", "PlaidItem", "plaid_items"]

ALL_ACCOUNTS = "*"
"""Key of `PlaidItem.accounts` for a source without plaid_account_id: every account of the Item."""


@dataclass(frozen=True, slots=True)
class PlaidItem:
    """One Item to sync.

    Attributes:
      key: the environment variable that holds its access token.
      host: the Plaid API host.
      accounts: Plaid account id -> recon account (or ALL_ACCOUNTS -> the one recon account).
    """

    key: str
    host: str
    accounts: dict[str, AccountSettings]

    @property
    def source(self) -> str:
        """How the store names the feed (`source_file` of its rows)."""
        return f"plaid:{self.key}"

    def account_map(self, plaid_account_ids: list[str]) -> dict[str, AccountSettings]:
        if ALL_ACCOUNTS in self.accounts:
            return dict.fromkeys(plaid_account_ids, self.accounts[ALL_ACCOUNTS])
        return dict(self.accounts)


@dataclass(slots=True)
class ItemReport:
    """What syncing one Item did, or why it failed (then nothing of it was stored)."""

    item: str
    accounts: list[str]
    pages: int = 0
    restarts: int = 0
    added: int = 0
    modified: int = 0
    removed: int = 0
    posted: int = 0
    """pending rows replaced by their posted rows"""
    matches_dropped: int = 0
    matches_carried: int = 0
    balances: int = 0
    skipped_other_accounts: int = 0
    error: str | None = None
    error_code: str | None = None
    user_fixable: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.error is not None

    def summary(self) -> dict[str, object]:
        if self.failed:
            return {"item": self.item, "status": "failed", "error_code": self.error_code, "error": self.error}
        return {
            "item": self.item, "status": "ok", "pages": self.pages, "restarts": self.restarts, "added": self.added,
            "modified": self.modified, "removed": self.removed, "posted": self.posted,
            "matches_dropped": self.matches_dropped, "matches_carried": self.matches_carried,
            "balances": self.balances,
        }  # fmt: skip


def plaid_items(config: Config) -> list[PlaidItem]:
    """The config's Plaid sources grouped into Items, in config order (the config has checked that they agree)."""
    items: dict[str, PlaidItem] = {}
    for source in config.sources:
        if source.format != "plaid" or not source.access_token_env:
            continue
        item = items.setdefault(source.access_token_env, PlaidItem(source.access_token_env, source.plaid_host, {}))
        item.accounts[source.plaid_account_id or ALL_ACCOUNTS] = config.account(source.account)
    return list(items.values())
