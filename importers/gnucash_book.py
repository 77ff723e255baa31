"""GnuCash SQLite books as the book side: one ledger row per split.

The book is read with the standard library's `sqlite3`, opened read-only
(`file:...?mode=ro`), so importing a GnuCash book needs no extra package and never
changes it, even while GnuCash has it open (the one exception: what a writer killed
midway left in a hot journal is rolled back, as any SQLite writer would on open). Only the SQLite format is read:
a GnuCash XML book (plain or gzipped) is refused with a message that says how to
save it as SQLite.

Every split of every account of the book becomes a row (the import service keeps
those of the bank's `ledger_account`); the account is its full name from the
parent chain (`Assets:Bank:Checking`), without the root. Scheduled-transaction
templates (splits of accounts under GnuCash's "Template Root") and voided splits
are not rows: nobody booked them. The amount is the split's quantity in its
account's commodity, so it is signed from that account's point of view (money
into a bank account is positive, a card charge on a liability is negative);
splits of accounts held in a stock or fund are not money and are left out.

Identity: a split's guid is durable, so it is the row's `external_id`. The memo
text and the reconcile state that write-back changes are never part of it. The
transaction's num is the reference.
"""

from __future__ import annotations

import gzip
import re
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl

from importers.base import Extract, Side, read_head
from recon.errors import Problem
from recon.model import LEDGER_EXTRACT
from recon.money import AmountError, to_minor

__all__ = [
    "GnucashAccount",
    "GnucashBook",
    "GnucashBookError",
    "GnucashContent",
    "GnucashSplit",
    "bank_ids_in_memo",
    "gnucash_extract",
    "read_gnucash",
]

SQLITE_MAGIC = b"SQLite format 3\x00"
_BANK_ID_MEMO = re.compile(r"bank-id:[ \t]*([^;|\r\n]*)")
_GNUCASH_TABLES = {"books", "accounts", "transactions", "splits", "commodities"}


