"""Importing a list of files, one batch each, reporting as it goes: shared by `recon import` and `recon run`.

A file that cannot be imported is refused (nothing of it stored) and the others go on;
the caller decides the exit code from `ImportTotals.refused`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recon.errors import InputError, Problem, UserError
from recon.importing import FileReport, ImportJob, import_file
from recon.progress import Reporter
from recon.store import Store


@dataclass
class ImportTotals:
    """What importing a list of files did, summed."""

    files: int = 0
    read: int = 0
    new: int = 0
    known: int = 0
    changed: int = 0
    refused: list[FileReport] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)

    def add(self, report: FileReport) -> None:
        self.files += 1
        self.reports.append(report)
        if report.refused:
            self.refused.append(report)
            return
        self.read += report.rows_read
        self.new += report.rows_new
        self.known += report.rows_known
        self.changed += report.rows_changed

    def as_json(self) -> dict[str, Any]:
        return {
            "files": self.files, "rows_read": self.read, "rows_new": self.new, "rows_known": self.known,
            "rows_changed": self.changed, "files_refused": [r.path for r in self.refused],
            "inputs": [
                {"file": r.path, "sha256": r.file_sha256, "side": r.side, "account": r.account_id, "format": r.format,
                 "new": r.rows_new, "known": r.rows_known,
                 "changed": r.rows_changed, "booked": r.rows_booked, "replaced": r.rows_replaced,
                 "deleted": r.rows_deleted, "refused": r.refused}
                for r in self.reports
            ],
        }  # fmt: skip

    def changed_text(self, verb: str) -> str:
        """E.g. ", 1 changed" when ledger entries changed, else nothing."""
        return f", {self.changed}{verb}" if self.changed else ""

    def refusal_message(self) -> str | None:
        if not self.refused:
            return None
        names = ", ".join(r.path for r in self.refused)
        return f"{len(self.refused)} file(s) refused, nothing of them stored: {names}"


def import_jobs(store: Store, jobs: list[ImportJob], *, run_id: str, reporter: Reporter, dry_run: bool) -> ImportTotals:
    totals = ImportTotals()
    for number, job in enumerate(jobs, start=1):
        reporter.info(
            "import.start",
            f"importing {job.side} file {job.path} into '{job.account.id}' ({number}/{len(jobs)}) ...",
            file=str(job.path), side=job.side, account=job.account.id,
        )  # fmt: skip
        try:
            report = import_file(store, job, run_id=run_id, dry_run=dry_run)
        except UserError as exc:
            report = FileReport(str(job.path), job.side, job.account.id, job.format or "?")
            report.problems.append(Problem(str(job.path), None, None, str(exc).removeprefix(f"{job.path}: ")))
        totals.add(report)
        if report.refused:
            details = str(InputError(report.problems)).replace("\n", "\n    ")
            reporter.error("import.refused", f"  refused, nothing stored:\n    {details}", file=str(job.path),
                           problems=[str(p) for p in report.problems[:50]])  # fmt: skip
        else:
            extra = f", {report.rows_changed} changed" if report.rows_changed else ""
            if report.side == "ledger" and report.rows_deleted:
                extra += f", {report.rows_deleted} gone from the book"
            if report.rows_other_accounts:
                extra += f", {report.rows_other_accounts} of other GL accounts skipped"
            reporter.info(
                "import.done",
                f"  {report.rows_read} rows: {report.rows_new} new, {report.rows_known} already known{extra}",
                file=str(job.path), rows_read=report.rows_read, rows_new=report.rows_new, rows_known=report.rows_known,
                rows_changed=report.rows_changed, rows_booked=report.rows_booked,
                rows_replaced=report.rows_replaced, rows_deleted=report.rows_deleted,
            )  # fmt: skip
        for note in report.notes:
            reporter.warning("import.note", f"  note: {note}", file=str(job.path))
    return totals
