"""The Plaid sync service: every Item's changes since its cursor, stored whole or not at all.

For each Item: read the stored cursor, pull every page of `/transactions/sync` until `has_more`
is false (restarting from the stored cursor when Plaid answers
TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION), turn the changes into bank rows, then store
added, modified and removed rows, balances, the import batch, the pending-row events and the
new cursor in ONE transaction. A failure or a kill before the commit leaves the store and the
cursor as they were, so the next sync asks for the same changes again; applying them twice
changes nothing (rows are keyed by Plaid's transaction_id).

An Item that fails does not stop the others: its report says why, and `plaid_items` keeps the
last error. Secrets never reach a report, a log or the store.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import polars as pl

from recon.config import Config
from recon.errors import InputError, ReconError, UserError, redact
from recon.model import BANK_TRANSACTIONS, STATEMENT_BALANCES, assign_row_ids
from recon.plaid.client import SECRET_ENV, PlaidCredentials, PlaidFeed, RetryPolicy
from recon.plaid.errors import PlaidItemError, PlaidServiceError
from recon.plaid.items import ItemReport, PlaidItem, plaid_items
from recon.plaid.mapping import PENDING_OF, SyncChanges, balance_rows, bank_rows, merge_pages
from recon.plaid.pending import RowChange, resolve_matches
from recon.store import Store

__all__ = ["MUTATION_DURING_PAGINATION", "failed_items_error", "fetch_all_pages", "sync_item", "sync_plaid_sources"]

MUTATION_DURING_PAGINATION = "TRANSACTIONS_SYNC_MUTATION_DURING_PAGINATION"
MAX_RESTARTS = 3
MAX_PAGES = 10_000  # a guard against a server that never says has_more = false


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def sync_plaid_sources(
    store: Store,
    config: Config,
    *,
    run_id: str,
    environ: Mapping[str, str] | None = None,
    retry: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
) -> list[ItemReport]:
    """Sync every Plaid Item of the config; one report per Item, failed ones included.

    `progress` hears what is being done; `warn` (else `progress`) hears each retry and each Item that failed.

    Raises only for what stops every Item alike (a contradictory config: ConfigError).
    """
    env = os.environ if environ is None else environ
    items = plaid_items(config)
    secrets = [env.get(SECRET_ENV, ""), *(env.get(item.key, "") for item in items)]
    retry = retry or RetryPolicy.from_environment(env)
    warn = warn or progress
    reports: list[ItemReport] = []
    for item in items:
        report = ItemReport(item.key, sorted({a.id for a in item.accounts.values()}))
        if progress:
            progress(f"syncing Plaid Item {item.key} ({', '.join(report.accounts)}) from {item.host} ...")
        try:
            token = env.get(item.key, "").strip()
            if not token:
                raise PlaidItemError(
                    f"environment variable {item.key} (the Item's access token) is not set",
                    code="MISSING_ENVIRONMENT_VARIABLE",
                )
            feed = PlaidFeed(item.host, PlaidCredentials.from_environment(env), retry=retry, sleep=sleep, on_retry=warn)
            sync_item(store, feed, item, token, run_id=run_id, report=report)
        except Exception as exc:  # one Item's failure, whatever it is, must not stop the others
            report.error = redact(str(exc) or type(exc).__name__, secrets)
            report.error_code = getattr(exc, "code", None) or type(exc).__name__
            report.user_fixable = isinstance(exc, UserError)
            _record_failure(store, item, report, run_id)
        if report.failed and warn:
            warn(f"  failed: {report.error}")
        elif progress and not report.failed:
            progress(f"  {_describe(report)}")
        reports.append(report)
    return reports


def _describe(report: ItemReport) -> str:
    return (
        f"{report.pages} pages: {report.added} added, {report.modified} modified, {report.removed} removed, "
        f"{report.posted} pending rows posted, {report.balances} balances"
        + (f", restarted {report.restarts}x (data changed during paging)" if report.restarts else "")
    )


def fetch_all_pages(feed: PlaidFeed, token: str, cursor: str | None) -> tuple[list[dict[str, Any]], int]:
    """Every page after `cursor`, and how often paging restarted from `cursor`."""
    restarts = 0
    while True:
        pages: list[dict[str, Any]] = []
        next_cursor = cursor
        try:
            while True:
                page = feed.sync_page(token, next_cursor)
                pages.append(page)
                if not page["has_more"]:
                    return pages, restarts
                if page["next_cursor"] == next_cursor or len(pages) >= MAX_PAGES:
                    raise PlaidServiceError("Plaid keeps saying has_more without moving its cursor", code="STUCK")
                next_cursor = page["next_cursor"]
        except PlaidServiceError as exc:
            if exc.code != MUTATION_DURING_PAGINATION or restarts >= MAX_RESTARTS:
                raise
            restarts += 1


def sync_item(store: Store, feed: PlaidFeed, item: PlaidItem, token: str, *, run_id: str, report: ItemReport) -> None:
    """Pull every page of one Item and store the result in one transaction."""
    found = store.query("SELECT cursor FROM plaid_items WHERE item_key = ?", [item.key])
    stored_cursor = found["cursor"][0] if found.height else None
    pages, report.restarts = fetch_all_pages(feed, token, stored_cursor)
    report.pages = len(pages)
    changes = merge_pages(pages)
    plaid_ids = sorted(
        {t["account_id"] for t in changes.upserts}
        | {r["account_id"] for r in changes.removed}
        | {a["account_id"] for a in changes.accounts}
    )
    accounts = item.account_map(plaid_ids)
    rows, problems = bank_rows(changes.upserts, accounts=accounts, source=item.source)
    balances, balance_problems = balance_rows(
        changes.accounts, accounts=accounts, as_of=datetime.now(UTC).date(), source=item.source
    )
    if problems or balance_problems:
        raise InputError([*problems, *balance_problems])
    report.skipped_other_accounts = len(changes.upserts) - rows.height
    if report.skipped_other_accounts:
        report.notes.append(f"{report.skipped_other_accounts} transactions of Plaid accounts not in the config")
    with store.transaction():
        _store_changes(store, item, changes, rows, balances, run_id=run_id, report=report)
        store.con.execute(
            "INSERT OR REPLACE INTO plaid_items VALUES (?, ?, ?, ?, ?, 'ok', NULL, ?)",
            [item.key, item.host, pages[-1]["next_cursor"], _now(), _now(), run_id],
        )


def _staged(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` with their stable txn_id (hash of recon account and Plaid transaction_id)."""
    parts = [
        assign_row_ids(part.drop("account_id"), account_id=str(account), id_column="txn_id")
        for (account,), part in rows.group_by("account_id", maintain_order=True)
    ]
    return pl.concat(parts) if parts else rows.with_columns(pl.lit(None, dtype=pl.String).alias("txn_id"))


