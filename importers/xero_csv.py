"""Xero "Account Transactions" CSV exports as the book side.

The layout is declared in `importers/ledger_profiles/xero.toml`; reading is
`importers.ledger_report`'s. Reference is the reference; Xero writes the contact
in Description for bank accounts, so it is the counterparty too.
"""

from __future__ import annotations

from importers.ledger_report import LedgerReportImporter

__all__ = ["XeroCsv"]


class XeroCsv(LedgerReportImporter):
    format = "xero"
    profile_name = "xero"
