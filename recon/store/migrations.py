"""Forward-only schema migrations, applied in order inside one transaction.

A store records its version in `schema_migrations`. Opening a store applies the
migrations it lacks; a store newer than this recon is refused rather than misread.
Never edit a released migration: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from recon.errors import RunError
from recon.model import BANK_TRANSACTIONS, LEDGER_ENTRIES, STATEMENT_BALANCES, Table
from recon.store import tables


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: Callable[[], list[str]]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial schema: rows, batches, matches, decisions, runs",
        lambda: [
            tables.ACCOUNTS,
            tables.IMPORT_BATCHES,
            BANK_TRANSACTIONS.ddl(),
            LEDGER_ENTRIES.ddl(),
            STATEMENT_BALANCES.ddl(),
            tables.MATCHES,
            tables.MATCH_LINKS,
            tables.REVIEW_DECISIONS,
            tables.RUNS,
            tables.OPEN_ITEMS,
        ],
    ),
    Migration(
        2, "categorizations: what the rule engine or a person said each bank row is", lambda: [tables.CATEGORIZATIONS]
    ),
    Migration(
        3,
        "plaid feeds: cursor per Item, and what happened to pending rows and their matches",
        lambda: [tables.PLAID_ITEMS, tables.PLAID_ROW_EVENTS],
    ),
    Migration(
        4, "writeback_log: what write-back wrote to which book, and whether it is done", lambda: [tables.WRITEBACK_LOG]
    ),
    Migration(
        5,
        "report_items: what each exceptions report listed, to show what is new and resolved",
        lambda: [tables.REPORT_ITEMS],
    ),
    Migration(6, "duplicates: rows flagged as repeating another row, never merged", lambda: [tables.DUPLICATES]),
    Migration(
        7,
        "statement_balances: statement_seq in the key (two statements of one day in one file), statement_id",
        lambda: _rebuilt(
            STATEMENT_BALANCES, ["account_id", "as_of", "kind", "amount_minor", "currency", "source_file", "batch_id"]
        ),
    ),
    Migration(
        8,
        "bank_row_events: rows a later file corrected, deleted (OFX CORRECTACTION) or booked (pending before)",
        lambda: [tables.BANK_ROW_EVENTS],
    ),
    Migration(
        9,
        "writeback_log: transfers recon asked a person to book in Xero, before it wrote bank transfers, stay theirs",
        # a person may have booked them under a Reference recon cannot find: done, so never booked again
        lambda: [
            "UPDATE writeback_log SET status = 'done', "
            "ledger_location = 'xero: booked by hand (recon asked for it before it wrote bank transfers)' "
            "WHERE action = 'add' AND status = 'skipped' "
            "AND contains(error, 'recon does not write Xero''s bank transfers')"
        ],
    ),
    Migration(
        10,
        "match_settled: what the last match run left, so a run with nothing new to match changes nothing",
        lambda: [tables.MATCH_SETTLED],
    ),
    Migration(
        11,
        "ledger_row_events: entries the books changed after import (same id, new content), and their matches",
        lambda: [tables.LEDGER_ROW_EVENTS],
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def _rebuilt(table: Table, kept: list[str]) -> list[str]:
    """Statements that recreate `table` in its current shape (a new key needs a new table in DuckDB),
    keeping the `kept` columns of its rows; the new columns take their defaults."""
    staging = f"{table.name}_new"
    columns = ", ".join(kept)
    return [
        table.ddl().replace(f"CREATE TABLE IF NOT EXISTS {table.name} ", f"CREATE TABLE {staging} ", 1),
        f"INSERT INTO {staging} ({columns}) SELECT {columns} FROM {table.name}",
        f"DROP TABLE {table.name}",
        f"ALTER TABLE {staging} RENAME TO {table.name}",
    ]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()[0]
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_migrations").fetchall()[0]
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the store to the latest version; return the number of migrations applied."""
    version = current_version(con)
    if version > LATEST_VERSION:
        raise RunError(
            f"the store has schema version {version}, newer than this recon knows ({LATEST_VERSION}); upgrade recon"
        )
    pending = [m for m in MIGRATIONS if m.version > version]
    if not pending:
        return 0
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        for migration in pending:
            for statement in migration.statements():
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [migration.version, migration.description, datetime.now(UTC).replace(tzinfo=None)],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(pending)
