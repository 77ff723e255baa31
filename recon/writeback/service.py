"""Write-back service: approved results from the store into the books the config marks `writeback = true`.

For each such book: the approved matches (status auto or confirmed) whose ledger
entries came from that file, the approved new entries of its account, and the
account's latest closing statement balance. Items the log has `done` are not
asked for again; everything else is planned against the book's current content
(`present` when the bank id is already there), logged `pending`, written, then
logged `done`. A book that cannot be written is logged `failed` and the other
books still get theirs; the next run tries it again.

This module never decides what is approved: matching, review and the rules do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recon.config import Config, LedgerSource
from recon.errors import UserError
from recon.importing import source_label
from recon.store import Store
from recon.writeback.base import (
    ClearRequest,
    ClosingBalance,
    NewEntry,
    PlannedItem,
    Sink,
    WritebackError,
    WritebackRequest,
    WritePlan,
)
from recon.writeback.beancount_sink import BeancountSink
from recon.writeback.gnucash_sink import GnucashSink
from recon.writeback.journal_sink import JournalSink
from recon.writeback.log import ItemDetails, TargetLog, done_keys
from recon.writeback.xero_sink import XeroSink

__all__ = [
    "SINKS",
    "TargetResult",
    "WritebackSummary",
    "bank_id_for",
    "new_entries_for_bank_rows",
    "new_entry_for_bank_row",
    "write_back",
]

SINKS: dict[str, Callable[..., Sink]] = {
    "beancount": BeancountSink,
    "hledger": JournalSink,
    "gnucash": GnucashSink,
    "xero": XeroSink,
}
"""Book formats write-back can write, by the config's `format` (built by `_make_sink`)."""

_SAFE_BANK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~:/+#-]{0,79}$")

APPROVED_LINKS_SQL = """
    SELECT l.ledger_entry_id, l.bank_txn_id, b.external_id, e.source_file
    FROM matches m JOIN match_links l USING (match_id)
    JOIN bank_transactions b ON b.txn_id = l.bank_txn_id
    JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
    WHERE m.status IN ('auto', 'confirmed') AND m.account_id = ?
    ORDER BY l.ledger_entry_id, l.bank_txn_id
"""


def bank_id_for(txn_id: str, external_id: str | None) -> str:
    """The id a book records for a bank row: the bank's own id when it is plain text, else recon's txn_id."""
    if external_id and _SAFE_BANK_ID.match(external_id):
        return external_id
    return txn_id


@dataclass(slots=True)
class TargetResult:
    """What write-back did (or would do) to one book."""

    target: str
    account_id: str
    items: list[PlannedItem] = field(default_factory=list)
    preview: str = ""
    error: str | None = None
    error_exit_code: int = 0

    def count(self, status: str, action: str | None = None) -> int:
        return sum(1 for i in self.items if i.status == status and (action is None or i.action == action))

    def line(self, *, dry_run: bool) -> str:
        """The book's line of a summary: what was (or would be) written, found there, skipped."""
        verb = "would write" if dry_run else "failed, not all written, planned" if self.error else "written"
        parts = [
            f"{self.count('change', 'clear')} cleared",
            f"{self.count('change', 'add')} new entries",
            f"{self.count('change', 'balance')} balances",
        ]
        return (
            f"book {self.target}: {verb}: {', '.join(parts)}; "
            f"{self.count('present')} already there, {self.count('skipped')} skipped"
        )


@dataclass(slots=True)
class WritebackSummary:
    """All books of one write-back."""

    dry_run: bool
    targets: list[TargetResult] = field(default_factory=list)

    @property
    def failed(self) -> list[TargetResult]:
        return [t for t in self.targets if t.error]

    def as_dict(self) -> dict[str, Any]:
        """Counts for the run's summary (the `runs` table)."""
        return {
            "dry_run": self.dry_run,
            "books": len(self.targets),
            "written": sum(t.count("change") for t in self.targets if not t.error),
            "already_present": sum(t.count("present") for t in self.targets),
            "skipped": sum(t.count("skipped") for t in self.targets),
            "failed_books": [t.target for t in self.failed],
        }


