"""recon: a bank reconciliation engine. Import bank feeds and ledger exports, match them, report what is left."""

__version__ = "0.1.0"
