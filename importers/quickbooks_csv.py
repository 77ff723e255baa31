"""QuickBooks Online "General Ledger" / "Transaction Detail by Account" CSV exports as the book side.

The layout is declared in `importers/ledger_profiles/quickbooks.toml`; reading is
`importers.ledger_report`'s. Num is the reference, Name the counterparty.
"""

from __future__ import annotations

from importers.ledger_report import LedgerReportImporter

__all__ = ["QuickBooksCsv"]


class QuickBooksCsv(LedgerReportImporter):
    format = "quickbooks"
    profile_name = "quickbooks"