def write_back(
    store: Store,
    config: Config,
    *,
    run_id: str,
    dry_run: bool = False,
    new_entries: Sequence[NewEntry] = (),
) -> WritebackSummary:
    """Write the approved matches (and `new_entries`) into every book with `writeback = true`."""
    summary = WritebackSummary(dry_run)
    sources = [s for s in config.ledgers if s.writeback]
    _check_sources(sources, config)
    entries_by_account = _entries_by_account(store, new_entries)
    for source in sources:
        account = config.account(source.account)
        files, unmatched = config.expand(source.paths)
        if unmatched:
            raise UserError(f"ledger book for account '{account.id}': no file matches '{unmatched[0]}'")
        closing = _closing_balance(store, account.id)
        for index, path in enumerate(files):
            target = source_label(path, config.base_dir)
            sink = _make_sink(source, path, target, config)
            request, details = _request(
                store, account.id, str(account.ledger_account), account.currency, target,
                entries_by_account.get(account.id, []) if index == 0 else [], closing if index == 0 else None,
            )  # fmt: skip
            request = replace(
                request,
                clears=request.clears if "clear" in sink.actions else (),
                new_entries=request.new_entries if "add" in sink.actions else (),
                closing=request.closing if "balance" in sink.actions else None,
            )
            summary.targets.append(_write_one(store, sink, request, details, run_id=run_id, dry_run=dry_run))
    return summary


def _make_sink(source: LedgerSource, path: Path, target: str, config: Config) -> Sink:
    """A text book needs only its file; Xero also gets its API settings and the accounts' Xero bank accounts."""
    if source.format == "xero":
        if config.xero is None:  # the config's validation requires it; kept for callers building Config by hand
            raise UserError(f"ledgers for account '{source.account}': write-back to Xero needs a [xero] section")
        return XeroSink(
            path,
            target=target,
            settings=config.xero,
            account=config.account(source.account),
            accounts=config.accounts,
        )
    return SINKS[source.format](path, target=target)


def _check_sources(sources: list[LedgerSource], config: Config) -> None:
    for source in sources:
        if source.format not in SINKS:
            raise UserError(
                f"ledgers for account '{source.account}': a {source.format} export cannot be written back; "
                f"write-back works with these books: {', '.join(SINKS)}"
            )
        if not config.account(source.account).ledger_account:
            raise UserError(
                f"account '{source.account}': write-back needs ledger_account (the bank's account in the books)"
            )


def _write_one(
    store: Store,
    sink: Sink,
    request: WritebackRequest,
    details: dict[tuple[str, str], ItemDetails],
    *,
    run_id: str,
    dry_run: bool,
) -> TargetResult:
    result = TargetResult(sink.target, request.account_id)
    if not _asks_anything(request):
        return result
    log = TargetLog(store, sink.target, request.account_id, run_id, details)
    # rows booked elsewhere (a transfer's other side) never reach the sink; the log says why
    held = [PlannedItem("add", e.bank_txn_id, "skipped", note=e.held_because) for e in request.new_entries
            if e.held_because]  # fmt: skip
    request = replace(request, new_entries=tuple(e for e in request.new_entries if not e.held_because))
    try:
        plan = sink.plan(request) if _asks_anything(request) else WritePlan(sink.target)
        plan.items = held + plan.items
    except WritebackError as exc:
        result.error, result.error_exit_code = str(exc), exc.exit_code
        if not dry_run:
            log.record(_requested_items(request), "failed", error=str(exc), attempt=True)
        return result
    result.items, result.preview = plan.items, plan.preview
    if dry_run:
        return result
    changes = plan.changes
    if changes or plan.file_changes or plan.operations:
        if changes:
            log.record(changes, "pending", attempt=True)  # committed before the book is touched
        try:
            sink.apply(plan)
        except WritebackError as exc:
            result.error, result.error_exit_code = str(exc), exc.exit_code
            log.record(changes, "failed", error=str(exc))
            return result
    _commit_outcome(log, plan.items)
    return result


def _asks_anything(request: WritebackRequest) -> bool:
    return bool(request.clears or request.new_entries or request.closing)


def _commit_outcome(log: TargetLog, items: list[PlannedItem]) -> None:
    """Log what the book now holds: written and present items `done`, the rest `skipped`."""
    done = [i for i in items if i.status in ("change", "present")]
    skipped = [i for i in items if i.status == "skipped"]
    if done:
        log.record(done, "done")
    if skipped:
        log.record(skipped, "skipped")


def _requested_items(request: WritebackRequest) -> list[PlannedItem]:
    items = [PlannedItem("clear", c.ledger_entry_id, "change") for c in request.clears]
    items += [PlannedItem("add", e.bank_txn_id, "change") for e in request.new_entries]
    if request.closing:
        items.append(PlannedItem("balance", _balance_key(request.account_id, request.closing), "change"))
    return items


def _balance_key(account_id: str, closing: ClosingBalance) -> str:
    return f"{account_id}@{closing.as_of.isoformat()}"


