"""The `recon` command line. Nothing imports this module.

Exit codes: 0 done; 1 a failure while running; 2 bad configuration or input.
Progress goes to stderr (`--log-format json` for JSON lines, `--quiet` for warnings
and errors only), the summary to stdout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from recon import profile_cli, review_cli, rules_cli
from recon.cli_options import config_option
from recon.config import AccountSettings, Config, load_config
from recon.doctor import diagnose
from recon.errors import ReconError, UserError
from recon.export import export_frame, write_frame
from recon.import_run import ImportTotals, import_jobs
from recon.importing import ImportJob, jobs_from_config, source_label
from recon.matching import BACK_TO_SUGGESTED, run_matching
from recon.nightly import RunOutcome, run_nightly
from recon.plaid.command import sync_command
from recon.progress import Reporter
from recon.report import write_reports
from recon.runlog import logged_run, sync_accounts
from recon.store import Store, open_dry_run_store, open_store
from recon.writeback.cli import writeback_command


def reporter_of(ctx: click.Context) -> Reporter:
    """The Reporter the group's options asked for (plain text when a command is used on its own)."""
    found = ctx.find_object(Reporter)
    return found if found is not None else Reporter()


def summary_line(line: str) -> None:
    """A line of a command's summary on stdout; --quiet keeps stdout empty (cron mails only trouble)."""
    if not reporter_of(click.get_current_context()).quiet:
        click.echo(line)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="recon")
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", help="progress as text or JSON lines"
)
@click.option("-q", "--quiet", is_flag=True, help="only warnings and errors on stderr (for cron)")
@click.pass_context
def cli(ctx: click.Context, log_format: str, quiet: bool) -> None:
    """recon: reconcile bank feeds with the books."""
    ctx.obj = Reporter(log_format=log_format, quiet=quiet)  # type: ignore[arg-type]
    _reporters.append(ctx.obj)


_reporters: list[Reporter] = []
"""The reporter the command line chose: `main` says a command's final error the same way."""


def _print_outcome(outcome: RunOutcome) -> None:
    imports = outcome.imports
    if outcome.dry_run:
        click.echo(
            f"dry run: {imports.read} rows read, {imports.new} would be new, {imports.known} already known"
            f"{imports.changed_text(' would change')}; "
            "nothing stored"
        )
    else:
        click.echo(
            f"rows imported:  {imports.read} read, {imports.new} new, {imports.known} already known"
            + imports.changed_text(" changed")
        )
        held = outcome.match_totals
        new_auto = outcome.match.auto if outcome.match else 0
        parts = [f"{held.get('auto', 0)} auto ({new_auto} new)"]
        if held.get("confirmed"):
            parts.append(f"{held['confirmed']} confirmed")
        parts.append(f"{held.get('suggested', 0)} suggested")
        click.echo(f"matched:        {', '.join(parts)}")
        if outcome.reports is not None:
            counts = outcome.reports.counts
            click.echo(f"exceptions:     {counts.total} ({counts.parts()})")
        for line in outcome.categorize_lines:
            click.echo(line)
        for line in outcome.writeback_lines:
            click.echo(f"written back:   {line}")
        if outcome.reports is not None:
            click.echo(f"report:         {outcome.reports.exceptions_html}")
            click.echo(f"matches:        {outcome.reports.matches_csv}")
    for failure in outcome.failures:
        click.echo(f"failed:         {failure}")
    refusal = imports.refusal_message()
    if refusal:
        click.echo(f"refused:        {refusal}")


@cli.command()
@config_option
@click.option("--dry-run", is_flag=True, help="read and check every source, store nothing")
@click.pass_context
def run(ctx: click.Context, config_path: Path, dry_run: bool) -> None:
    """The nightly job: import every source, match, write the reports."""
    config = load_config(config_path)
    reporter = reporter_of(ctx)
    outcome = run_nightly(config, reporter=reporter, dry_run=dry_run)
    if not reporter.quiet:  # failures and refusals reach stderr as errors all the same
        _print_outcome(outcome)
    if outcome.exit_code:
        sys.exit(outcome.exit_code)


@cli.command("import")
@config_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--account", help="account id the FILES belong to (default: the only account)")
@click.option("--ledger", "ledger_side", is_flag=True, help="FILES are ledger exports, not bank statements")
@click.option("--format", "file_format", help="importer to use; detected from the content when omitted")
@click.option("--profile", help="CSV bank files: a built-in profile name or a profile file")
@click.option("--file-account", help="the account number in the FILES, for files that hold several accounts")
@click.option("--dry-run", is_flag=True, help="show what would be imported, store nothing")
@click.pass_context
def import_(
    ctx: click.Context, config_path: Path, files: tuple[Path, ...], account: str | None, ledger_side: bool,
    file_format: str | None, profile: str | None, file_account: str | None, dry_run: bool,
) -> None:  # fmt: skip
    """Import the config's sources, or the FILES given."""
    config = load_config(config_path)
    reporter = reporter_of(ctx)
    if files:
        target = _account_for(config, account)
        side = "ledger" if ledger_side else "bank"
        jobs = [
            ImportJob(
                f.resolve(), side, target, file_format, source_label(f, config.base_dir),  # type: ignore[arg-type]
                profile, file_account,
            )
            for f in files
        ]  # fmt: skip
        warnings: list[str] = []
    else:
        jobs, warnings = jobs_from_config(config)
    for warning in warnings:
        reporter.warning("config.warning", warning)
    if dry_run:  # stores nothing: no file created, no run recorded
        with open_dry_run_store(config.store_path) as store:
            totals = _import_and_say(store, jobs, run_id="dry-run", reporter=reporter, dry_run=True)
        _refuse_if_refused(totals)
    else:
        with open_store(config.store_path) as store:
            sync_accounts(store, config)
            with logged_run(store, "import") as log:
                totals = _import_and_say(store, jobs, run_id=log.run_id, reporter=reporter, dry_run=False)
                log.summary["import"] = totals.as_json()
                _refuse_if_refused(totals)  # inside the log: the run is recorded as input_error


