"""Plaid bank feeds: `/transactions/sync` per Item, pending rows replaced by posted ones.

Modules: `client` (the real plaid-python client, credentials, retries, error messages),
`mapping` (Plaid transactions and balances as recon rows), `pending` (what happens to matches
of rows Plaid replaces or removes), `items` (Items from the config, reports), `sync` (the
service that stores a whole sync in one transaction), `command` (`recon sync`).

The exports load on first use: importing `plaid` takes a second that commands without a
Plaid source should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recon.plaid.items import ItemReport, PlaidItem, plaid_items
    from recon.plaid.sync import failed_items_error, sync_plaid_sources

__all__ = ["ItemReport", "PlaidItem", "failed_items_error", "plaid_items", "sync_plaid_sources"]


def __getattr__(name: str) -> Any:
    if name in ("ItemReport", "PlaidItem", "plaid_items"):
        from recon.plaid import items

        return getattr(items, name)
    if name in ("failed_items_error", "sync_plaid_sources"):
        from recon.plaid import sync

        return getattr(sync, name)
    raise AttributeError(f"module 'recon.plaid' has no attribute '{name}'")