def _request(
    store: Store,
    account_id: str,
    ledger_account: str,
    currency: str,
    target: str,
    entries: list[NewEntry],
    closing: ClosingBalance | None,
) -> tuple[WritebackRequest, dict[tuple[str, str], ItemDetails]]:
    done = done_keys(store, target)
    links = store.con.execute(APPROVED_LINKS_SQL, [account_id]).fetchall()
    by_entry: dict[str, list[tuple[str, str]]] = {}
    for entry_id, txn_id, external_id, source_file in links:
        if source_file == target and ("clear", entry_id) not in done:
            by_entry.setdefault(entry_id, []).append((txn_id, bank_id_for(txn_id, external_id)))
    details: dict[tuple[str, str], ItemDetails] = {}
    clears = []
    for entry_id, pairs in by_entry.items():
        txn_ids = tuple(t for t, _ in pairs)
        bank_ids = tuple(b for _, b in pairs)
        clears.append(ClearRequest(entry_id, txn_ids, bank_ids))
        details["clear", entry_id] = ItemDetails(" ".join(txn_ids), " ".join(bank_ids), entry_id)
    todo = [e for e in entries if ("add", e.bank_txn_id) not in done]
    for e in todo:
        details["add", e.bank_txn_id] = ItemDetails(e.bank_txn_id, e.bank_id)
    if closing is not None and ("balance", _balance_key(account_id, closing)) in done:
        closing = None
    request = WritebackRequest(account_id, ledger_account, currency, tuple(clears), tuple(todo), closing)
    return request, details


def _closing_balance(store: Store, account_id: str) -> ClosingBalance | None:
    """The latest closing balance the bank stated for the account (None when two files disagree on it).

    Of a file with several statements that day (intraday, then end of day), its last statement's closing counts.
    """
    rows = store.con.execute(
        """SELECT as_of, amount_minor, currency FROM statement_balances
           WHERE account_id = ? AND kind = 'closing'
             AND as_of = (SELECT max(as_of) FROM statement_balances WHERE account_id = ? AND kind = 'closing')
           QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY statement_seq DESC) = 1""",
        [account_id, account_id],
    ).fetchall()
    if not rows or len({(r[1], r[2]) for r in rows}) > 1:
        return None
    as_of, amount, currency = rows[0]
    return ClosingBalance(as_of, int(amount), str(currency))


def _entries_by_account(store: Store, entries: Sequence[NewEntry]) -> dict[str, list[NewEntry]]:
    if not entries:
        return {}
    ids = [e.bank_txn_id for e in entries]
    rows = store.con.execute("SELECT txn_id, account_id FROM bank_transactions WHERE txn_id IN ?", [ids]).fetchall()
    account_of = {str(t): str(a) for t, a in rows}
    unknown = [i for i in ids if i not in account_of]
    if unknown:
        raise UserError(f"new entries for unknown bank rows: {', '.join(unknown[:5])}")
    out: dict[str, list[NewEntry]] = {}
    for e in entries:
        out.setdefault(account_of[e.bank_txn_id], []).append(e)
    return out


def new_entry_for_bank_row(store: Store, txn_id: str, *, counter_account: str | None = None) -> NewEntry:
    """The entry that books a bank row as the bank states it (for the rules to fill `counter_account`)."""
    found = new_entries_for_bank_rows(store, [txn_id])
    if txn_id not in found:
        raise UserError(f"no bank row with txn_id '{txn_id}'")
    return replace(found[txn_id], counter_account=counter_account)


def new_entries_for_bank_rows(store: Store, txn_ids: Sequence[str]) -> dict[str, NewEntry]:
    """`new_entry_for_bank_row` for many rows in one query, by txn_id; unknown ids are left out."""
    if not txn_ids:
        return {}
    rows = store.con.execute(
        """SELECT txn_id, external_id, posted_date, amount_minor, currency, payee, description
           FROM bank_transactions WHERE txn_id IN (SELECT unnest(?::VARCHAR[]))""",
        [list(txn_ids)],
    ).fetchall()
    entries = {}
    for t, ext, posted, amount, currency, payee, description in rows:
        if payee and str(description).strip().lower().startswith(str(payee).strip().lower()):
            payee = None  # the description says it already; "FEE | FEE" helps nobody
        entries[str(t)] = NewEntry(
            bank_txn_id=str(t), bank_id=bank_id_for(str(t), ext), date=posted, amount_minor=int(amount),
            currency=str(currency), payee=payee, narration=str(description),
        )  # fmt: skip
    return entries