def _import_and_say(
    store: Store, jobs: list[ImportJob], *, run_id: str, reporter: Reporter, dry_run: bool
) -> ImportTotals:
    totals = import_jobs(store, jobs, run_id=run_id, reporter=reporter, dry_run=dry_run)
    verb = "would be new" if dry_run else "new"
    changed = totals.changed_text(" would change" if dry_run else " changed")
    summary_line(f"rows imported: {totals.read} read, {totals.new} {verb}, {totals.known} already known{changed}")
    return totals


def _refuse_if_refused(totals: ImportTotals) -> None:
    refusal = totals.refusal_message()
    if refusal:
        raise UserError(refusal)


def _account_for(config: Config, account_id: str | None) -> AccountSettings:
    if account_id is None:
        if len(config.accounts) > 1:
            raise UserError("--account is needed: the config has several accounts")
        return config.accounts[0]
    known = {a.id: a for a in config.accounts}
    if account_id not in known:
        raise UserError(f"--account: unknown account '{account_id}' (defined: {', '.join(sorted(known))})")
    return known[account_id]


@cli.command()
@config_option
def match(config_path: Path) -> None:
    """Match the open bank rows against the open ledger rows."""
    config = load_config(config_path)
    with open_store(config.store_path) as store:
        sync_accounts(store, config)
        with logged_run(store, "match") as log:
            summary = run_matching(store, settings=config.matching, run_id=log.run_id)
            summary_line(f"matched: {summary.auto} new auto, {summary.suggested} suggested")
            summary_line(f"open: {summary.open_bank} bank rows, {summary.open_ledger} ledger rows")
            if summary.back_to_suggested:
                reporter_of(click.get_current_context()).warning(
                    "match.back_to_suggested", BACK_TO_SUGGESTED.format(n=summary.back_to_suggested)
                )


@cli.command()
@config_option
def report(config_path: Path) -> None:
    """Write exceptions.csv, exceptions.html and matches.csv into the output folder."""
    config = load_config(config_path)
    with open_store(config.store_path) as store:
        paths = write_reports(store, config)
    summary_line(f"{paths.exceptions} exceptions: {paths.exceptions_html}, {paths.exceptions_csv}")


@cli.command()
@config_option
def doctor(config_path: Path) -> None:
    """Check the config, the store, every source and the output folder; say what is wrong."""
    config = load_config(config_path)
    checks = diagnose(config)
    for check in checks:
        label = "PROBLEM" if not check.ok else "WARNING" if check.warning else "ok     "
        click.echo(f"{label}  {check.subject}: {check.message}")
    problems = sum(not c.ok for c in checks)
    warnings = sum(c.ok and c.warning for c in checks)
    if problems:
        click.echo(f"{problems} problem(s) found" + (f", {warnings} warning(s)" if warnings else ""))
    else:
        click.echo(f"no problems, {warnings} warning(s)" if warnings else "all checks passed")
    if problems:
        sys.exit(1)


@cli.command()
@click.argument("kind", type=click.Choice(["matches", "transactions", "ledger"]))
@config_option
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="file to write (.csv or .parquet)")
def export(kind: str, config_path: Path, output: Path) -> None:
    """Export the matches, the normalized bank rows or the normalized ledger rows."""
    config = load_config(config_path)
    with open_store(config.store_path, read_only=True) as store:
        frame = export_frame(store, kind)  # type: ignore[arg-type]
    write_frame(frame, output)
    click.echo(f"{frame.height} rows written to {output}")


# Sub-commands that live in their own modules register here, one line each.
cli.add_command(writeback_command)
cli.add_command(profile_cli.profile)
cli.add_command(rules_cli.rules)
cli.add_command(review_cli.review)
cli.add_command(review_cli.explain)
cli.add_command(review_cli.undo)
cli.add_command(sync_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning recon's errors into a message and an exit code."""
    # bank data: everything recon creates (store, its write-ahead log, reports, exports) is its owner's only
    os.umask(0o077)
    try:
        cli.main(args=argv, prog_name="recon", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("recon: aborted", err=True)
        sys.exit(130)
    except ReconError as exc:
        if _reporters and _reporters[-1].log_format == "json":
            _reporters[-1].error("command.failed", str(exc), exit_code=exc.exit_code)
        else:
            click.echo(f"recon: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("recon: interrupted; the store keeps only what was committed", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
