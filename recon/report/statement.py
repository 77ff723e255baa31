"""The bank reconciliation statement, per account, as of the latest statement closing balance.

    balance per bank statement            (closing balance the bank reported at D)
  + deposits in transit                   (book receipts up to D the bank has not shown by D)
  - outstanding checks and payments       (book payments up to D the bank has not shown by D)
  = adjusted bank balance

    balance per books                     (accounts.book_balance + book entries after it, up to D)
  + credits the books lack                (bank credits up to D not matched to a book entry: interest...)
  - charges the books lack                (bank debits up to D not matched to a book entry: fees...)
  + differences on matched rows           (bank amount minus book amount of matches up to D)
  = adjusted book balance

The difference of the two adjusted balances is zero when every open item is explained.
Only `auto` and `confirmed` matches count as matched: a suggestion is still open. Bank rows
flagged as duplicates of other bank rows are not the bank's: they are left out. A bill
entered twice in the books is in the book balance, so it stays an outstanding item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from recon.config import Config
from recon.store import Store

HELD = "('auto', 'confirmed')"


@dataclass(frozen=True, slots=True)
class ReconciliationStatement:
    """One account's statement; amounts in minor units, None where the data is missing."""

    account_id: str
    currency: str
    as_of: date | None
    bank_balance: int | None
    deposits_in_transit: int = 0
    outstanding_payments: int = 0
    book_balance: int | None = None
    credits_not_in_books: int = 0
    charges_not_in_books: int = 0
    matched_differences: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def adjusted_bank_balance(self) -> int | None:
        if self.bank_balance is None:
            return None
        return self.bank_balance + self.deposits_in_transit + self.outstanding_payments

    @property
    def adjusted_book_balance(self) -> int | None:
        if self.book_balance is None:
            return None
        return self.book_balance + self.credits_not_in_books + self.charges_not_in_books + self.matched_differences

    @property
    def difference(self) -> int | None:
        bank, book = self.adjusted_bank_balance, self.adjusted_book_balance
        return None if bank is None or book is None else bank - book


def _scalar(store: Store, sql: str, params: list[object]) -> int:
    rows = store.con.execute(sql, params).fetchall()
    return int(rows[0][0] or 0) if rows else 0


def _latest_closing(store: Store, account_id: str) -> tuple[date | None, int | None, list[str]]:
    # of a file with several statements that day (intraday, then end of day), its last statement's closing
    rows = store.con.execute(
        """SELECT as_of, amount_minor, source_file FROM statement_balances
           WHERE account_id = ? AND kind = 'closing' AND as_of = (
               SELECT max(as_of) FROM statement_balances WHERE account_id = ? AND kind = 'closing')
           QUALIFY row_number() OVER (PARTITION BY source_file ORDER BY statement_seq DESC) = 1
           ORDER BY source_file""",
        [account_id, account_id],
    ).fetchall()
    if not rows:
        return None, None, ["no closing balance imported from a bank statement yet"]
    amounts = {r[1] for r in rows}
    notes = []
    if len(amounts) > 1:
        notes.append(
            f"statements disagree on the closing balance of {rows[0][0]}: "
            + ", ".join(f"{r[2]} says {r[1]}" for r in rows)
        )
    return rows[0][0], rows[-1][1], notes


def statement_for(store: Store, config: Config, account_id: str) -> ReconciliationStatement:
    account = config.account(account_id)
    as_of, bank_balance, notes = _latest_closing(store, account_id)
    if as_of is None:
        return ReconciliationStatement(account_id, account.currency, None, None, notes=notes)
    start = account.book_balance.date if account.book_balance else date.min
    params: list[object] = [account_id, start, as_of, as_of]
    ledger_open = f"""
        FROM ledger_entries e WHERE e.account_id = ? AND e.posted_date > ? AND e.posted_date <= ?
        AND NOT EXISTS (SELECT 1 FROM match_links l JOIN matches m USING (match_id)
                        JOIN bank_transactions b ON b.txn_id = l.bank_txn_id
                        WHERE l.ledger_entry_id = e.entry_id AND m.status IN {HELD} AND b.posted_date <= ?)"""
    bank_open = f"""
        FROM bank_transactions b WHERE b.account_id = ? AND b.posted_date > ? AND b.posted_date <= ?
        AND NOT b.pending
        AND b.txn_id NOT IN (SELECT d.row_id FROM duplicates d WHERE d.side = 'bank' AND d.status = 'flagged')
        AND NOT EXISTS (SELECT 1 FROM match_links l JOIN matches m USING (match_id)
                        JOIN ledger_entries e ON e.entry_id = l.ledger_entry_id
                        WHERE l.bank_txn_id = b.txn_id AND m.status IN {HELD} AND e.posted_date <= ?)"""
    book_balance = None
    if account.book_balance_minor is not None:
        book_balance = account.book_balance_minor + _scalar(
            store,
            "SELECT sum(amount_minor) FROM ledger_entries "
            "WHERE account_id = ? AND posted_date > ? AND posted_date <= ?",
            [account_id, start, as_of],
        )
    else:
        notes.append("set book_balance for this account in the config to compute the balance per books")
    differences = _scalar(
        store,
        f"""SELECT sum(diff) FROM (
              SELECT DISTINCT m.match_id, l.amount_diff_minor AS diff FROM matches m JOIN match_links l USING (match_id)
              JOIN bank_transactions b ON b.txn_id = l.bank_txn_id
              WHERE m.account_id = ? AND m.status IN {HELD} AND b.posted_date > ? AND b.posted_date <= ?)""",
        [account_id, start, as_of],
    )
    return ReconciliationStatement(
        account_id=account_id,
        currency=account.currency,
        as_of=as_of,
        bank_balance=bank_balance,
        deposits_in_transit=_scalar(store, f"SELECT sum(amount_minor) {ledger_open} AND e.amount_minor > 0", params),
        outstanding_payments=_scalar(store, f"SELECT sum(amount_minor) {ledger_open} AND e.amount_minor < 0", params),
        book_balance=book_balance,
        credits_not_in_books=_scalar(store, f"SELECT sum(amount_minor) {bank_open} AND b.amount_minor > 0", params),
        charges_not_in_books=_scalar(store, f"SELECT sum(amount_minor) {bank_open} AND b.amount_minor < 0", params),
        matched_differences=differences,
        notes=notes,
    )


def statements(store: Store, config: Config) -> list[ReconciliationStatement]:
    return [statement_for(store, config, a.id) for a in config.accounts]