def _store_changes(
    store: Store, item: PlaidItem, changes: SyncChanges, rows: pl.DataFrame, balances: list[dict[str, Any]],
    *, run_id: str, report: ItemReport,
) -> None:  # fmt: skip
    staged = _staged(rows)
    successors = staged.filter(pl.col(PENDING_OF).is_not_null())
    replaced_ids = set(successors[PENDING_OF])
    removed_ids = {r["transaction_id"] for r in changes.removed}
    stored = store.query(
        "SELECT txn_id, account_id, external_id, amount_minor, posted_date, pending FROM bank_transactions "
        "WHERE list_contains(?, account_id) AND list_contains(?, external_id)",
        [
            sorted({a.id for a in item.accounts.values()}),
            sorted(replaced_ids | removed_ids | set(staged["external_id"])),
        ],
    )
    by_external = {r["external_id"]: r for r in stored.iter_rows(named=True)}
    # a pending row whose posted row is already known must not come back (Plaid sends it as removed)
    already_posted = store.query(
        "SELECT DISTINCT external_id FROM plaid_row_events WHERE item_key = ? AND event = 'posted'", [item.key]
    )
    gone_pending = replaced_ids | set(already_posted["external_id"])
    staged = staged.filter(~(pl.col("pending") & pl.col("external_id").is_in(sorted(gone_pending))))

    row_changes: list[RowChange] = []
    for successor in successors.iter_rows(named=True):
        old = by_external.get(successor[PENDING_OF])
        if old is not None:
            row_changes.append(
                RowChange("posted", old["account_id"], old["txn_id"], old["external_id"], old["amount_minor"],
                          successor["txn_id"], successor["external_id"], successor["amount_minor"])
            )  # fmt: skip
    replaced_stored = {c.external_id for c in row_changes}
    for external_id in sorted(removed_ids - replaced_stored):
        old = by_external.get(external_id)
        if old is not None:
            row_changes.append(RowChange("removed", old["account_id"], old["txn_id"], external_id, old["amount_minor"]))
    known = staged.filter(pl.col("external_id").is_in(list(by_external)))
    for new in known.iter_rows(named=True):
        old = by_external[new["external_id"]]
        if (old["amount_minor"], old["posted_date"]) != (new["amount_minor"], new["posted_date"]):
            row_changes.append(
                RowChange("modified", old["account_id"], old["txn_id"], new["external_id"], old["amount_minor"],
                          new_amount_minor=new["amount_minor"])
            )  # fmt: skip

    gone = [c.txn_id for c in row_changes if c.event != "modified"]
    store.con.execute("DELETE FROM bank_transactions WHERE list_contains(?, txn_id)", [gone])
    batch_ids = {account.id: uuid.uuid4().hex for account in item.accounts.values()}
    staged = staged.with_columns(pl.col("account_id").replace_strict(batch_ids).alias("batch_id"))
    store.con.register("plaid_rows", BANK_TRANSACTIONS.conform(staged).to_arrow())
    try:
        store.con.execute("INSERT OR REPLACE INTO bank_transactions SELECT * FROM plaid_rows")
    finally:
        store.con.unregister("plaid_rows")

    events = resolve_matches(store, row_changes, item_key=item.key, run_id=run_id)
    report.added = staged.height - known.height
    report.modified = known.height
    report.posted = sum(c.event == "posted" for c in row_changes)
    report.removed = sum(c.event == "removed" for c in row_changes)
    report.matches_dropped = len({e["match_id"] for e in events if e["match_action"] == "dropped"})
    report.matches_carried = len({e["match_id"] for e in events if e["match_action"] in ("carried", "kept")})
    _store_balances(store, balances, batch_ids)
    report.balances = len(balances)
    _record_batches(store, item, staged, known, balances, batch_ids, run_id)


