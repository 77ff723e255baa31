"""`recon writeback`: the write-back stage alone, registered by `recon.cli`."""

from __future__ import annotations

from pathlib import Path

import click

from recon.approved_entries import approved_new_entries
from recon.cli_options import config_option
from recon.config import load_config
from recon.errors import RunError, UserError
from recon.runlog import logged_run, sync_accounts
from recon.store import open_store
from recon.writeback.service import WritebackSummary, write_back

__all__ = ["writeback_command"]


@click.command("writeback")
@config_option
@click.option("--dry-run", is_flag=True, help="show the changes (a unified diff of each book), write nothing")
def writeback_command(config_path: Path, dry_run: bool) -> None:
    """Mark matched entries cleared, add approved entries and closing balances in the books (writeback = true)."""
    config = load_config(config_path)
    with open_store(config.store_path) as store:
        sync_accounts(store, config)
        with logged_run(store, "writeback --dry-run" if dry_run else "writeback") as log:
            entries = approved_new_entries(store)
            summary = write_back(store, config, run_id=log.run_id, dry_run=dry_run, new_entries=entries)
            log.summary["writeback"] = summary.as_dict()
            report_summary(summary)
            if summary.failed:
                names = ", ".join(t.target for t in summary.failed)
                message = f"write-back failed for {names}; nothing half-written, the next run tries again"
                if all(t.error_exit_code == UserError.exit_code for t in summary.failed):
                    raise UserError(message)  # every failure is the book's own: the user fixes it
                raise RunError(message)


def report_summary(summary: WritebackSummary) -> None:
    """Per book: what was written, found there, skipped (with why); the diff on a dry run."""
    if not summary.targets:
        click.echo("write-back: no ledger source has writeback = true")
    for target in summary.targets:
        click.echo(target.line(dry_run=summary.dry_run))
        for item in target.items:
            if item.status == "skipped":
                click.echo(f"  skipped {item.action} {item.key}: {item.note}")
        if target.error:
            click.echo(f"  failed: {target.error}", err=True)
        if summary.dry_run and target.preview:
            click.echo(target.preview, nl=False)
