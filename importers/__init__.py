"""Source formats recon reads, each behind the `importers.base.Importer` protocol.

Importers depend only on `recon.model`, `recon.money` and `recon.errors`.
"""

from __future__ import annotations

from pathlib import Path

from importers.bai2 import Bai2Importer
from importers.base import Extract, Importer, SectionedReport, Side, StatementBalance
from importers.beancount_ledger import BeancountBook
from importers.camt import CamtImporter
from importers.csv_bank import CsvBankImporter
from importers.gnucash_book import GnucashBook
from importers.hledger_journal import HledgerJournal
from importers.ledger_csv import GenericLedgerCsv
from importers.mt940 import Mt940Importer
from importers.ofx import OfxImporter
from importers.quickbooks_csv import QuickBooksCsv
from importers.xero_csv import XeroCsv

__all__ = [
    "BANK_IMPORTERS",
    "LEDGER_IMPORTERS",
    "Extract",
    "Importer",
    "SectionedReport",
    "Side",
    "StatementBalance",
    "detect",
]

BANK_IMPORTERS: dict[str, Importer] = {"ofx": OfxImporter()}
# formats with an unmistakable signature are tried before the CSV profiles in `detect`
BANK_IMPORTERS["camt053"] = CamtImporter()  # also camt.052 and camt.054
BANK_IMPORTERS["mt940"] = Mt940Importer()  # also MT942
BANK_IMPORTERS["bai2"] = Bai2Importer()
BANK_IMPORTERS["csv"] = CsvBankImporter()  # detects a built-in profile; the config can name one
LEDGER_IMPORTERS: dict[str, Importer] = {"csv": GenericLedgerCsv()}
LEDGER_IMPORTERS["beancount"] = BeancountBook()
LEDGER_IMPORTERS["hledger"] = HledgerJournal()  # hledger and ledger-cli journals
LEDGER_IMPORTERS["quickbooks"] = QuickBooksCsv()  # General Ledger / Transaction Detail by Account
LEDGER_IMPORTERS["xero"] = XeroCsv()  # Account Transactions
LEDGER_IMPORTERS["gnucash"] = GnucashBook()  # SQLite books; the XML format is refused with the way out


def detect(path: Path, side: Side) -> Importer | None:
    """The importer whose `identify` accepts the file, or None."""
    registry = BANK_IMPORTERS if side == "bank" else LEDGER_IMPORTERS
    return next((imp for imp in registry.values() if imp.identify(path)), None)
