"""Writes the report files into the output folder, each replaced atomically."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from recon.export import export_frame, write_frame
from recon.report import html
from recon.report.exceptions import account_summary, exceptions_frame
from recon.report.safe_csv import neutralized
from recon.store import Store


@dataclass(frozen=True, slots=True)
class ReportPaths:
    exceptions_csv: Path
    exceptions_html: Path
    matches_csv: Path
    exceptions: int


def _replace(path: Path, write: object) -> None:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    write(tmp)  # type: ignore[operator]
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def write_reports(store: Store, out_dir: Path) -> ReportPaths:
    out_dir.mkdir(parents=True, exist_ok=True)
    exceptions = exceptions_frame(store)
    summary = account_summary(store)
    paths = ReportPaths(
        out_dir / "exceptions.csv", out_dir / "exceptions.html", out_dir / "matches.csv", exceptions.height
    )
    safe = neutralized(exceptions.drop("amount_minor"), text_columns=["description", "explanation", "source"])
    _replace(paths.exceptions_csv, safe.write_csv)
    page = html.render(exceptions, summary, generated_at=datetime.now(UTC), title="recon: exceptions")
    _replace(paths.exceptions_html, lambda p: p.write_text(page, encoding="utf-8"))
    _replace(paths.matches_csv, lambda p: write_frame(export_frame(store, "matches"), p))
    return paths
