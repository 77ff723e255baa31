"""The nightly job: every source in, matched, reported; one failing part does not stop the rest.

Each step is its own transaction (an import batch, a match run, ...), so a step that
fails leaves the store as the steps before it made it, and the later steps still run
on that. The outcome says what failed; the exit code follows from it:
0 all done, 2 some input was refused (nothing of it stored), 1 a step failed.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from recon.approved_entries import approved_new_entries
from recon.categorize import categorize, load_rules
from recon.config import Config
from recon.dedup import flag_duplicates
from recon.errors import ReconError, UserError
from recon.import_run import ImportTotals, import_jobs
from recon.importing import ImportJob, jobs_from_config
from recon.matching import BACK_TO_SUGGESTED, MatchSummary, run_matching
from recon.notify import send, should_notify
from recon.progress import Reporter
from recon.report import ReportPaths, write_reports
from recon.runlog import RunLog, logged_run, sync_accounts, unlogged_run
from recon.store import Store, open_dry_run_store, open_store
from recon.writeback import write_back


@dataclass
class RunOutcome:
    """What one nightly run did and what went wrong."""

    run_id: str
    dry_run: bool
    imports: ImportTotals = field(default_factory=ImportTotals)
    match: MatchSummary | None = None
    reports: ReportPaths | None = None
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    match_totals: dict[str, int] = field(default_factory=dict)
    categorize_lines: list[str] = field(default_factory=list)
    writeback_lines: list[str] = field(default_factory=list)
    """Per book written back: what was written, found there and skipped."""

    fixable_by_user: bool = False
    """A failure is the user's to fix (configuration, credentials, a book held open): exit 2, as the step's
    own command would; other failures (a service down, a crash) exit 1."""

    @property
    def exit_code(self) -> int:
        if self.fixable_by_user or self.imports.refused:
            return UserError.exit_code
        return 1 if self.failures else 0

    def failed(self, message: str, *, exit_code: int) -> None:
        self.failures.append(message)
        self.fixable_by_user |= exit_code == UserError.exit_code


def _step(name: str, outcome: RunOutcome, run: RunLog, reporter: Reporter, work: Callable[[], Any]) -> Any:
    """Run one step; a failure is recorded and reported, and the run goes on."""
    try:
        return work()
    except ReconError as exc:
        message, exit_code = f"{name}: {exc}", exc.exit_code
    except Exception as exc:  # a bug must not cost the other steps; it is logged with its traceback
        reporter.error("step.crash", "".join(traceback.format_exception(exc)).rstrip(), step=name)
        message, exit_code = f"{name}: internal error: {type(exc).__name__}: {exc}", 1
    outcome.failed(message, exit_code=exit_code)
    run.failed("failed", message)
    reporter.error("step.failed", message, step=name)
    return None


def _sync_plaid(store: Store, config: Config, outcome: RunOutcome, run: RunLog, reporter: Reporter) -> None:
    """Pull every Plaid Item; an Item that fails is named in the outcome, the others are stored."""
    from recon.plaid import failed_items_error, plaid_items, sync_plaid_sources  # imports plaid: ~1 s

    if not plaid_items(config):
        return
    reports = _step(
        "plaid", outcome, run, reporter,
        lambda: sync_plaid_sources(store, config, run_id=run.run_id,
                                   progress=lambda m: reporter.info("plaid.sync", m),
                                   warn=lambda m: reporter.warning("plaid.sync", m)),
    )  # fmt: skip
    if reports is None:
        return
    run.summary["plaid"] = [r.summary() for r in reports]
    # the inputs of the run: where each Item's feed stands now (a cursor is Plaid's position, not a secret)
    run.summary["plaid_cursors"] = dict(store.con.execute("SELECT item_key, cursor FROM plaid_items").fetchall())
    error = failed_items_error(reports)
    if error is not None:
        outcome.failed(f"plaid: {error}", exit_code=error.exit_code)
        run.failed("failed", f"plaid: {error}")
        reporter.error("plaid.failed", str(error))


def _write_back(store: Store, config: Config, outcome: RunOutcome, run: RunLog, reporter: Reporter) -> None:
    """Clear the matched entries in the books, add the approved new ones, assert the closing balance."""
    reporter.info("writeback.start", "writing back to the books ...")
    summary = _step(
        "writeback", outcome, run, reporter,
        lambda: write_back(store, config, run_id=run.run_id, new_entries=approved_new_entries(store)),
    )  # fmt: skip
    if summary is None:
        return
    run.summary["writeback"] = summary.as_dict()
    for target in summary.targets:
        line = target.line(dry_run=False)
        outcome.writeback_lines.append(line)
        reporter.info("writeback.book", line, book=target.target, written=target.count("change"),
                      present=target.count("present"), skipped=target.count("skipped"))  # fmt: skip
        for item in target.items:
            if item.status == "skipped":
                warning = f"write-back to {target.target}: skipped {item.action} {item.key}: {item.note}"
                outcome.warnings.append(warning)
                reporter.warning("writeback.skipped", warning)
    for target in summary.failed:
        message = f"writeback: {target.target}: {target.error}"
        outcome.failed(message, exit_code=target.error_exit_code)
        run.failed("failed", message)
        reporter.error("writeback.failed", message)


def _match_totals(store: Store) -> dict[str, int]:
    return {
        str(k): int(v) for k, v in store.con.execute("SELECT status, count(*) FROM matches GROUP BY status").fetchall()
    }


def run_nightly(config: Config, *, reporter: Reporter, dry_run: bool = False) -> RunOutcome:
    """Import every source, match, write the reports (or, with dry_run, only read and check the sources)."""
    jobs, warnings = jobs_from_config(config)
    if dry_run:
        _, rule_warnings = load_rules(config)  # a dry run checks the rule files too
        return _dry_run(config, jobs, [*warnings, *rule_warnings], reporter)
    with open_store(config.store_path) as store:
        sync_accounts(store, config)
        with logged_run(store, "run") as run:
            # a bad rule file stops the run before it changes anything; `runs` records why
            ruleset, rule_warnings = load_rules(config)
            outcome = _import_all(store, jobs, [*warnings, *rule_warnings], run, reporter, dry_run=False)
            _sync_plaid(store, config, outcome, run, reporter)

            flagged = _step("duplicates", outcome, run, reporter, lambda: flag_duplicates(store, run_id=run.run_id))
            if flagged:
                reporter.info("duplicates.flagged", f"{flagged} possible duplicate row(s) flagged", flagged=flagged)
            run.summary["duplicates"] = flagged
            # the rules first say how matches off by a fee may be booked (`book_difference`)
            _step("categorize", outcome, run, reporter, lambda: categorize(store, config, run.run_id, ruleset=ruleset))
            reporter.info("match.start", "matching ...")
            outcome.match = _step(
                "match", outcome, run, reporter,
                lambda: run_matching(store, settings=config.matching, run_id=run.run_id),
            )  # fmt: skip
            if outcome.match is not None:
                run.summary["match"] = {
                    "auto": outcome.match.auto, "suggested": outcome.match.suggested,
                    "open_bank": outcome.match.open_bank, "open_ledger": outcome.match.open_ledger,
                    "candidate_pairs": outcome.match.candidate_pairs,
                    "back_to_suggested": outcome.match.back_to_suggested,
                }  # fmt: skip
                if outcome.match.back_to_suggested:
                    warning = BACK_TO_SUGGESTED.format(n=outcome.match.back_to_suggested)
                    outcome.warnings.append(warning)
                    reporter.warning("match.back_to_suggested", warning)
            outcome.match_totals = _match_totals(store)
            reporter.info("categorize.start", "categorizing the open bank rows ...")
            categorized = _step(
                "categorize", outcome, run, reporter, lambda: categorize(store, config, run.run_id, ruleset=ruleset)
            )
            if categorized is not None:
                run.summary["categorize"] = categorized.as_dict()
                outcome.categorize_lines = categorized.lines()
                for warning in categorized.warnings:
                    outcome.warnings.append(warning)
                    reporter.warning("categorize.warning", warning)
            if any(source.writeback for source in config.ledgers):
                _write_back(store, config, outcome, run, reporter)
            reporter.info("report.start", "writing the reports ...")
            outcome.reports = _step("report", outcome, run, reporter, lambda: write_reports(store, config))
            if outcome.reports is not None:
                run.summary["report"] = {"exceptions": outcome.reports.exceptions}
            run.summary["failures"] = outcome.failures
            _notify(config, outcome, reporter)
            run.summary["warnings"] = outcome.warnings
            return outcome


def _dry_run(config: Config, jobs: list[ImportJob], warnings: list[str], reporter: Reporter) -> RunOutcome:
    """Read and check every source against the store, storing nothing: no file is created, no run recorded,
    no Plaid cursor advanced."""
    with open_dry_run_store(config.store_path) as store, unlogged_run("run --dry-run") as run:
        return _import_all(store, jobs, warnings, run, reporter, dry_run=True)


def _import_all(
    store: Store, jobs: list[ImportJob], warnings: list[str], run: RunLog, reporter: Reporter, *, dry_run: bool
) -> RunOutcome:
    outcome = RunOutcome(run.run_id, dry_run, warnings=list(warnings))
    for warning in warnings:
        reporter.warning("config.warning", warning)
    outcome.imports = import_jobs(store, jobs, run_id=run.run_id, reporter=reporter, dry_run=dry_run)
    run.summary["import"] = outcome.imports.as_json()
    refusal = outcome.imports.refusal_message()
    if refusal:
        run.failed("input_error", refusal)
    return outcome


def notification(outcome: RunOutcome) -> dict[str, Any]:
    """The run summary sent to webhooks and commands (ids and counts only, never a secret)."""
    return {
        "run_id": outcome.run_id,
        "exit_code": outcome.exit_code,
        "failures": outcome.failures,
        "refused_files": [r.path for r in outcome.imports.refused],
        "rows_read": outcome.imports.read,
        "rows_new": outcome.imports.new,
        "matches": outcome.match_totals,
        "open_exceptions": outcome.reports.exceptions if outcome.reports else None,
        "report": str(outcome.reports.exceptions_html) if outcome.reports else None,
    }


def _notify(config: Config, outcome: RunOutcome, reporter: Reporter) -> None:
    open_exceptions = outcome.reports.exceptions if outcome.reports else 0
    reason = should_notify(config.notify, failed=outcome.exit_code != 0, open_exceptions=open_exceptions)
    if reason is None or not (config.notify.webhook_url_env or config.notify.command):
        return
    payload = notification(outcome) | {"reason": reason}
    reporter.info("notify.start", f"notifying: {reason}")
    for problem in send(config.notify, payload):
        outcome.warnings.append(problem)
        reporter.warning("notify.failed", problem)