def _store_balances(store: Store, balances: list[dict[str, Any]], batch_ids: dict[str, str]) -> None:
    for balance in balances:
        row = {**balance, "batch_id": batch_ids[balance["account_id"]]}
        names = [name for name in STATEMENT_BALANCES.names if name in row]  # statement_seq: its default
        store.con.execute(
            f"INSERT OR REPLACE INTO statement_balances ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [row[name] for name in names],
        )


def _record_batches(
    store: Store, item: PlaidItem, staged: pl.DataFrame, known: pl.DataFrame, balances: list[dict[str, Any]],
    batch_ids: dict[str, str], run_id: str,
) -> None:  # fmt: skip
    """One import batch per account that got rows or balances from this sync."""
    balance_accounts = {b["account_id"] for b in balances}
    for account_id, batch_id in batch_ids.items():
        read = int((staged["account_id"] == account_id).sum())
        existing = int((known["account_id"] == account_id).sum())
        if not read and account_id not in balance_accounts:
            continue
        store.con.execute(
            "INSERT INTO import_batches VALUES (?, ?, 'bank', ?, 'plaid', ?, NULL, ?, ?, ?, ?)",
            [batch_id, run_id, account_id, item.source, _now(), read, read - existing, existing],
        )


def _record_failure(store: Store, item: PlaidItem, report: ItemReport, run_id: str) -> None:
    """Keep the error beside the Item; the cursor stays where the last complete sync left it."""
    with store.transaction():
        store.con.execute(
            """INSERT INTO plaid_items VALUES (?, ?, NULL, NULL, ?, 'failed', ?, ?)
               ON CONFLICT (item_key) DO UPDATE SET last_attempt_at = excluded.last_attempt_at,
               last_status = 'failed', last_error = excluded.last_error, run_id = excluded.run_id""",
            [item.key, item.host, _now(), report.error, run_id],
        )


def failed_items_error(reports: list[ItemReport]) -> ReconError | None:
    """The error a command ends with when Items failed (None: none did); exit 2 when the user can fix
    every failure, else 1."""
    failed = [r for r in reports if r.failed]
    if not failed:
        return None
    message = f"{len(failed)} Plaid Item(s) failed, nothing of them stored: " + "; ".join(
        f"{r.item}: {r.error}" for r in failed
    )
    if all(r.user_fixable for r in failed):
        return UserError(message)
    return PlaidServiceError(message)
