"""Tables of the store that are not normalized rows: batches, matches, decisions, runs.

The row tables (`bank_transactions`, `ledger_entries`, `statement_balances`) come from
`recon.model`; these hold what recon and people decided about those rows.
"""

from __future__ import annotations

ACCOUNTS = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id VARCHAR PRIMARY KEY,      -- [[accounts]] id of the config
    currency VARCHAR NOT NULL,           -- ISO 4217 code
    ledger_account VARCHAR               -- GL account of the bank account in the books
)"""

IMPORT_BATCHES = """
CREATE TABLE IF NOT EXISTS import_batches (
    batch_id VARCHAR PRIMARY KEY,        -- one file (or feed pull) imported in one transaction
    run_id VARCHAR,                      -- runs.run_id of the command that imported it
    side VARCHAR NOT NULL,               -- bank | ledger
    account_id VARCHAR NOT NULL,
    format VARCHAR NOT NULL,             -- importer used (ofx, csv, ...)
    source_file VARCHAR NOT NULL,
    file_sha256 VARCHAR,                 -- content hash of the file as read
    imported_at TIMESTAMP NOT NULL,
    rows_read BIGINT NOT NULL,           -- rows in the file
    rows_new BIGINT NOT NULL,            -- rows stored by this batch
    rows_known BIGINT NOT NULL           -- rows already in the store (same id), skipped
)"""

MATCHES = """
CREATE TABLE IF NOT EXISTS matches (
    match_id VARCHAR PRIMARY KEY,        -- stable hash of the linked bank and ledger ids
    account_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL,             -- auto | suggested | confirmed | rejected
    kind VARCHAR NOT NULL,               -- 1:1 | 1:N | N:1 | N:M
    score DOUBLE NOT NULL,               -- confidence in [0, 1]
    reasons VARCHAR NOT NULL,            -- human-readable explanation of the score
    origin VARCHAR NOT NULL,             -- engine | person
    run_id VARCHAR,                      -- run that made or last changed it
    created_at TIMESTAMP NOT NULL
)"""

MATCH_LINKS = """
CREATE TABLE IF NOT EXISTS match_links (
    match_id VARCHAR NOT NULL,
    bank_txn_id VARCHAR NOT NULL,        -- bank_transactions.txn_id
    ledger_entry_id VARCHAR NOT NULL,    -- ledger_entries.entry_id
    amount_diff_minor BIGINT NOT NULL,   -- bank total - ledger total of the match, minor units
    date_diff_days INTEGER NOT NULL,     -- bank posted date - ledger date, days
    PRIMARY KEY (match_id, bank_txn_id, ledger_entry_id)
)"""

REVIEW_DECISIONS = """
CREATE TABLE IF NOT EXISTS review_decisions (
    decision_id VARCHAR PRIMARY KEY,
    decided_at TIMESTAMP NOT NULL,
    decided_by VARCHAR NOT NULL,
    action VARCHAR NOT NULL,             -- confirm | reject | match
    match_id VARCHAR,                    -- the match decided on (for match: the one created)
    bank_txn_ids VARCHAR[] NOT NULL,
    ledger_entry_ids VARCHAR[] NOT NULL,
    note VARCHAR
)"""

RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    command VARCHAR NOT NULL,            -- run | import | match | ...
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status VARCHAR NOT NULL,             -- running | ok | failed | input_error
    summary VARCHAR,                     -- JSON: counts of what the run did
    error VARCHAR                        -- message of the failure, if any
)"""

OPEN_ITEMS = """
CREATE TABLE IF NOT EXISTS open_items (
    side VARCHAR NOT NULL,               -- bank | ledger
    row_id VARCHAR NOT NULL,             -- txn_id or entry_id
    account_id VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,             -- no_candidate | below_threshold | candidate_taken
    run_id VARCHAR,                      -- match run that left it open
    PRIMARY KEY (side, row_id)
)"""
