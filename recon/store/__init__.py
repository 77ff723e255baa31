"""The DuckDB store: one file, versioned schema, one transaction per batch or run."""

from recon.store.connection import Store, open_dry_run_store, open_store

__all__ = ["Store", "open_dry_run_store", "open_store"]
