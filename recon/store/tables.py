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
    status VARCHAR NOT NULL,             -- running | ok | failed | input_error | interrupted
    summary VARCHAR,                     -- JSON: counts of what the run did
    error VARCHAR                        -- message of the failure, if any
)"""

MATCH_SETTLED = """
CREATE TABLE IF NOT EXISTS match_settled (
    fingerprint VARCHAR NOT NULL,        -- hashes: what the next match run reads; the suggestions, open items left
    run_id VARCHAR NOT NULL,             -- the match run that left it
    settled_at TIMESTAMP NOT NULL
)"""

OPEN_ITEMS = """
CREATE TABLE IF NOT EXISTS open_items (
    side VARCHAR NOT NULL,               -- bank | ledger
    row_id VARCHAR NOT NULL,             -- txn_id or entry_id
    account_id VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,             -- no_candidate | outside_date_window | amount_differs | ambiguous
                                         -- | below_threshold | candidate_taken | rejected
    run_id VARCHAR,                      -- match run that left it open
    PRIMARY KEY (side, row_id)
)"""

CATEGORIZATIONS = """
CREATE TABLE IF NOT EXISTS categorizations (
    txn_id VARCHAR PRIMARY KEY,          -- bank_transactions.txn_id
    origin VARCHAR NOT NULL,             -- engine | person; the engine never changes a person's row
    rule_name VARCHAR,                   -- first rule that applied (engine)
    rule_file VARCHAR,                   -- its rule file, relative to the config file's folder
    rule_line INTEGER,                   -- 1-based line of the rule in that file
    applied_rules VARCHAR[],             -- every rule that applied, in order (more than one with stop: false)
    category VARCHAR,                    -- GL account the row is booked to
    payee VARCHAR,
    tags VARCHAR[],
    memo VARCHAR,
    splits VARCHAR,                      -- JSON list of {category, amount, amount_minor}; sums to the row amount
    transfer_account VARCHAR,            -- own account (config [[accounts]] id) the money went to or came from
    ignored BOOLEAN NOT NULL,            -- true: not to be booked or reported as an exception
    difference_account VARCHAR,          -- book_difference: GL account for a match's small difference (a fee)
    difference_max_minor BIGINT,         -- ... largest difference allowed, minor units
    difference_max_bp INTEGER,           -- ... largest difference allowed, basis points of the amount
    run_id VARCHAR,                      -- run that wrote it; a person's row: the review_decisions.decision_id
    categorized_at TIMESTAMP NOT NULL
)"""

WRITEBACK_LOG = """
CREATE TABLE IF NOT EXISTS writeback_log (
    target VARCHAR NOT NULL,             -- the book written to: file (relative to the config's folder) or system
    action VARCHAR NOT NULL,             -- clear (mark a matched entry cleared) | add (a new entry) | balance
    item_key VARCHAR NOT NULL,           -- clear: ledger_entry_id; add: bank_txn_id; balance: account_id@as_of
    account_id VARCHAR NOT NULL,
    bank_txn_id VARCHAR,                 -- bank row(s) written, space-separated when several
    bank_id VARCHAR,                     -- the bank-id written into the book (external_id, else txn_id)
    ledger_entry_id VARCHAR,             -- ledger_entries.entry_id of the entry marked cleared
    ledger_location VARCHAR,             -- file:line of what was written, as of the write
    status VARCHAR NOT NULL,             -- pending | done | failed | skipped (not written, see error)
    attempts INTEGER NOT NULL,           -- write attempts so far
    error VARCHAR,                       -- why it failed or was skipped
    run_id VARCHAR,                      -- run that last tried it
    written_at TIMESTAMP,                -- when it was found written (done)
    PRIMARY KEY (target, action, item_key)
)"""

PLAID_ITEMS = """
CREATE TABLE IF NOT EXISTS plaid_items (
    item_key VARCHAR PRIMARY KEY,        -- the config's access_token_env: names the Item, never holds the token
    host VARCHAR NOT NULL,               -- Plaid API host it is synced from
    cursor VARCHAR,                      -- /transactions/sync cursor after the last complete sync
    synced_at TIMESTAMP,                 -- when that sync committed
    last_attempt_at TIMESTAMP NOT NULL,
    last_status VARCHAR NOT NULL,        -- ok | failed
    last_error VARCHAR,                  -- why the last attempt failed (never a secret)
    run_id VARCHAR                       -- run of the last attempt
)"""

PLAID_ROW_EVENTS = """
CREATE TABLE IF NOT EXISTS plaid_row_events (
    event_id VARCHAR PRIMARY KEY,
    run_id VARCHAR,
    item_key VARCHAR NOT NULL,           -- plaid_items.item_key
    account_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,              -- posted (a pending row replaced by its posted row) | removed | modified
    txn_id VARCHAR NOT NULL,             -- the row that went away or changed (bank_transactions.txn_id)
    external_id VARCHAR NOT NULL,        -- its Plaid transaction_id
    successor_txn_id VARCHAR,            -- posted: the row that replaced it
    successor_external_id VARCHAR,
    old_amount_minor BIGINT,
    new_amount_minor BIGINT,             -- differs from old_amount_minor when, e.g., a tip was added
    match_id VARCHAR,                    -- a match that held the row, if any
    match_status VARCHAR,
    match_origin VARCHAR,
    match_action VARCHAR,                -- dropped (the next match run matches again) | carried (re-linked to
                                         -- the successor) | kept (same row, differences recomputed)
    ledger_entry_ids VARCHAR[],          -- the ledger rows of that match
    recorded_at TIMESTAMP NOT NULL
)"""

REPORT_ITEMS = """
CREATE TABLE IF NOT EXISTS report_items (
    report_id VARCHAR NOT NULL,          -- one exceptions report (runs.run_id of the run that wrote it, or a new id)
    generated_at TIMESTAMP NOT NULL,
    item_key VARCHAR NOT NULL,           -- kind:row id (or kind:match id), stable across reports
    kind VARCHAR NOT NULL,               -- bank_unmatched | ledger_unmatched | suggested
    account_id VARCHAR NOT NULL,
    item_date DATE,
    amount_minor BIGINT,
    currency VARCHAR,
    description VARCHAR,
    PRIMARY KEY (report_id, item_key)
)"""

DUPLICATES = """
CREATE TABLE IF NOT EXISTS duplicates (
    side VARCHAR NOT NULL,               -- bank | ledger
    row_id VARCHAR NOT NULL,             -- the later row: txn_id or entry_id
    duplicate_of VARCHAR NOT NULL,       -- the earlier row it repeats
    account_id VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,             -- what makes them look the same
    status VARCHAR NOT NULL,             -- flagged | dismissed (a person said: not a duplicate)
    run_id VARCHAR,
    PRIMARY KEY (side, row_id)
)"""

BANK_ROW_EVENTS = """
CREATE TABLE IF NOT EXISTS bank_row_events (
    event_id VARCHAR PRIMARY KEY,
    batch_id VARCHAR NOT NULL,           -- import batch of the file that said so (import_batches.batch_id)
    account_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,              -- replaced | deleted (OFX CORRECTACTION) | booked (a pending row now booked)
    txn_id VARCHAR NOT NULL,             -- the row replaced, deleted or booked; a replaced or deleted id is
                                         -- never stored again (an older file read again adds nothing)
    external_id VARCHAR NOT NULL,        -- its id in the source (OFX FITID, CAMT AcctSvcrRef)
    successor_txn_id VARCHAR,            -- replaced: the row that took its place; booked: the same row
    successor_external_id VARCHAR,
    old_amount_minor BIGINT,             -- NULL when the row was never stored (the correction came first)
    new_amount_minor BIGINT,
    old_row VARCHAR,                     -- the row as it was stored (JSON), for audit
    match_id VARCHAR,                    -- a match that held the row, if any
    match_status VARCHAR,
    match_origin VARCHAR,
    match_action VARCHAR,                -- dropped (the next match run matches again) | carried (re-linked to
                                         -- the successor) | kept (same row, differences recomputed)
    ledger_entry_ids VARCHAR[],          -- the ledger rows of that match
    recorded_at TIMESTAMP NOT NULL
)"""

LEDGER_ROW_EVENTS = """
CREATE TABLE IF NOT EXISTS ledger_row_events (
    event_id VARCHAR PRIMARY KEY,
    batch_id VARCHAR NOT NULL,           -- import batch of the file that brought the new content
    account_id VARCHAR NOT NULL,
    event VARCHAR NOT NULL,              -- changed (the books changed a stored entry; the store took the new content)
                                         -- | gone (no longer in the book file: removed from the store)
    entry_id VARCHAR NOT NULL,           -- the entry (changed: still stored under this id with its new content)
    external_id VARCHAR,                 -- its id in the books (GL line id, ...)
    changes VARCHAR NOT NULL,            -- what changed, e.g. "amount: -4200.00 -> -4300.00"
    old_amount_minor BIGINT,
    new_amount_minor BIGINT,
    old_row VARCHAR,                     -- the entry as it was stored (JSON), for audit
    match_id VARCHAR,                    -- a match that held the entry, if any
    match_status VARCHAR,
    match_origin VARCHAR,
    match_action VARCHAR,                -- dropped (an engine's: the next match run matches again) | kept (a
                                         -- person's, differences recomputed)
    bank_txn_ids VARCHAR[],              -- the bank rows of that match
    recorded_at TIMESTAMP NOT NULL
)"""
