"""Reports a person reads: the exceptions list as CSV and as one self-contained HTML page."""

from recon.report.writer import ReportPaths, write_reports

__all__ = ["ReportPaths", "write_reports"]
