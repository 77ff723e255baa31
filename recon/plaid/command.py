"""`recon sync`: pull the Plaid feeds of the config into the store (registered by `recon.cli`).

Exit codes as everywhere: 0 every Item synced; 2 an Item failed for a reason the user fixes
(a missing environment variable, ITEM_LOGIN_REQUIRED, ...); 1 an Item failed on Plaid's side.
The other Items are synced all the same.
"""

from __future__ import annotations

from pathlib import Path

import click

from recon.cli_options import config_option
from recon.config import load_config
from recon.plaid.items import plaid_items
from recon.progress import Reporter
from recon.runlog import logged_run, sync_accounts
from recon.store import open_store

__all__ = ["sync_command"]


@click.command("sync")
@config_option
def sync_command(config_path: Path) -> None:
    """Sync the Plaid feeds: every Item's new, changed and removed transactions since the last sync."""
    from recon.plaid.sync import failed_items_error, sync_plaid_sources  # loads plaid: only when syncing

    config = load_config(config_path)
    if not plaid_items(config):
        click.echo("no Plaid sources in the config; nothing to sync")
        return
    reporter = click.get_current_context().find_object(Reporter) or Reporter()  # the group's --log-format, --quiet
    with open_store(config.store_path) as store:
        sync_accounts(store, config)
        with logged_run(store, "sync") as log:
            reports = sync_plaid_sources(
                store, config, run_id=log.run_id,
                progress=lambda message: reporter.info("plaid.sync", message),
                warn=lambda message: reporter.warning("plaid.sync", message),
            )  # fmt: skip
            log.summary["plaid"] = [r.summary() for r in reports]
            for r in reports:
                if r.failed:
                    reporter.error("plaid.item_failed", f"Plaid Item {r.item} failed: {r.error}", item=r.item)
                    click.echo(f"{r.item}: FAILED ({r.error_code}): {r.error}")
                else:
                    click.echo(
                        f"{r.item}: {r.added} added, {r.modified} modified, {r.removed} removed, "
                        f"{r.posted} pending rows posted, {r.balances} balances"
                    )
            error = failed_items_error(reports)
            if error is not None:
                raise error