class GnucashBookError(Exception):
    """The file is not a GnuCash SQLite book recon can read; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class GnucashAccount:
    """One account of the book.

    Attributes:
      guid: GnuCash's id of the account.
      full_name: the names of its parents and its own, joined by ':', without the root.
      account_type: GnuCash's type (BANK, ASSET, CREDIT, EXPENSE...).
      commodity: the mnemonic of its commodity (USD, or a stock's symbol).
      is_currency: whether that commodity is a currency (money), not a stock or fund.
      placeholder: whether GnuCash keeps it for sub-accounts only (nothing is booked to it).
    """

    guid: str
    full_name: str
    account_type: str
    commodity: str
    is_currency: bool
    placeholder: bool = False


@dataclass(frozen=True, slots=True)
class GnucashSplit:
    """One split of a booked transaction, as stored.

    Attributes:
      guid: the split's guid: its durable id.
      tx_guid: its transaction's guid.
      account: the account it belongs to.
      date: the transaction's date (post_date).
      quantity: the amount in the account's commodity, exact, from the account's point of view.
      description: the transaction's description.
      num: the transaction's number (check number or reference), if any.
      memo: the split's memo (where write-back records the bank ids).
      reconcile_state: 'n' new, 'c' cleared, 'y' reconciled, 'f' frozen.
      reconcile_date: when it was reconciled, as stored, if at all.
    """

    guid: str
    tx_guid: str
    account: GnucashAccount
    date: date
    quantity: Decimal
    description: str
    num: str | None
    memo: str
    reconcile_state: str
    reconcile_date: str | None

    @property
    def bank_ids(self) -> tuple[str, ...]:
        return bank_ids_in_memo(self.memo)


@dataclass(slots=True)
class GnucashContent:
    """What a GnuCash book holds that recon needs: its accounts, booked splits and lock.

    Attributes:
      path: the book file.
      accounts: every account under the book's root, by full name.
      splits: every booked split, ordered by date, transaction and split guid.
      locks: (hostname, pid) of each row in `gnclock`: GnuCash has the book open.
    """

    path: Path
    accounts: dict[str, GnucashAccount]
    splits: list[GnucashSplit]
    locks: list[tuple[str, int]]


def bank_ids_in_memo(memo: str) -> tuple[str, ...]:
    """The bank ids a memo records (`bank-id: A B`), in order."""
    return tuple(bank_id for found in _BANK_ID_MEMO.findall(memo or "") for bank_id in found.split())


def read_gnucash(path: Path) -> GnucashContent:
    """Read a GnuCash SQLite book, read-only; raise `GnucashBookError` for anything else."""
    _refuse_other_formats(path)
    try:
        con = _connect_read_only(path)
    except sqlite3.Error as exc:
        raise GnucashBookError(f"cannot open the book: {exc}") from exc
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables >= _GNUCASH_TABLES:
            raise GnucashBookError(
                "this SQLite file is not a GnuCash book (it lacks the tables "
                f"{', '.join(sorted(_GNUCASH_TABLES - tables))})"
            )
        accounts = _accounts(con)
        splits = _splits(con, accounts)
        locks = [(str(h), int(p or 0)) for h, p in con.execute("SELECT * FROM gnclock")] if "gnclock" in tables else []
    except sqlite3.Error as exc:
        raise GnucashBookError(f"cannot read the book: {exc}") from exc
    finally:
        con.close()
    return GnucashContent(path, {a.full_name: a for a in accounts.values()}, splits, locks)


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; a write killed midway (a hot `-journal` beside the book) is rolled back first.

    A read-only connection cannot roll back what a killed writer left (SQLite says "attempt to write a readonly
    database"); any connection that may write does it on open, as GnuCash would. That restores the book's last
    committed state, which is what every reader sees anyway: it is not a change of the book.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    con = sqlite3.connect(uri, uri=True)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.OperationalError:
        con.close()
        if not path.with_name(path.name + "-journal").exists():
            raise
    recovering = sqlite3.connect(path)
    try:
        recovering.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        recovering.close()
    return sqlite3.connect(uri, uri=True)


def _refuse_other_formats(path: Path) -> None:
    head = read_head(path, 64)
    if head.startswith(SQLITE_MAGIC):
        return
    if _is_gnucash_xml(path):
        raise GnucashBookError(
            "this is a GnuCash XML book; recon reads GnuCash SQLite books: open it in GnuCash and save it as "
            "SQLite (File > Save As..., Data Format: sqlite3), then name that file in the config"
        )
    raise GnucashBookError("not a GnuCash book (neither SQLite nor GnuCash XML)")


def _is_gnucash_xml(path: Path) -> bool:
    head = read_head(path, 1024)
    if head.startswith(b"\x1f\x8b"):
        try:
            with gzip.open(path, "rb") as fh:
                head = fh.read(1024)
        except (OSError, EOFError):
            return False
    return b"<gnc-v2" in head or b"gnc:book" in head


def _accounts(con: sqlite3.Connection) -> dict[str, GnucashAccount]:
    (root_guid,) = con.execute("SELECT root_account_guid FROM books").fetchone() or (None,)
    commodities = {
        g: (str(m), str(ns).upper() in ("CURRENCY", "ISO4217"))
        for g, m, ns in con.execute("SELECT guid, mnemonic, namespace FROM commodities")
    }
    rows = {g: (str(n), str(t), p, c, bool(h)) for g, n, t, p, c, h in con.execute(
        "SELECT guid, name, account_type, parent_guid, commodity_guid, placeholder FROM accounts")}  # fmt: skip
    out: dict[str, GnucashAccount] = {}
    for guid, (_, account_type, _, commodity_guid, placeholder) in rows.items():
        names: list[str] = []
        node: str | None = guid
        seen: set[str] = set()
        while node is not None and node != root_guid and node in rows and node not in seen:
            seen.add(node)
            names.append(rows[node][0])
            node = rows[node][2]
        if node != root_guid or not names:
            continue  # the root itself, the scheduled-transaction templates, or a broken chain
        mnemonic, is_currency = commodities.get(commodity_guid, ("", False))
        out[guid] = GnucashAccount(guid, ":".join(reversed(names)), account_type, mnemonic, is_currency, placeholder)
    return out


_SPLITS_SQL = """
    SELECT s.guid, s.tx_guid, s.account_guid, t.post_date, s.quantity_num, s.quantity_denom,
           t.description, t.num, s.memo, s.reconcile_state, s.reconcile_date
    FROM splits s JOIN transactions t ON t.guid = s.tx_guid
    WHERE s.reconcile_state <> 'v'
    ORDER BY t.post_date, t.guid, s.guid
"""


def _splits(con: sqlite3.Connection, accounts: dict[str, GnucashAccount]) -> list[GnucashSplit]:
    out: list[GnucashSplit] = []
    for guid, tx, account_guid, posted, num, denom, description, number, memo, state, rec_date in con.execute(
        _SPLITS_SQL
    ):
        account = accounts.get(account_guid)
        if account is None or not denom:
            continue
        out.append(
            GnucashSplit(
                guid=str(guid), tx_guid=str(tx), account=account, date=gnucash_date(str(posted)),
                quantity=Decimal(int(num)) / Decimal(int(denom)), description=str(description or ""),
                num=str(number) if number else None, memo=str(memo or ""), reconcile_state=str(state),
                reconcile_date=str(rec_date) if rec_date else None,
            )
        )  # fmt: skip
    return out


def gnucash_date(text: str) -> date:
    """A stored post_date as the calendar date the user booked.

    GnuCash 2.6.12 and later store dates at 10:59 UTC ("neutral time"), the same day everywhere; older
    books stored local midnight in UTC, which is the evening before east of Greenwich: a time after noon
    is the next day's midnight.
    """
    text = text.strip()
    stamp = datetime.strptime(text, "%Y%m%d%H%M%S") if text.isdigit() else datetime.fromisoformat(text[:19])
    return stamp.date() + timedelta(days=1) if stamp.hour >= 12 else stamp.date()


class GnucashBook:
    format = "gnucash"
    side: Side = "ledger"

    def identify(self, path: Path) -> bool:
        if read_head(path, 64).startswith(SQLITE_MAGIC):
            try:
                con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
                try:
                    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                finally:
                    con.close()
            except sqlite3.Error:
                return path.suffix.lower() == ".gnucash"  # e.g. a write killed midway: extract rolls it back
            return tables >= _GNUCASH_TABLES
        return path.suffix.lower() == ".gnucash" and _is_gnucash_xml(path)  # refused in extract, with the way out

    def extract(self, path: Path, *, currency: str) -> Extract:
        try:
            content = read_gnucash(path)
        except GnucashBookError as exc:
            return Extract(LEDGER_EXTRACT.empty_frame(), [Problem(str(path), None, None, str(exc))])
        extract, _ = gnucash_extract(content, currency=currency)
        return extract


def gnucash_extract(content: GnucashContent, *, currency: str) -> tuple[Extract, list[GnucashSplit]]:
    """The ledger rows of the book's money splits, and the splits kept, aligned with the rows."""
    rows: list[dict[str, object]] = []
    kept: list[GnucashSplit] = []
    problems: list[Problem] = []
    for split in content.splits:
        account = split.account
        if not account.is_currency:
            continue  # a stock or fund quantity: not money of a bank account
        try:
            amount = to_minor(split.quantity, account.commodity)
        except AmountError as exc:
            if account.commodity == currency:
                problems.append(Problem(str(content.path), None, "amount", f"split {split.guid}: {exc}"))
            continue
        rows.append(
            {
                "external_id": split.guid, "posted_date": split.date, "amount_minor": amount,
                "currency": account.commodity, "description": split.description, "counterparty": None,
                "reference": split.num, "ledger_account": account.full_name, "source_file": str(content.path),
                "source_line": None, "source_element": f"transaction {split.tx_guid} / split {split.guid}",
                "raw": f"{split.date.isoformat()} {split.num or ''} {split.description} | {account.full_name} "
                       f"{split.quantity} {account.commodity} [{split.reconcile_state}] {split.memo}".strip(),
            }
        )  # fmt: skip
        kept.append(split)
    frame = pl.DataFrame(rows, schema=LEDGER_EXTRACT.polars_schema) if rows else LEDGER_EXTRACT.empty_frame()
    return Extract(frame, problems), kept
