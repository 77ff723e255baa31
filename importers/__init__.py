"""Source formats recon reads, each behind the `importers.base.Importer` protocol.

Importers depend only on `recon.model`, `recon.money` and `recon.errors`.
"""

from __future__ import annotations

from pathlib import Path

from importers.base import Extract, Importer, Side, StatementBalance
from importers.ledger_csv import GenericLedgerCsv
from importers.ofx import OfxImporter

__all__ = [
    "BANK_IMPORTERS",
    "LEDGER_IMPORTERS",
    "Extract",
    "Importer",
    "Side",
    "StatementBalance",
    "detect",
]

BANK_IMPORTERS: dict[str, Importer] = {"ofx": OfxImporter()}
LEDGER_IMPORTERS: dict[str, Importer] = {"csv": GenericLedgerCsv()}


def detect(path: Path, side: Side) -> Importer | None:
    """The importer whose `identify` accepts the file, or None."""
    registry = BANK_IMPORTERS if side == "bank" else LEDGER_IMPORTERS
    return next((imp for imp in registry.values() if imp.identify(path)), None)
