"""Writes the report files into the output folder, each replaced atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from recon.config import Config
from recon.export import export_frame, write_frame
from recon.report import html
from recon.report.changes import mark_changes, previous_items, record, with_keys_and_age
from recon.report.exceptions import (
    EXCEPTION_COLUMNS,
    ExceptionCounts,
    account_summary,
    exception_counts,
    exceptions_frame,
)
from recon.report.safe_csv import neutralized
from recon.report.statement import statements
from recon.report.xlsx import write_xlsx
from recon.store import Store


@dataclass(frozen=True, slots=True)
class ReportPaths:
    exceptions_csv: Path
    exceptions_html: Path
    exceptions_xlsx: Path
    matches_csv: Path
    counts: ExceptionCounts
    new: int
    resolved: int

    @property
    def exceptions(self) -> int:
        """Items listed: open rows, suggested matches (one each, whatever their links), duplicates."""
        return self.counts.total


TEXT_COLUMNS = ["description", "explanation", "source", "reason_text", "category", "rule"]
CSV_COLUMNS = [*EXCEPTION_COLUMNS, "change", "age_days", "age_bucket"]


def _replace(path: Path, write: object) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    write(tmp)  # type: ignore[operator]
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_reports(store: Store, config: Config, *, today: date | None = None) -> ReportPaths:
    """Write exceptions.html/.csv/.xlsx and matches.csv; record the listed items for the next report."""
    out_dir = config.output_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(out_dir, 0o700)
    now = datetime.now(UTC)
    exceptions = with_keys_and_age(exceptions_frame(store), today=today or now.date())
    exceptions, resolved = mark_changes(exceptions, previous_items(store))
    account_statements = statements(store, config)
    paths = ReportPaths(
        out_dir / "exceptions.csv", out_dir / "exceptions.html", out_dir / "exceptions.xlsx", out_dir / "matches.csv",
        exception_counts(exceptions), int((exceptions["change"] == "new").sum()), resolved.height,
    )  # fmt: skip
    safe = neutralized(exceptions.select(CSV_COLUMNS), text_columns=TEXT_COLUMNS)
    _replace(paths.exceptions_csv, safe.write_csv)
    _replace(paths.exceptions_xlsx, lambda p: write_xlsx(p, safe, account_statements, resolved))
    page = html.render(
        exceptions,
        account_summary(store),
        statements=account_statements,
        resolved=resolved,
        generated_at=now,
        title="recon: exceptions",
    )
    _replace(paths.exceptions_html, lambda p: p.write_text(page, encoding="utf-8"))
    _replace(paths.matches_csv, lambda p: write_frame(export_frame(store, "matches"), p))
    record(store, exceptions)
    return paths
