"""The `recon` command line. Nothing imports this module.

Exit codes: 0 done; 1 a failure while running; 2 bad configuration or input.
Progress goes to stderr, the summary to stdout.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from recon.config import Config, load_config
from recon.errors import ReconError, UserError
from recon.export import export_frame, write_frame
from recon.importing import FileReport, ImportJob, import_file, jobs_from_config, source_label
from recon.matching import MatchSummary, run_matching
from recon.report import write_reports
from recon.runlog import RunLog, logged_run, sync_accounts
from recon.store import Store, open_store

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=Path("recon.toml"),
    show_default=True,
    help="the recon.toml to use",
)


def _progress(message: str) -> None:
    click.echo(message, err=True)


@dataclass
class ImportTotals:
    files: int = 0
    read: int = 0
    new: int = 0
    known: int = 0
    refused: list[FileReport] = field(default_factory=list)

    def add(self, report: FileReport) -> None:
        self.files += 1
        if report.refused:
            self.refused.append(report)
            return
        self.read += report.rows_read
        self.new += report.rows_new
        self.known += report.rows_known


def _import_jobs(store: Store, jobs: list[ImportJob], run: RunLog, *, dry_run: bool) -> ImportTotals:
    totals = ImportTotals()
    for job in jobs:
        _progress(f"importing {job.side} file {job.path} into '{job.account.id}' ...")
        try:
            report = import_file(store, job, run_id=run.run_id, dry_run=dry_run)
        except UserError as exc:
            report = FileReport(str(job.path), job.side, job.account.id, job.format or "?")
            report.problems.append(_as_problem(job.path, exc))
        totals.add(report)
        if report.refused:
            _progress("  refused, nothing stored:\n    " + str(_refusal(report)).replace("\n", "\n    "))
        else:
            extra = f", {report.rows_other_accounts} of other GL accounts skipped" if report.rows_other_accounts else ""
            _progress(f"  {report.rows_read} rows: {report.rows_new} new, {report.rows_known} already known{extra}")
        for note in report.notes:
            _progress(f"  note: {note}")
    run.summary["import"] = {
        "files": totals.files, "rows_read": totals.read, "rows_new": totals.new,
        "rows_known": totals.known, "files_refused": [r.path for r in totals.refused],
    }  # fmt: skip
    return totals


def _as_problem(path: Path, exc: UserError) -> Any:
    from recon.errors import Problem

    message = str(exc).removeprefix(f"{path}: ")
    return Problem(str(path), None, None, message)


def _refusal(report: FileReport) -> str:
    from recon.errors import InputError

    return str(InputError(report.problems))


def _match(store: Store, config: Config, run: RunLog) -> MatchSummary:
    _progress("matching ...")
    summary = run_matching(store, settings=config.matching, run_id=run.run_id)
    run.summary["match"] = {
        "auto": summary.auto, "suggested": summary.suggested, "open_bank": summary.open_bank,
        "open_ledger": summary.open_ledger, "candidate_pairs": summary.candidate_pairs,
    }  # fmt: skip
    return summary


def _finish_imports(totals: ImportTotals) -> None:
    if totals.refused:
        names = ", ".join(r.path for r in totals.refused)
        raise UserError(f"{len(totals.refused)} file(s) refused, nothing of them stored: {names}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="recon")
def cli() -> None:
    """recon: reconcile bank feeds with the books."""


@cli.command()
@config_option
@click.option("--dry-run", is_flag=True, help="read and check every source, store nothing")
def run(config_path: Path, dry_run: bool) -> None:
    """The whole job: import every source, match, write the reports."""
    config = load_config(config_path)
    jobs, warnings = jobs_from_config(config)
    with open_store(config.store_path) as store:
        sync_accounts(store, config)
        with logged_run(store, "run --dry-run" if dry_run else "run") as log:
            for warning in warnings:
                _progress(f"warning: {warning}")
            totals = _import_jobs(store, jobs, log, dry_run=dry_run)
            if dry_run:
                click.echo(
                    f"dry run: {totals.read} rows read, {totals.new} would be new, "
                    f"{totals.known} already known; nothing stored"
                )
                _finish_imports(totals)
                return
            summary = _match(store, config, log)
            paths = write_reports(store, config.output_dir)
            click.echo(f"rows imported:  {totals.read} read, {totals.new} new, {totals.known} duplicates skipped")
            click.echo(f"matched:        {summary.auto} auto, {summary.suggested} suggested")
            click.echo(
                f"exceptions:     {paths.exceptions} ({summary.open_bank} bank rows and "
                f"{summary.open_ledger} ledger rows open, {summary.suggested} suggestions to review)"
            )
            click.echo(f"report:         {paths.exceptions_html}")
            click.echo(f"matches:        {paths.matches_csv}")
            _finish_imports(totals)


@cli.command("import")
@config_option
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--account", help="account id the FILES belong to (default: the only account)")
@click.option("--ledger", "ledger_side", is_flag=True, help="FILES are ledger exports, not bank statements")
@click.option("--format", "file_format", help="importer to use; detected from the content when omitted")
@click.option("--dry-run", is_flag=True, help="show what would be imported, store nothing")
def import_(
    config_path: Path, files: tuple[Path, ...], account: str | None, ledger_side: bool,
    file_format: str | None, dry_run: bool,
) -> None:  # fmt: skip
    """Import the config's sources, or the FILES given."""
    config = load_config(config_path)
    if files:
        target = _account_for(config, account)
        side = "ledger" if ledger_side else "bank"
        jobs = [
            ImportJob(f.resolve(), side, target, file_format, source_label(f, config.base_dir))  # type: ignore[arg-type]
            for f in files
        ]
        warnings: list[str] = []
    else:
        jobs, warnings = jobs_from_config(config)
    with open_store(config.store_path) as store:
        sync_accounts(store, config)
        with logged_run(store, "import") as log:
            for warning in warnings:
                _progress(f"warning: {warning}")
            totals = _import_jobs(store, jobs, log, dry_run=dry_run)
            verb = "would be new" if dry_run else "new"
            click.echo(f"rows imported: {totals.read} read, {totals.new} {verb}, {totals.known} already known")
            _finish_imports(totals)


def _account_for(config: Config, account_id: str | None) -> Any:
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
            summary = _match(store, config, log)
            click.echo(f"matched: {summary.auto} auto, {summary.suggested} suggested")
            click.echo(f"open: {summary.open_bank} bank rows, {summary.open_ledger} ledger rows")


@cli.command()
@config_option
def report(config_path: Path) -> None:
    """Write exceptions.csv, exceptions.html and matches.csv into the output folder."""
    config = load_config(config_path)
    with open_store(config.store_path) as store:
        paths = write_reports(store, config.output_dir)
    click.echo(f"{paths.exceptions} exceptions: {paths.exceptions_html}, {paths.exceptions_csv}")


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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning recon's errors into a message and an exit code."""
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
        click.echo(f"recon: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("recon: interrupted; the store keeps only what was committed", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
